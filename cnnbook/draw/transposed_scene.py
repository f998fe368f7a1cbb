"""Transposed convolution by scatter-add: each input element adds a scaled copy of the kernel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from cnnbook.args import non_negative_pair, positive_pair
from cnnbook.draw.primitives import (
    COLORS,
    draw_grid,
    finish_axes,
    format_pair,
    format_value,
    outline_box,
    outline_cells,
)
from cnnbook.draw.scene import MIN_FONTSIZE, Scene, input_and_kernel_2d
from cnnbook.transposed import trans_conv

#: Output cells that a transposed convolution's padding crops away.
CROPPED = "#e6e6e6"
#: The scaled copy ``X[i, j] * K`` that one input element adds to the output.
SCATTERED = "#fbd0a6"


class TransposedConvScene(Scene):
    """Transposed convolution by scatter-add, one input element per step.

    Step ``t`` takes input element ``t`` (row-major), scales the whole kernel by it and adds the
    scaled copy into the output block whose top-left corner is ``(i * s_h, j * s_w)``; the
    overlapping blocks add up. The output grid is the uncropped sum (``(n - 1) s + k`` per axis),
    filled in as far as the blocks have reached, with the border that ``padding`` crops drawn grey
    and the kept output inside a thick green box. Every number comes from
    :func:`cnnbook.transposed.trans_conv`: the partial sums are ``trans_conv`` of the input with
    the elements not yet visited set to zero.
    """

    def __init__(
        self,
        X: torch.Tensor,
        K: torch.Tensor,
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        fontsize: float | None = None,
    ) -> None:
        self.X, self.K = input_and_kernel_2d(X, K, "transposed-convolution")
        self.stride = positive_pair(stride, "stride")
        self.padding = non_negative_pair(padding, "padding")
        # The real op computes both the kept output and the uncropped sum; trans_conv also
        # rejects a padding that would crop everything, with its own message.
        self.Y = trans_conv(self.X, self.K, self.stride, self.padding)
        self.full = trans_conv(self.X, self.K, self.stride)
        self.n_steps = self.X.numel()
        kh, kw = self.K.shape
        ncols = self.X.shape[1] + 2 * kw + self.full.shape[1] + 4.5
        nrows = max(self.X.shape[0], kh, self.full.shape[0])
        self.scale = 0.45
        self.figsize = (max(ncols * self.scale, 7.5), nrows * self.scale + 1.4)
        self.fontsize = fontsize or MIN_FONTSIZE

    def element(self, step: int) -> tuple[int, int]:
        """Input position ``(i, j)`` handled at ``step``."""
        return divmod(int(step), self.X.shape[1])

    def block(self, step: int) -> tuple[int, int]:
        """Top-left corner, in the uncropped output, of the block that ``step`` adds to."""
        i, j = self.element(step)
        return i * self.stride[0], j * self.stride[1]

    def partial(self, step: int) -> torch.Tensor:
        """The uncropped output after steps ``0 .. step``: ``trans_conv`` of visited elements."""
        visited = (torch.arange(self.n_steps) <= step).reshape(self.X.shape)
        return trans_conv(self.X * visited, self.K, self.stride)

    def reached(self, step: int) -> np.ndarray:
        """Mask of the uncropped output cells that some block of steps ``0 .. step`` covers."""
        mask = np.zeros(tuple(self.full.shape), bool)
        kh, kw = self.K.shape
        for t in range(int(step) + 1):
            top, left = self.block(t)
            mask[top : top + kh, left : left + kw] = True
        return mask

    def equation(self, step: int) -> str:
        """What ``step`` adds, e.g. ``X[1, 0] = 2: adds 2·K = [[0, 2], [4, 6]] at rows 1–2 ...``."""
        i, j = self.element(step)
        value = float(self.X[i, j])
        top, left = self.block(step)
        kh, kw = self.K.shape
        scaled = [[format_value(v) for v in row] for row in (value * self.K).tolist()]
        copy = "[" + ", ".join("[" + ", ".join(row) + "]" for row in scaled) + "]"
        if len(copy) > 40:
            copy = f"{kh}×{kw} block"
        return (f"X[{i}, {j}] = {format_value(value)}: adds {format_value(value)}·K = {copy} at "
                f"rows {top}–{top + kh - 1}, columns {left}–{left + kw - 1}")

    def caption(self) -> str:
        """Arguments and output shape, with the rows/columns that padding crops."""
        fh, fw = self.full.shape
        text = (f"transposed conv: input {self.X.shape[0]}×{self.X.shape[1]}, kernel "
                f"{self.K.shape[0]}×{self.K.shape[1]}, stride {format_pair(self.stride)}, "
                f"padding {format_pair(self.padding)}  →  output "
                f"{self.Y.shape[0]}×{self.Y.shape[1]}")
        if self.padding != (0, 0):
            text += f" (the {fh}×{fw} sum, border of {format_pair(self.padding)} cropped: grey)"
        return text

    def draw_step(self, fig: Figure, step: int) -> None:
        ax = fig.add_axes((0.01, 0.12, 0.98, 0.78))
        fig.text(0.5, 0.975, self.caption(), ha="center", va="top", fontsize=self.fontsize)
        fs = self.fontsize
        i, j = self.element(step)
        kh, kw = self.K.shape
        n_h, n_w = self.X.shape
        draw_grid(ax, self.X, title="input X", fontsize=fs)
        outline_cells(ax, [(i, j)])
        kx = n_w + 1.0
        ax.text(kx - 0.5, kh / 2, "·", ha="center", va="center", fontsize=fs + 6)
        draw_grid(ax, self.K, x0=kx, color=COLORS["kernel"], title="kernel K", fontsize=fs)
        cx = kx + kw + 1.0
        ax.text(cx - 0.5, kh / 2, "=", ha="center", va="center", fontsize=fs + 3)
        draw_grid(ax, self.X[i, j] * self.K, x0=cx, color=SCATTERED,
                  title=f"X[{i}, {j}]·K", fontsize=fs)
        outline_box(ax, 0, 0, kh, kw, x0=cx)
        yx = cx + kw + 1.5
        H, W = self.full.shape
        ph, pw = self.padding
        colors = np.full((H, W), CROPPED, dtype=object)
        colors[ph : H - ph, pw : W - pw] = COLORS["output"]
        # Cells no block reaches (a stride larger than the kernel) stay blank until the last
        # step, where every cell of the sum is shown: those are zeros of the result.
        shown = self.reached(step) | (step == self.n_steps - 1)
        draw_grid(ax, self.partial(step), x0=yx, cell_colors=colors, show=shown,
                  title="sum of the copies", fontsize=fs)
        top, left = self.block(step)
        outline_box(ax, top, left, kh, kw, x0=yx)
        outline_box(ax, ph, pw, H - 2 * ph, W - 2 * pw, x0=yx, color=COLORS["current"],
                    linewidth=2.0, linestyle="--" if ph or pw else "-")
        finish_axes(ax, yx + W, max(n_h, kh, H))
        fig.text(0.5, 0.04, self.equation(step), ha="center", va="center", fontsize=fs,
                 family="monospace")
