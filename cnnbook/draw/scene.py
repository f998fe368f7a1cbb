"""Scenes: pictures that change over steps, and the base that every window scene shares.

A :class:`Scene` is drawn one step at a time (a window moving, an output filling in). One scene
definition drives both the live widget of :mod:`cnnbook.widgets` (the scene plus sliders) and
the static animation of :mod:`cnnbook.animate` (the scene over its steps), so no drawing logic
is written twice.

A :class:`WindowScene` is a window sliding over a padded input while an output fills in: the
convolution, pooling and multi-channel scenes. What they share lives here, once: the caption
with the output shape and the input rows and columns that no window reads, the padded input,
its never-read cells (taken from :mod:`cnnbook.shapes`, the book's one definition), the cells
each window reads, and the output filling in.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnnbook.draw.primitives import (
    COLORS,
    draw_grid,
    elide,
    figure_png,
    new_figure,
    outline_cells,
    shown_png,
)
from cnnbook.shapes import OutputShape

#: The smallest text a scene writes, in points. At a scene's 80 dpi that is 10 pixels: the site
#: shows pictures 10% larger (11 CSS pixels) and shrinks them at most to 90% on a phone (9 CSS
#: pixels) before they scroll sideways in their box (see ``_ext/cnnbook_site.py``).
MIN_FONTSIZE = 9.0


class Scene:
    """A picture that changes over ``n_steps`` steps.

    Subclasses set ``n_steps`` and ``figsize`` and implement :meth:`draw_step`. :meth:`png`
    renders one step; Jupyter shows a scene as its last step.
    """

    n_steps: int = 1
    figsize: tuple[float, float] = (6.0, 3.0)
    dpi: int = 80

    def draw(self, fig: Figure, step: int) -> None:
        """Clear ``fig`` and draw step ``step`` on it (clipped to the scene's steps)."""
        fig.clear()
        self.draw_step(fig, int(np.clip(step, 0, self.n_steps - 1)))

    def draw_step(self, fig: Figure, step: int) -> None:  # pragma: no cover - abstract
        """Draw step ``step``, one of ``0 .. n_steps - 1``, on the cleared figure ``fig``."""
        raise NotImplementedError

    def figure(self, step: int = 0) -> Figure:
        """A new figure showing step ``step``, at the scene's resolution."""
        fig = new_figure(*self.figsize)
        fig.set_dpi(self.dpi)
        self.draw(fig, step)
        return fig

    def png(self, step: int = 0) -> bytes:
        """Step ``step`` rendered to PNG bytes."""
        return figure_png(self.figure(step), dpi=self.dpi)

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        return shown_png(self.figure(self.n_steps - 1))

    def alt_text(self) -> str:
        """What the animation of this scene shows, in words (the frames' alt text)."""
        summary = (type(self).__doc__ or type(self).__name__).strip().splitlines()[0]
        return f"Animation in {self.n_steps} {plural(self.n_steps, 'step')}: {summary}"


def input_and_kernel_2d(
    X: torch.Tensor, K: torch.Tensor, scene: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """A scene's 2-D input and kernel as float CPU copies; anything else is a ValueError."""
    if X.dim() != 2 or K.dim() != 2:
        raise ValueError(
            f"the {scene} scene draws a 2-D input and a 2-D kernel, got shapes "
            f"{tuple(X.shape)} and {tuple(K.shape)}: pass one channel, e.g. X[0, 0]"
        )
    return X.detach().float().cpu(), K.detach().float().cpu()


def plural(count: int, noun: str) -> str:
    """``noun``, with an ``s`` unless ``count`` is 1."""
    return noun if count == 1 else noun + "s"


class WindowScene(Scene):
    """A window sliding over a padded input, one output element per step.

    A subclass computes its output ``Y`` with the real op, then calls this ``__init__`` with the
    input ``X`` (its last two axes are height and width), the window's geometry and the
    :class:`~cnnbook.shapes.OutputShape` that :mod:`cnnbook.shapes` gives for it. It implements
    :meth:`arguments` (the caption's first half), :meth:`equation` and :meth:`draw_grids`, and
    sets ``fontsize``. Step ``t`` computes output element :meth:`element` ``(t)``, row-major.
    """

    #: Where the grids go in the figure (left, bottom, width, height), below the caption.
    axes_box: tuple[float, float, float, float] = (0.01, 0.12, 0.98, 0.80)
    #: Height of the equation line at the bottom of the figure, as a fraction of it.
    equation_y: float = 0.04
    fontsize: float = MIN_FONTSIZE
    Y: torch.Tensor

    def __init__(
        self,
        X: torch.Tensor,
        kernel_size: tuple[int, int],
        *,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int] = (1, 1),
        shape: OutputShape,
        fill: float = 0.0,
    ) -> None:
        self.X = X
        self.input_hw: tuple[int, int] = tuple(X.shape[-2:])
        self.kernel_size, self.stride = kernel_size, stride
        self.padding, self.dilation = padding, dilation
        self.shape = shape
        ph, pw = padding
        self.padded = torch.nn.functional.pad(X, (pw, pw, ph, ph), value=fill)

    def element(self, step: int) -> tuple[int, int]:
        """The output position ``(i, j)`` that ``step`` computes."""
        return divmod(int(step), self.shape[1])

    def taps(self, i: int, j: int) -> list[tuple[int, int]]:
        """The padded-input cells that the window of output element ``(i, j)`` reads."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        kh, kw = self.kernel_size
        return [(i * sh + a * dh, j * sw + b * dw) for a in range(kh) for b in range(kw)]

    def window_cells(self, step: int) -> list[tuple[int, int]]:
        """The padded-input cells that the window touches at ``step``."""
        return self.taps(*self.element(step))

    def unread_cells(self) -> np.ndarray:
        """Boolean mask over the padded input: the input cells that no window reads.

        A cell is read when some window reads its row and some window reads its column, so the
        unread cells are those in a row or column that :class:`~cnnbook.shapes.OutputShape`
        lists in ``unread_rows`` or ``unread_cols``: rows a stride skips between windows, and
        the trailing rows past the last window. Padding cells are never marked: they are no input.
        """
        (h, w), (ph, pw) = self.input_hw, self.padding
        mask = np.zeros((h + 2 * ph, w + 2 * pw), bool)
        inside = mask[ph : ph + h, pw : pw + w]  # a view of the input's cells
        inside[list(self.shape.unread_rows), :] = True
        inside[:, list(self.shape.unread_cols)] = True
        return mask

    def input_colors(self, padding_color: str = COLORS["padding"]) -> np.ndarray:
        """The colour of each padded-input cell: padding, input, or dark grey if never read."""
        (h, w), (ph, pw) = self.input_hw, self.padding
        colors = np.full((h + 2 * ph, w + 2 * pw), padding_color, dtype=object)
        colors[ph : ph + h, pw : pw + w] = COLORS["input"]
        colors[self.unread_cells()] = COLORS["dropped"]
        return colors

    def input_title(self) -> str:
        """``input``, and whether it is padded."""
        return "input (padded)" if self.padding != (0, 0) else "input"

    def arguments(self) -> str:  # pragma: no cover - abstract
        """The caption's first half: the input, the window and their arguments."""
        raise NotImplementedError

    def equation(self, step: int) -> str:  # pragma: no cover - abstract
        """The arithmetic of ``step``, written below the grids."""
        raise NotImplementedError

    def equation_inches(self) -> float:
        """How wide the longest equation line is, in inches (a monospace character is 0.6 em):
        a scene makes its figure at least that wide, so that no equation is cut off."""
        longest = max(len(self.equation(step)) for step in range(self.n_steps))
        return longest * 0.6 * self.fontsize / 72

    def draw_grids(self, ax: Axes, step: int) -> None:  # pragma: no cover - abstract
        """Draw the grids of ``step`` (input, window, output ...) on ``ax``, in cell units."""
        raise NotImplementedError

    def unread_note(self) -> str:
        """The input rows and columns no window reads, and how many of them trail at the end.

        E.g. ``; never reads rows 0, 2, 4, 6, 8 and columns 0, 7 (1 trailing row)``: the lists
        hold every unread row and column (:attr:`~cnnbook.shapes.OutputShape.unread_rows`); the
        count in brackets says how many of them form the block at the bottom (right) edge that
        the stride does not fit (``dropped_rows``, ``dropped_cols``).
        """
        s = self.shape
        lists = [f"{plural(len(unread), noun)} " + ", ".join(elide(list(map(str, unread)), 8, 5))
                 for noun, unread in (("row", s.unread_rows), ("column", s.unread_cols)) if unread]
        if not lists:
            return ""
        trailing = [f"{count} trailing {plural(count, noun)}"
                    for noun, count in (("row", s.dropped_rows), ("column", s.dropped_cols))
                    if count]
        return "; never reads " + " and ".join(lists) + (
            f" ({', '.join(trailing)})" if trailing else "")

    def alt_text(self) -> str:
        """The window's path in words, with the caption's arguments and output shape."""
        return (f"Animation in {self.n_steps} {plural(self.n_steps, 'step')}: a window slides "
                f"over the input, one output element per step; {self.caption()}")

    def caption(self) -> str:
        """The arguments, the output shape and the input rows/columns no window reads."""
        size = "×".join(map(str, self.Y.shape))
        return f"{self.arguments()}  →  output {size}{self.unread_note()}"

    def draw_output(
        self, ax: Axes, Y: torch.Tensor, upto: int, *, x0: float, y0: float = 0.0,
        title: str = "output", color: str = COLORS["output"],
    ) -> None:
        """An output map filled in up to element ``upto`` (row-major), which is outlined.

        ``upto = -1`` shows no element yet; ``upto = Y.numel()`` shows them all, none outlined.
        """
        filled = (np.arange(Y.numel()) <= upto).reshape(tuple(Y.shape))
        draw_grid(ax, Y, x0=x0, y0=y0, color=color, show=filled, title=title,
                  fontsize=self.fontsize)
        if 0 <= upto < Y.numel():
            outline_cells(ax, [divmod(upto, Y.shape[1])], x0=x0, y0=y0, color=COLORS["current"])

    def draw_step(self, fig: Figure, step: int) -> None:
        # The never-read rows and columns get a line of their own (one line would not fit), and
        # the grids move down by that line.
        caption = self.caption().replace("; ", "\n", 1)
        fig.text(0.5, 0.975, caption, ha="center", va="top", fontsize=self.fontsize,
                 linespacing=1.3)
        left, bottom, width, height = self.axes_box
        line = 1.3 * self.fontsize / 72 / fig.get_figheight()  # points -> figure fraction
        ax = fig.add_axes((left, bottom, width, height - line * caption.count("\n")))
        self.draw_grids(ax, step)
        fig.text(0.5, self.equation_y, self.equation(step), ha="center", va="center",
                 fontsize=self.fontsize, family="monospace")
