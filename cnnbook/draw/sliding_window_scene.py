"""A kernel sliding over a 2-D input: the window, the kernel, the output filling in, the sum."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.axes import Axes

from cnnbook.args import non_negative_pair, positive_pair
from cnnbook.conv import conv2d
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
from cnnbook.draw.scene import MIN_FONTSIZE, WindowScene, input_and_kernel_2d
from cnnbook.shapes import conv_output_shape, effective_kernel_size


class SlidingWindowScene(WindowScene):
    """A kernel sliding over a 2-D input: window, kernel, output filling in, and the arithmetic.

    Step ``t`` shows the window of output element ``t`` (row-major) on the (padded) input, the
    products of the window with the kernel and their sum, and the output filled in up to ``t``.
    Padding cells are grey; with dilation only the cells the kernel touches are outlined (the
    dashed box is the dilated window); input cells in a row or column that no window reads (the
    stride skips it, or it trails past the last window) are dark grey. The output comes from
    :func:`cnnbook.conv.conv2d`.
    """

    def __init__(
        self,
        X: torch.Tensor,
        K: torch.Tensor,
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        fontsize: float | None = None,
    ) -> None:
        X, self.K = input_and_kernel_2d(X, K, "sliding-window")
        stride = positive_pair(stride, "stride")
        padding = non_negative_pair(padding, "padding")
        dilation = positive_pair(dilation, "dilation")
        # The real op computes the output; the scene only draws it.
        self.Y = conv2d(X[None, None], self.K[None, None], stride=stride, padding=padding,
                        dilation=dilation)[0, 0]
        kernel_size = tuple(self.K.shape)
        super().__init__(
            X, kernel_size, stride=stride, padding=padding, dilation=dilation,
            shape=conv_output_shape(tuple(X.shape), kernel_size, stride, padding, dilation),
        )
        self.n_steps = self.Y.numel()
        ncols = self.padded.shape[1] + self.K.shape[1] + self.Y.shape[1] + 2.5
        nrows = max(self.padded.shape[0], self.K.shape[0], self.Y.shape[0])
        self.scale = 0.42
        self.fontsize = fontsize or MIN_FONTSIZE
        width = max(ncols * self.scale, 6.0, self.equation_inches() + 0.3)
        self.figsize = (width, nrows * self.scale + 1.3)

    def equation(self, step: int) -> str:
        """The products and the sum for output element ``step``, e.g. ``0×0 + 1×1 + ... = 19``."""
        terms = [
            f"{format_value(float(self.padded[i, j]))}×{format_value(k)}"
            for (i, j), k in zip(self.window_cells(step), self.K.flatten().tolist(), strict=True)
        ]
        i, j = self.element(step)
        return (f"Y[{i}, {j}] = " + " + ".join(elide(terms, 9, 4))
                + f" = {format_value(float(self.Y[i, j]))}")

    def arguments(self) -> str:
        """Input and kernel sizes, padding, stride (and dilation, when there is one)."""
        (h, w), (kh, kw) = self.input_hw, self.kernel_size
        return (f"input {h}×{w}, kernel {kh}×{kw}, padding {format_pair(self.padding)}, stride "
                f"{format_pair(self.stride)}"
                + (f", dilation {format_pair(self.dilation)}" if self.dilation != (1, 1) else ""))

    def draw_grids(self, ax: Axes, step: int) -> None:
        fs = self.fontsize
        H, W = self.padded.shape
        draw_grid(ax, self.padded, cell_colors=self.input_colors(), title=self.input_title(),
                  fontsize=fs)
        cells = self.window_cells(step)
        outline_cells(ax, cells)
        if self.dilation != (1, 1):
            top, left = cells[0]
            outline_box(ax, top, left, *effective_kernel_size(self.kernel_size, self.dilation),
                        linestyle="--", linewidth=1.2)
        kx = W + 1.0
        draw_grid(ax, self.K, x0=kx, color=COLORS["kernel"], title="kernel", fontsize=fs)
        outline_box(ax, 0, 0, *self.K.shape, x0=kx)
        yx = kx + self.K.shape[1] + 1.5
        self.draw_output(ax, self.Y, step, x0=yx)
        finish_axes(ax, yx + self.Y.shape[1], max(H, self.K.shape[0], self.Y.shape[0]))
