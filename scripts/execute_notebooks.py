"""Execute notebooks top to bottom in place, as the committed outputs must be produced.

    python scripts/execute_notebooks.py notebooks/01_convolution.ipynb [...]

Runs each notebook in a fresh kernel with ``notebooks/`` as working directory and *full* runs
(``CNNBOOK_QUICK`` unset), then drops widget state from the metadata: live widgets need a kernel,
and the site shows its own explorer instead, so no widget manager is loaded.

The site's explorers are drawn ahead of time (``cnnbook.explorer_export``). Most are rebuilt
from a function (``scripts/export_explorers.py``); an explorer of the notebook's own objects
(chapter 8's trained networks) is drawn here, in the notebook's kernel, right after the cell
tagged ``explorer-<name>`` that shows it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cnnbook.explorer_export import CELL_TAG, SITE_EXPLORERS, SITE_FOLDER


def own_explorer(cell: nbformat.NotebookNode) -> str | None:
    """The name of the explorer of the notebook's own objects that ``cell`` shows, if any."""
    for tag in cell.get("metadata", {}).get("tags", []):
        if tag.startswith(CELL_TAG) and tag[len(CELL_TAG):] not in SITE_EXPLORERS:
            return tag[len(CELL_TAG):]
    return None


class BookClient(NotebookClient):
    """A notebook client that also draws the site's states of the notebook's own explorers."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        cell = await super().async_execute_cell(cell, cell_index, execution_count,
                                                store_history)
        name = own_explorer(cell)
        if name is not None:
            # The cell's last line shows the explorer, so ``_`` is the explorer.
            code = ("from cnnbook.explorer_export import export_explorer\n"
                    "from cnnbook.widgets import Explorer\n"
                    "assert isinstance(_, Explorer), 'the explorer cell must show the explorer'\n"
                    f"_exported = export_explorer(_, {str(SITE_FOLDER / name)!r})")
            extra = nbformat.v4.new_code_cell(code)
            await super().async_execute_cell(extra, cell_index, store_history=False)
            if extra.outputs:
                raise RuntimeError(f"drawing explorer {name!r} failed: {extra.outputs}")
            # nbclient puts the cell it ran at ``cell_index``: the notebook's cell goes back.
            self.nb.cells[cell_index] = cell
            self.code_cells_executed -= 1  # the notebook's execution counts stay as they were
        return cell


def keep_only_the_figure(cell: nbformat.NotebookNode) -> None:
    """In a captioned figure's cell, drop the displays that are not pictures (a live progress bar).

    The site wraps every display of a cell with ``mystnb.figure`` metadata in that figure, so a
    progress bar before the plot would make a second figure of the same name. Its state is not
    stored (see the module docstring), so it shows nothing on the site anyway. Only cells whose
    output nbval ignores can lose outputs without failing the comparison.
    """
    if "figure" not in cell.metadata.get("mystnb", {}):
        return
    if "nbval-ignore-output" not in cell.metadata.get("tags", []):
        return
    cell.outputs = [out for out in cell.outputs
                    if out.output_type not in ("display_data", "execute_result")
                    or "image/png" in out.get("data", {})]


def execute(path: Path, timeout: int = 3600) -> None:
    """Execute the notebook at ``path`` and write it back with its outputs."""
    nb = nbformat.read(path, as_version=4)
    os.environ.pop("CNNBOOK_QUICK", None)
    client = BookClient(
        nb, timeout=timeout, kernel_name="python3", store_widget_state=False, record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # timestamps only make diffs noisy
        cell.metadata.pop("execution", None)
        keep_only_the_figure(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nbformat.write(nb, path)
    print(f"{path}: executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        execute(Path(arg))
