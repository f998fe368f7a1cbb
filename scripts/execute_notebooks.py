"""Execute notebooks top to bottom in place, as the committed outputs must be produced.

    python scripts/execute_notebooks.py notebooks/01_convolution.ipynb [...]

Runs each notebook in a fresh kernel with ``notebooks/`` as working directory and *full* runs
(``CNNBOOK_QUICK`` unset), then drops widget state from the metadata: live widgets need a kernel,
and the site shows each widget's static animation instead, so no widget manager is loaded.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


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
    client = NotebookClient(
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
