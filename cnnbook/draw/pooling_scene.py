"""A max or average pooling window sliding over a 2-D input, the winner of each window marked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes

from cnnbook.args import non_negative_pair, positive_pair
from cnnbook.draw.primitives import (
    COLORS,
    draw_grid,
    elide,
    finish_axes,
    format_pair,
    format_value,
    outline_box,
    outline_cells,
)
from cnnbook.draw.scene import MIN_FONTSIZE, WindowScene
from cnnbook.pooling import pool2d
from cnnbook.shapes import pool_output_shape

#: Cells of max pooling's padding: -inf, which never wins a window (zeros would, for negatives).
NEG_INF_PADDING = "#e3dcf2"
#: The element a max-pooling window picks.
WINNER = "#ffd54f"


class PoolingWindowScene(WindowScene):
    """A pooling window sliding over a 2-D input: max (winner marked) or average.

    Step ``t`` shows the window of output element ``t`` (row-major) on the padded input, the
    output filled in up to ``t`` and the arithmetic. Max pooling pads with ``-inf`` (lilac cells
    marked −∞: padding can never win) and marks the element it picks in yellow; the picks come
    from the indices that :func:`cnnbook.pooling.pool2d` returns. Average pooling pads with
    zeros (grey), which count in the divisor, as in ``nn.AvgPool2d``'s default. Input cells in a
    row or column that no window reads are dark grey. Every number drawn is ``pool2d``'s.
    """

    def __init__(
        self,
        X: torch.Tensor,
        kernel_size: int | Sequence[int] = 2,
        *,
        mode: str = "max",
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        fontsize: float | None = None,
    ) -> None:
        if X.dim() != 2:
            raise ValueError(
                f"the pooling scene draws a 2-D input (H, W), got shape {tuple(X.shape)}: "
                "pass one channel, e.g. X[0, 0]"
            )
        X = X.detach().float().cpu()
        self.mode = mode
        kernel_size = positive_pair(kernel_size, "kernel_size")
        stride = kernel_size if stride is None else positive_pair(stride, "stride")
        padding = non_negative_pair(padding, "padding")
        # The real op computes the output (and, for max, which element won); the scene draws it.
        if mode == "max":
            self.Y, self.indices = pool2d(X, kernel_size, stride, padding, mode="max",
                                          return_indices=True)
        else:
            self.Y = pool2d(X, kernel_size, stride, padding, mode=mode)
            self.indices = None
        super().__init__(
            X, kernel_size, stride=stride, padding=padding,
            shape=pool_output_shape(tuple(X.shape), kernel_size, stride, padding),
            fill=float("-inf") if mode == "max" else 0.0,
        )
        self.n_steps = self.Y.numel()
        ncols = self.padded.shape[1] + self.Y.shape[1] + 1.5
        nrows = max(self.padded.shape[0], self.Y.shape[0])
        self.figsize = (max(ncols * 0.45, 6.0), nrows * 0.45 + 1.3)
        self.fontsize = fontsize or MIN_FONTSIZE

    def window(self, step: int) -> tuple[int, int]:
        """Top-left cell ``(row, col)`` of the window of ``step``, in padded coordinates."""
        return self.window_cells(step)[0]

    def window_values(self, step: int) -> torch.Tensor:
        """The padded-input values under the window of ``step``, row-major."""
        top, left = self.window(step)
        kh, kw = self.kernel_size
        return self.padded[top : top + kh, left : left + kw].flatten()

    def winner(self, step: int) -> tuple[int, int] | None:
        """Padded-input cell that max pooling picks at ``step`` (None for average pooling)."""
        if self.indices is None:
            return None
        row, col = divmod(int(self.indices.flatten()[step]), self.input_hw[1])
        return row + self.padding[0], col + self.padding[1]

    def equation(self, step: int) -> str:
        """The reduction for output element ``step``, e.g. ``Y[0, 0] = max(0, 1, 4, 5) = 5``."""
        terms = elide(["−∞" if np.isneginf(v) else format_value(v)
                       for v in self.window_values(step).tolist()], 9, 4)
        i, j = self.element(step)
        value = format_value(float(self.Y[i, j]))
        if self.mode == "max":
            return f"Y[{i}, {j}] = max(" + ", ".join(terms) + f") = {value}"
        count = self.kernel_size[0] * self.kernel_size[1]
        return f"Y[{i}, {j}] = (" + " + ".join(terms) + f") / {count} = {value}"

    def arguments(self) -> str:
        """Mode, input size, window, padding and stride."""
        kind = "max" if self.mode == "max" else "average"
        h, w = self.input_hw
        return (f"{kind} pooling: input {h}×{w}, window {format_pair(self.kernel_size)}, "
                f"padding {format_pair(self.padding)}, stride {format_pair(self.stride)}")

    def draw_grids(self, ax: Axes, step: int) -> None:
        fs = self.fontsize
        H, W = self.padded.shape
        colors = self.input_colors(NEG_INF_PADDING if self.mode == "max" else COLORS["padding"])
        winner = self.winner(step)
        if winner is not None:
            colors[winner] = WINNER
        # -inf has no number to print: those cells get a −∞ label of their own.
        shown = torch.where(torch.isinf(self.padded), float("nan"), self.padded)
        draw_grid(ax, shown, cell_colors=colors, fontsize=fs, title=self.input_title())
        for i, j in zip(*np.nonzero(np.isneginf(self.padded.numpy())), strict=True):
            ax.text(j + 0.5, i + 0.5, "−∞", ha="center", va="center", fontsize=fs,
                    color="#555555")
        top, left = self.window(step)
        outline_box(ax, top, left, *self.kernel_size)
        if winner is not None:
            outline_cells(ax, [winner], color="#b8860b", linewidth=1.5)
        yx = W + 1.5
        self.draw_output(ax, self.Y, step, x0=yx)
        finish_axes(ax, yx + self.Y.shape[1], max(H, self.Y.shape[0]))
