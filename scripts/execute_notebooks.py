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
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nbformat.write(nb, path)
    print(f"{path}: executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        execute(Path(arg))
