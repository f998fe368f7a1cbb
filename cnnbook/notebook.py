"""Small helpers the notebooks share: reproducible seeds, showing package source, quick mode."""

from __future__ import annotations

import inspect
import os
import random
import re

import numpy as np
import torch


def register_figure_display() -> None:
    """Make IPython show a returned matplotlib ``Figure`` as a PNG image.

    The book draws on ``matplotlib.figure.Figure`` objects without pyplot (see
    :mod:`cnnbook.draw`), and IPython only knows how to show figures once pyplot's inline
    backend has registered its formatter. Registering it here makes ``show_images(...)`` as the
    last line of a cell show the picture in JupyterLab, Colab and on the site alike.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    def png(fig: Figure) -> tuple[bytes, dict[str, int]]:
        # Imported on first use: the drawing package loads the ops, which `import cnnbook` does not.
        from cnnbook.draw.primitives import shown_png

        return shown_png(fig)

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's generators so that every printed number reproduces."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def quick_mode() -> bool:
    """True when ``CNNBOOK_QUICK=1``: tests run long cells (training) on a small budget."""
    return os.environ.get("CNNBOOK_QUICK", "0") not in ("", "0", "false", "False")


class Source:
    """A function's source code that shows with syntax highlighting in Jupyter."""

    def __init__(self, obj: object) -> None:
        self.name = getattr(obj, "__qualname__", repr(obj))
        self.module = getattr(obj, "__module__", "")
        self.code = inspect.getsource(obj)

    def __repr__(self) -> str:
        return self.code

    def _repr_markdown_(self) -> str:
        # Markdown, not pre-rendered HTML: JupyterLab, Colab and the site each highlight the code
        # block themselves, and the stored output is the code alone, which does not change when
        # a new Pygments release escapes or colours it differently.
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", self.code)), default=0))
        return (
            f"**Source of `{self.module}.{self.name}`** (the code the tests check)\n\n"
            f"{fence}python\n{self.code.rstrip()}\n{fence}\n"
        )


def show_source(obj: object) -> Source:
    """Return ``obj``'s source, which Jupyter shows highlighted: ``show_source(corr2d)``."""
    return Source(obj)
