"""The site's explorers: the stored states are what the scenes draw now, for every control.

The states are drawn ahead of time (``scripts/export_explorers.py``) and committed; these tests
redraw a sample of them with the current code, so that stored data cannot go stale unnoticed.
"""

from __future__ import annotations

import random

import pytest

from cnnbook.explorer_export import (
    CELL_TAG,
    SITE_EXPLORERS,
    SITE_FOLDER,
    canonical,
    combinations,
    control_spec,
    explorer_from,
    key_of,
    load_index,
    load_state,
    picture,
    unpack,
    values_of,
)


@pytest.fixture(scope="module", params=sorted(SITE_EXPLORERS))
def exported(request: pytest.FixtureRequest) -> tuple[str, object, dict]:
    name = request.param
    return name, explorer_from(SITE_EXPLORERS[name]), load_index(SITE_FOLDER / name)


def test_every_combination_of_the_controls_is_stored(exported) -> None:
    name, explorer, index = exported
    specs = control_spec(explorer)
    assert index["controls"] == specs, f"{name}: the controls changed; re-export"
    for positions in combinations(specs):
        entry = index["states"][key_of(positions)]
        target = canonical(explorer, specs, positions)
        if target != positions:
            assert entry == {"same": key_of(target)}
        else:
            assert "error" in entry or entry["steps"] >= 1
    assert len(index["states"]) == len(list(combinations(specs)))


def test_stored_states_are_what_the_scene_draws(exported) -> None:
    name, explorer, index = exported
    drawn = sorted(k for k, e in index["states"].items() if "steps" in e)
    errors = sorted(k for k, e in index["states"].items() if "error" in e)
    rng = random.Random(f"{name} 2026")  # the same sample on every run
    sample = [drawn[0], drawn[-1], *rng.sample(drawn, 3)]
    for key in sample:
        entry = index["states"][key]
        values = values_of(index, key)
        scene = explorer.make_scene(**values)
        assert entry["steps"] == scene.n_steps and entry["alt"] == scene.alt_text()
        packed = load_state(SITE_FOLDER / name, index, key)
        for step in sorted({0, scene.n_steps // 2, scene.n_steps - 1}):
            fresh = picture(explorer, values, step)
            assert unpack(packed, step) == fresh["items"], (
                f"{name} {values} step {step}: stored picture is stale; re-export")
            assert (packed["width"], packed["height"]) == (fresh["width"], fresh["height"])
    for key in rng.sample(errors, min(2, len(errors))):
        with pytest.raises(ValueError) as error:
            explorer.make_scene(**values_of(index, key))
        assert index["states"][key]["error"] == str(error.value)


def test_every_explorer_of_the_notebooks_is_on_the_site() -> None:
    """A cell that builds an explorer is tagged ``explorer-<name>`` (the site puts the explorer
    there), and the states of ``<name>`` are stored."""
    import json
    import re

    notebooks = sorted((SITE_FOLDER.parent.parent.parent / "notebooks").glob("*.ipynb"))
    found = 0
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or not re.search(r"=\s*\w+_explorer\(", source):
                continue
            tags = [t for t in cell["metadata"].get("tags", []) if t.startswith(CELL_TAG)]
            assert len(tags) == 1, f"{path.name}: an explorer cell without its site tag"
            name = tags[0].removeprefix(CELL_TAG)
            assert (SITE_FOLDER / name / "index.json").is_file(), f"{name}: not exported"
            found += 1
    assert found >= 7, found
