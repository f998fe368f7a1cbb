"""An explorer's every state, drawn by its own scene code, as data for the book's site.

The site has no kernel. So that its explorers still answer every control, each explorer of
:mod:`cnnbook.widgets` is drawn ahead of time in every state of a bounded range (its
:attr:`~cnnbook.widgets.Explorer.site` values: input size 3-7, padding 0-2 ...), each step of
each state recorded as a display list (:mod:`cnnbook.draw.display_list`). A small generic
painter in the page (``_ext/static/cnnbook-explorer.js``) draws the list of the state the reader
picks. The pictures are therefore the notebook widget's pictures, from the same scene code.

What :func:`export` writes into a folder:

* ``index.json``: the controls (name, label, the values the site offers, the starting one),
  and for every combination of values (the key is the values' positions, e.g. ``"2,0,1"``)
  either the state it shows (a chunk file, the steps, the alt text) or the error message the
  widget would show; a combination whose differences lie only in controls that do not act
  (e.g. the z slider in 1-D) names the state it is the same as;
* ``chunk-N.json.gz``: the states, in groups of neighbouring combinations so that moving the
  last control rarely needs a new file. Each state holds its items once (``items``) and each
  step as runs of item numbers (``frames``: ``[first, last, first, last, ...]``), because
  consecutive steps share almost everything.

Run ``python scripts/export_explorers.py`` after changing a scene or an explorer's controls;
``tests/test_explorer_export.py`` fails while the stored data is stale.
"""

from __future__ import annotations

import gzip
import importlib
import itertools
import json
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from cnnbook.draw.display_list import display_list
from cnnbook.draw.primitives import new_figure

#: A notebook cell that shows explorer ``<name>`` is tagged ``explorer-<name>``: the site puts
#: the explorer after that cell (``_ext/cnnbook_site.py``), and ``scripts/execute_notebooks.py``
#: exports a notebook's own explorer (one not in :data:`SITE_EXPLORERS`) right after it runs.
CELL_TAG = "explorer-"
#: The explorers the site offers, by the name the notebooks' explorer cells give (their tag
#: ``explorer-<name>``), and the function that builds each.
SITE_EXPLORERS = {
    "sliding-window": "cnnbook.widgets:sliding_window_explorer",
    "multi-channel": "cnnbook.widgets:multi_channel_explorer",
    "transposed-conv": "cnnbook.widgets:transposed_conv_explorer",
    "pooling": "cnnbook.widgets:pooling_explorer",
    "interpolation": "cnnbook.widgets:interpolation_explorer",
}
#: Where the site's copy lives: the extension's static folder, served as ``_static/explorers``.
SITE_FOLDER = Path(__file__).resolve().parent.parent / "_ext" / "static" / "explorers"
#: A chunk file closes once its JSON reaches this many bytes (about a tenth of that gzipped).
CHUNK_BYTES = 400_000


def explorer_from(factory: str) -> Any:
    """The explorer that ``"module:function"`` builds (called with no arguments)."""
    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)()


def control_spec(explorer: Any) -> list[dict[str, Any]]:
    """Each control of ``explorer``: name, label, kind, the values the site offers, the first."""
    specs = []
    for name, control in explorer.controls.items():
        values = list(explorer.site_values(name))
        start = min(range(len(values)),
                    key=lambda k: _distance(values[k], control.value))
        kind = "select" if hasattr(control, "options") else "range"
        specs.append({"name": name, "label": control.description, "kind": kind,
                      "values": values, "start": start})
    return specs


def _distance(value: Any, target: Any) -> float:
    if isinstance(value, str) or isinstance(target, str):
        return 0.0 if value == target else 1.0
    return abs(float(value) - float(target))


def combinations(specs: list[dict[str, Any]]) -> Iterator[tuple[int, ...]]:
    """Every combination of the controls' values, as positions, the last control fastest."""
    return itertools.product(*(range(len(spec["values"])) for spec in specs))


def key_of(positions: Sequence[int]) -> str:
    """The index key of a combination: its positions joined by commas."""
    return ",".join(map(str, positions))


def state(explorer: Any, values: dict[str, Any]) -> dict[str, Any]:
    """One state: every step's display list, or the error the widget shows for ``values``."""
    try:
        scene = explorer.make_scene(**values)
    except ValueError as error:
        return {"error": str(error)}
    fig = new_figure(*scene.figsize)
    steps = []
    for step in range(scene.n_steps):
        scene.draw(fig, step)
        steps.append(display_list(fig, scene.dpi))
    return {"steps": steps, "alt": scene.alt_text()}


def picture(explorer: Any, values: dict[str, Any], step: int) -> dict[str, Any]:
    """The display list of one step of one state (what the site shows for ``values``)."""
    scene = explorer.make_scene(**values)
    fig = new_figure(*scene.figsize)
    scene.draw(fig, step)
    return display_list(fig, scene.dpi)


def pack(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Steps' display lists as one item table and each step as runs of item numbers."""
    numbers: dict[str, int] = {}
    items: list[Any] = []
    frames = []
    for step in steps:
        ids = []
        for item in step["items"]:
            text = json.dumps(item, separators=(",", ":"))
            if text not in numbers:
                numbers[text] = len(items)
                items.append(item)
            ids.append(numbers[text])
        frames.append(runs(ids))
    first = steps[0]
    return {"width": first["width"], "height": first["height"], "items": items,
            "frames": frames}


def runs(ids: list[int]) -> list[int]:
    """``[3, 4, 5, 9, 10]`` as ``[3, 5, 9, 10]``: first and last of each consecutive run."""
    out: list[int] = []
    for i in ids:
        if out and out[-1] == i - 1:
            out[-1] = i
        else:
            out += [i, i]
    return out


def unpack(packed: dict[str, Any], step: int) -> list[Any]:
    """The items of step ``step`` of a packed state (what the page's painter does)."""
    flat = packed["frames"][step]
    return [packed["items"][i] for a, b in zip(flat[::2], flat[1::2], strict=True)
            for i in range(a, b + 1)]


def _drawn(explorer: Any, specs: list[dict[str, Any]],
           positions: tuple[int, ...]) -> dict[str, Any]:
    """The state of one combination, packed: its steps, or its error."""
    values = {spec["name"]: spec["values"][p] for spec, p in zip(specs, positions, strict=True)}
    found = state(explorer, values)
    if "error" in found:
        return found
    return {"packed": pack(found["steps"]), "alt": found["alt"], "n": len(found["steps"]),
            "acting": sorted(explorer.acting(values) if explorer.acting else values)}


_worker: dict[str, Any] = {}


def _start_worker(factory: str) -> None:
    _worker["explorer"] = explorer_from(factory)
    _worker["specs"] = control_spec(_worker["explorer"])


def _draw_in_worker(positions: tuple[int, ...]) -> tuple[tuple[int, ...], dict[str, Any]]:
    return positions, _drawn(_worker["explorer"], _worker["specs"], positions)


def canonical(explorer: Any, specs: list[dict[str, Any]],
              positions: tuple[int, ...]) -> tuple[int, ...]:
    """``positions`` with every control that does not act moved to its starting value."""
    if explorer.acting is None:
        return positions
    values = {spec["name"]: spec["values"][p] for spec, p in zip(specs, positions, strict=True)}
    acting = explorer.acting(values)
    return tuple(p if spec["name"] in acting else spec["start"]
                 for spec, p in zip(specs, positions, strict=True))


def export(factory: str, folder: Path, workers: int = 2) -> dict[str, Any]:
    """Draw every state of the explorer ``factory`` builds into ``folder``; returns the index.

    The states are drawn by ``workers`` processes, each with its own explorer.
    """
    explorer = explorer_from(factory)
    specs = control_spec(explorer)
    same_as = {p: canonical(explorer, specs, p) for p in combinations(specs)}
    # Spawned, not forked: a fork of a process that has started PyTorch's threads can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(factory,)) as pool:
        done = dict(pool.map(_draw_in_worker, sorted(set(same_as.values())), chunksize=4))
    return write(folder, factory, explorer, specs, same_as, done)


def export_explorer(explorer: Any, folder: Path | str) -> dict[str, Any]:
    """Draw every state of ``explorer`` itself into ``folder``, in this process.

    For an explorer built from a notebook's own objects (chapter 8's trained networks), which
    no function can rebuild: ``scripts/execute_notebooks.py`` calls this right after running a
    cell tagged ``explorer-<name>`` of such an explorer.
    """
    specs = control_spec(explorer)
    same_as = {p: canonical(explorer, specs, p) for p in combinations(specs)}
    done = {p: _drawn(explorer, specs, p) for p in sorted(set(same_as.values()))}
    return write(Path(folder), None, explorer, specs, same_as, done)


def write(folder: Path, factory: str | None, explorer: Any, specs: list[dict[str, Any]],
          same_as: dict[tuple[int, ...], tuple[int, ...]],
          done: dict[tuple[int, ...], dict[str, Any]]) -> dict[str, Any]:
    """Write the drawn states ``done`` as chunks and the index; returns the index."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("chunk-*.json*"):
        old.unlink()
    states: dict[str, Any] = {}
    chunk: dict[str, Any] = {}
    size, number = 0, 0

    def close_chunk() -> None:
        nonlocal chunk, size, number
        if chunk:
            text = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False)
            # Gzipped (the page unzips with DecompressionStream): a tenth of the bytes to store
            # and to send. mtime 0 keeps the file the same when the states are.
            (folder / f"chunk-{number}.json.gz").write_bytes(
                gzip.compress(text.encode(), compresslevel=9, mtime=0))
            chunk, size, number = {}, 0, number + 1

    for positions in sorted(done):
        found, key = done[positions], key_of(positions)
        if "error" in found:
            states[key] = {"error": found["error"]}
            continue
        text = json.dumps(found["packed"], separators=(",", ":"))
        if size and size + len(text) > CHUNK_BYTES:
            close_chunk()
        chunk[key] = found["packed"]
        size += len(text)
        states[key] = {"chunk": number, "steps": found["n"], "alt": found["alt"],
                       "acting": found["acting"]}
    close_chunk()
    for positions, target in same_as.items():
        if target != positions:
            states[key_of(positions)] = {"same": key_of(target)}
    index = {"factory": factory, "controls": specs, "interval_ms": explorer.interval_ms,
             "states": states}
    (folder / "index.json").write_text(
        json.dumps(index, separators=(",", ":"), ensure_ascii=False))
    return index


def load_index(folder: Path) -> dict[str, Any]:
    """The ``index.json`` that :func:`export` wrote into ``folder``."""
    return json.loads((folder / "index.json").read_text())


def load_state(folder: Path, index: dict[str, Any], key: str) -> dict[str, Any]:
    """The packed state stored under ``key`` (following ``same``), as the page loads it."""
    entry = index["states"][key]
    key = entry.get("same", key)
    entry = index["states"][key]
    chunk = json.loads(gzip.decompress((folder / f"chunk-{entry['chunk']}.json.gz").read_bytes()))
    return chunk[key]


def values_of(index: dict[str, Any], key: str) -> dict[str, Any]:
    """The controls' values of the combination ``key`` (e.g. ``"2,0,1"``)."""
    positions = map(int, key.split(","))
    return {c["name"]: c["values"][p] for c, p in zip(index["controls"], positions, strict=True)}
