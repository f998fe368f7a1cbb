"""A multi-channel convolution: one window per input channel, the parts summed into each output."""

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
from cnnbook.draw.scene import MIN_FONTSIZE, WindowScene
from cnnbook.shapes import conv_output_shape

#: One input channel's share of an output element.
PART = "#fff3bf"


class MultiChannelScene(WindowScene):
    """A multi-channel convolution: one window per input channel, summed into one output element.

    ``X`` is ``(c_i, h, w)``, ``K`` is ``(c_o, c_i, k_h, k_w)`` (or ``(c_i, k_h, k_w)`` for one
    output channel), ``bias`` is ``(c_o,)`` or ``None``. Step ``t`` walks the output elements
    channel by channel, row-major (only channel ``out_channel`` when that is given). Each input
    channel gets a row: the channel with the window (red) on it, the kernel channel
    ``K[o, c]`` of the current output channel ``o``, and that channel's part of the sum (its own
    cross-correlation map); the output channels are stacked on the right, and the bottom line
    adds the parts (and the bias) into the current element. The output is
    :func:`cnnbook.conv.conv2d`'s, and each part is ``conv2d`` of one channel with one kernel
    channel, so every number drawn is the tested op's.
    """

    axes_box = (0.01, 0.1, 0.98, 0.78)
    equation_y = 0.035

    def __init__(
        self,
        X: torch.Tensor,
        K: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        out_channel: int | None = None,
        fontsize: float | None = None,
    ) -> None:
        X, self.K = self.check_input_and_kernel(X, K)
        c_o, c_i = self.K.shape[:2]
        self.bias = None if bias is None else bias.detach().float().cpu()
        stride = positive_pair(stride, "stride")
        padding = non_negative_pair(padding, "padding")
        if out_channel is not None and not 0 <= out_channel < c_o:
            raise ValueError(
                f"output channel {out_channel} does not exist: K of shape {tuple(self.K.shape)} "
                f"has {c_o} output channel(s); pick one of 0 .. {c_o - 1}"
            )
        self.out_channel = out_channel
        # The real op computes the output and each channel's part; the scene only draws them.
        self.Y = conv2d(X, self.K, self.bias, stride=stride, padding=padding)
        self.parts = torch.stack(
            [conv2d(X[c : c + 1], self.K[:, c : c + 1], stride=stride, padding=padding)
             for c in range(c_i)],
            dim=1,
        )  # (c_o, c_i, out_h, out_w): parts[o, c] is channel c's share of output channel o
        kernel_size = tuple(self.K.shape[2:])
        super().__init__(
            X, kernel_size, stride=stride, padding=padding,
            shape=conv_output_shape(tuple(X.shape[1:]), kernel_size, stride, padding),
        )
        self.channels = list(range(c_o)) if out_channel is None else [out_channel]
        self.n_steps = len(self.channels) * self.Y.shape[1] * self.Y.shape[2]
        self.lay_out(fontsize)

    def lay_out(self, fontsize: float | None) -> None:
        """Place the grids, in cells: a row per input channel, the output channels on the right."""
        c_o, c_i, kh, kw = self.K.shape
        H, W = self.padded.shape[1:]
        oh, ow = self.Y.shape[1:]
        self.row_height = max(H, kh, oh)
        self.row_gap, self.out_gap = 1.7, 1.4
        self.kernel_x = W + 1.2
        self.part_x = self.kernel_x + kw + 1.2
        self.out_x = self.part_x + ow + 2.2
        self.width = self.out_x + ow
        self.height = max(c_i * (self.row_height + self.row_gap) - 0.8,
                          c_o * (oh + self.out_gap) - self.out_gap)
        # Tall stacks of channels get smaller cells, but never so small that a label fails to fit.
        scale = min(0.42, max(0.3, 6.0 / self.height))
        self.figsize = (max(self.width * scale, 6.0), self.height * scale + 1.4)
        self.fontsize = fontsize or MIN_FONTSIZE

    @staticmethod
    def check_input_and_kernel(
        X: torch.Tensor, K: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``X`` as ``(c_i, h, w)`` and ``K`` as ``(c_o, c_i, k_h, k_w)``, float CPU copies."""
        if not isinstance(X, torch.Tensor) or X.dim() != 3:
            raise ValueError(
                f"the multi-channel scene draws an input of shape (channels, height, width), got "
                f"{tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__}: "
                "pass one image of a batch, e.g. X[0]"
            )
        if not isinstance(K, torch.Tensor) or K.dim() not in (3, 4):
            raise ValueError(
                f"K must have shape (c_o, c_i, k_h, k_w) or (c_i, k_h, k_w), got "
                f"{tuple(K.shape) if isinstance(K, torch.Tensor) else type(K).__name__}"
            )
        K = K[None] if K.dim() == 3 else K
        if K.shape[1] != X.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} channels but each kernel has {K.shape[1]} (X "
                f"{tuple(X.shape)}, K {tuple(K.shape)}): a kernel needs one channel "
                "per input channel"
            )
        return X.detach().float().cpu(), K.detach().float().cpu()

    def position(self, step: int) -> tuple[int, int, int]:
        """``(o, i, j)``: the output channel and element that ``step`` computes."""
        oh, ow = self.Y.shape[1:]
        walk, rest = divmod(step, oh * ow)
        i, j = divmod(rest, ow)
        return self.channels[walk], i, j

    def element(self, step: int) -> tuple[int, int]:
        """The position ``(i, j)`` in its output channel of the element ``step`` computes."""
        return self.position(step)[1:]

    def channel_equation(self, step: int, c: int) -> str:
        """Input channel ``c``'s products at ``step``, e.g. ``0×0 + 1×1 + 3×2 + 4×3 = 19``."""
        o, i, j = self.position(step)
        terms = [
            f"{format_value(float(self.padded[c, r, s]))}×{format_value(float(k))}"
            for (r, s), k in zip(self.window_cells(step), self.K[o, c].flatten(), strict=True)
        ]
        return " + ".join(elide(terms, 6, 3)) + (
            f" = {format_value(float(self.parts[o, c, i, j]))}")

    def equation(self, step: int) -> str:
        """The sum over input channels (and the bias), e.g. ``Y[0, 0, 0] = 19 + 37 = 56``."""
        o, i, j = self.position(step)
        terms = elide([format_value(float(v)) for v in self.parts[o, :, i, j]], 6, 3)
        if self.bias is not None:
            terms.append(f"bias {format_value(float(self.bias[o]))}")
        return f"Y[{o}, {i}, {j}] = " + " + ".join(terms) + (
            f" = {format_value(float(self.Y[o, i, j]))}")

    def arguments(self) -> str:
        """Input and kernel shapes, padding and stride."""
        c_o, c_i, kh, kw = self.K.shape
        h, w = self.input_hw
        return (f"input {c_i}×{h}×{w}, kernel {c_o}×{c_i}×{kh}×{kw}, padding "
                f"{format_pair(self.padding)}, stride {format_pair(self.stride)}")

    def draw_grids(self, ax: Axes, step: int) -> None:
        fs = self.fontsize
        o, i, j = self.position(step)
        c_o, c_i, kh, kw = self.K.shape
        oh, ow = self.Y.shape[1:]
        H, W = self.padded.shape[1:]
        colors = self.input_colors()
        current = i * ow + j  # the element of channel o computed now (row-major)
        for c in range(c_i):
            y0 = c * (self.row_height + self.row_gap)
            draw_grid(ax, self.padded[c], y0=y0, cell_colors=colors, fontsize=fs,
                      title=f"input channel {c}")
            outline_cells(ax, self.window_cells(step), y0=y0)
            draw_grid(ax, self.K[o, c], x0=self.kernel_x, y0=y0, color=COLORS["kernel"],
                      fontsize=fs, title=f"K[{o}, {c}]")
            outline_box(ax, 0, 0, kh, kw, x0=self.kernel_x, y0=y0)
            self.draw_output(ax, self.parts[o, c], current, x0=self.part_x, y0=y0,
                             title=f"part {c}", color=PART)
            mid = y0 + min(H, kh, oh) / 2
            ax.text(W + 0.6, mid, "⋆", ha="center", va="center", fontsize=fs + 9)
            ax.text(self.kernel_x + kw + 0.6, mid, "=", ha="center", va="center",
                    fontsize=fs + 3)
            ax.text(0, y0 + self.row_height + 0.55, self.channel_equation(step, c), ha="left",
                    va="center", fontsize=fs, family="monospace", color="#444444")
        ax.text(self.out_x - 1.1, (c_i * (self.row_height + self.row_gap) - self.row_gap) / 2,
                "Σ→", ha="center", va="center", fontsize=fs + 4)
        # The walk goes channel by channel: the channels before o are complete, those after
        # it (and those not watched) not started.
        walked = self.channels.index(o)
        for q in range(c_o):
            if q == o:
                upto = current
            elif q in self.channels and self.channels.index(q) < walked:
                upto = oh * ow
            else:
                upto = -1
            self.draw_output(ax, self.Y[q], upto, x0=self.out_x, y0=q * (oh + self.out_gap),
                             title=f"output channel {q}")
        finish_axes(ax, self.width, self.height)
