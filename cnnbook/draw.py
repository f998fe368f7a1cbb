"""Every picture in the book is drawn here, with matplotlib, from real tensors.

Two layers:

* primitives (:func:`new_figure`, :func:`draw_grid`, :func:`outline_cells`, :func:`figure_png`)
  that draw a matrix as a grid of numbered cells;
* scenes: a :class:`Scene` is a picture that changes over *steps* (a sliding window moving, an
  output filling in). One scene definition drives both the live widget of
  :mod:`cnnbook.widgets` (the scene plus sliders) and the static animation of
  :mod:`cnnbook.animate` (the scene over its steps), so no drawing logic is written twice.

Scenes never compute a convolution themselves: they call the ops of the package and draw the
numbers those return, so every picture shows what the tested code computes.

Figures are made with :class:`matplotlib.figure.Figure`, not ``pyplot``: nothing is shown or
leaked behind the caller's back (a widget redraw must not print a figure into the cell).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnbook.args import non_negative_pair, positive_int, positive_pair
from cnnbook.conv import conv2d
from cnnbook.interpolate import (
    bilinear_at,
    bilinear_weights,
    interpolate,
    linear_at,
    linear_weights,
    source_coordinates,
    trilinear_at,
    trilinear_weights,
)
from cnnbook.pooling import pool2d
from cnnbook.shapes import conv_output_shape, pool_output_shape
from cnnbook.transposed import trans_conv

#: The book's colours: one per role, the same in every picture.
COLORS = {
    "input": "#dbe9f6",
    "padding": "#f0f0f0",
    "kernel": "#fde2c4",
    "output": "#d9f0d3",
    "pending": "#ffffff",
    "window": "#d62728",
    "current": "#2ca02c",
    "dropped": "#bdbdbd",
    "text": "#222222",
    "muted": "#9a9a9a",
}


# --------------------------------------------------------------------------------- primitives
def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure (inches) with an Agg canvas and no pyplot state."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render ``fig`` to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def format_value(value: float) -> str:
    """A cell label: integers without a decimal point, other values with up to 2 decimals."""
    if np.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def draw_grid(
    ax: Axes,
    values: torch.Tensor | np.ndarray,
    *,
    x0: float = 0.0,
    y0: float = 0.0,
    color: str = COLORS["input"],
    cell_colors: np.ndarray | None = None,
    show: np.ndarray | None = None,
    title: str | None = None,
    fontsize: float = 10.0,
    labels: bool = True,
) -> None:
    """Draw a 2-D matrix as a grid of cells whose top-left corner is at ``(x0, y0)``.

    Coordinates are in cells, y pointing down (row ``i`` spans ``y0 + i .. y0 + i + 1``).
    ``cell_colors`` (an object array of colour strings) overrides ``color`` per cell; ``show``
    (a boolean array) hides the labels of cells not computed yet.
    """
    v = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, float)
    rows, cols = v.shape
    for i in range(rows):
        for j in range(cols):
            face = color if cell_colors is None else cell_colors[i, j]
            visible = show is None or bool(show[i, j])
            ax.add_patch(
                Rectangle(
                    (x0 + j, y0 + i), 1, 1, facecolor=face if visible else COLORS["pending"],
                    edgecolor="#555555", linewidth=0.8,
                )
            )
            if labels and visible:
                ax.text(
                    x0 + j + 0.5, y0 + i + 0.5, format_value(v[i, j]), ha="center",
                    va="center", fontsize=fontsize, color=COLORS["text"],
                )
    if title:
        ax.text(x0 + cols / 2, y0 - 0.35, title, ha="center", va="bottom", fontsize=fontsize)


def outline_cells(
    ax: Axes,
    cells: Iterable[tuple[int, int]],
    *,
    x0: float = 0.0,
    y0: float = 0.0,
    color: str = COLORS["window"],
    linewidth: float = 2.5,
) -> None:
    """Draw a thick border around each cell ``(i, j)`` of a grid placed at ``(x0, y0)``."""
    for i, j in cells:
        ax.add_patch(
            Rectangle((x0 + j, y0 + i), 1, 1, fill=False, edgecolor=color, linewidth=linewidth)
        )


def outline_box(
    ax: Axes, top: int, left: int, height: int, width: int, *, x0: float = 0.0,
    y0: float = 0.0, color: str = COLORS["window"], linewidth: float = 2.5,
    linestyle: str = "-",
) -> None:
    """Draw a rectangle around a block of cells."""
    ax.add_patch(
        Rectangle(
            (x0 + left, y0 + top), width, height, fill=False, edgecolor=color,
            linewidth=linewidth, linestyle=linestyle,
        )
    )


def finish_axes(ax: Axes, width: float, height: float) -> None:
    """Fit the axes to a drawing of ``width`` x ``height`` cells, y down, no ticks."""
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(height + 0.2, -0.9)
    ax.set_aspect("equal")
    ax.axis("off")


def show_images(
    images: Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    cols: int | None = None,
    scale: float = 1.6,
    cmap: str = "gray",
    symmetric: bool = False,
) -> Figure:
    """A row (or grid) of 2-D images with titles, e.g. an image and its filtered versions.

    ``symmetric`` centres the colour map on 0 (for filter responses that can be negative).
    """
    n = len(images)
    cols = cols or n
    rows = (n + cols - 1) // cols
    fig = new_figure(scale * cols, scale * rows + 0.3 * (titles is not None))
    for k, image in enumerate(images):
        ax = fig.add_subplot(rows, cols, k + 1)
        array = image.detach().cpu().float().numpy()
        if symmetric:
            bound = float(np.abs(array).max()) or 1.0
            ax.imshow(array, cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            ax.imshow(array, cmap=cmap)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------- scenes
class Scene:
    """A picture that changes over ``n_steps`` steps.

    Subclasses set ``n_steps`` and ``figsize`` and implement :meth:`draw`, which draws step
    ``step`` on a cleared figure. :meth:`png` renders one step; Jupyter shows a scene as its
    last step.
    """

    n_steps: int = 1
    figsize: tuple[float, float] = (6.0, 3.0)
    dpi: int = 80

    def draw(self, fig: Figure, step: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def figure(self, step: int = 0) -> Figure:
        """A new figure showing step ``step``."""
        fig = new_figure(*self.figsize)
        self.draw(fig, step)
        return fig

    def png(self, step: int = 0) -> bytes:
        """Step ``step`` rendered to PNG bytes."""
        return figure_png(self.figure(step), dpi=self.dpi)

    def _repr_png_(self) -> bytes:
        return self.png(self.n_steps - 1)


def _input_and_kernel_2d(
    X: torch.Tensor, K: torch.Tensor, scene: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """A scene's 2-D input and kernel as float CPU copies; anything else is a ValueError."""
    if X.dim() != 2 or K.dim() != 2:
        raise ValueError(
            f"the {scene} scene draws a 2-D input and a 2-D kernel, got shapes "
            f"{tuple(X.shape)} and {tuple(K.shape)}: pass one channel, e.g. X[0, 0]"
        )
    return X.detach().float().cpu(), K.detach().float().cpu()


class SlidingWindowScene(Scene):
    """A kernel sliding over a 2-D input: window, kernel, output filling in, and the arithmetic.

    Step ``t`` shows the window of output element ``t`` (row-major) on the (padded) input, the
    products of the window with the kernel and their sum, and the output filled in up to ``t``.
    Padding cells are grey; with dilation only the cells the kernel touches are outlined (the
    dashed box is the dilated window); input rows/columns that no window reaches, because the
    stride does not divide, are dark grey. The output comes from :func:`cnnbook.conv.conv2d`.
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
        self.X, self.K = _input_and_kernel_2d(X, K, "sliding-window")
        self.stride = positive_pair(stride, "stride")
        self.padding = non_negative_pair(padding, "padding")
        self.dilation = positive_pair(dilation, "dilation")
        # The real op computes the output; the scene only draws it.
        self.Y = conv2d(
            self.X[None, None], self.K[None, None], stride=self.stride,
            padding=self.padding, dilation=self.dilation,
        )[0, 0]
        ph, pw = self.padding
        self.padded = torch.nn.functional.pad(self.X, (pw, pw, ph, ph))
        self.n_steps = self.Y.numel()
        ncols = self.padded.shape[1] + self.K.shape[1] + self.Y.shape[1] + 2.5
        nrows = max(self.padded.shape[0], self.K.shape[0], self.Y.shape[0])
        self.scale = 0.42
        self.figsize = (max(ncols * self.scale, 6.0), nrows * self.scale + 1.3)
        self.fontsize = fontsize or (9 if max(self.padded.shape) <= 8 else 7)

    def window_cells(self, step: int) -> list[tuple[int, int]]:
        """The padded-input cells that the kernel touches at ``step``."""
        i, j = divmod(step, self.Y.shape[1])
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return [
            (i * sh + a * dh, j * sw + b * dw)
            for a in range(self.K.shape[0])
            for b in range(self.K.shape[1])
        ]

    def covered(self) -> np.ndarray:
        """Boolean mask of padded-input cells inside the span of the windows.

        Rows (columns) past the last window are the ones a stride that does not divide drops;
        holes *between* the taps of a dilated kernel are not dropped: the next window reads them.
        """
        (sh, sw), (dh, dw) = self.stride, self.dilation
        last_row = (self.Y.shape[0] - 1) * sh + dh * (self.K.shape[0] - 1)
        last_col = (self.Y.shape[1] - 1) * sw + dw * (self.K.shape[1] - 1)
        mask = np.zeros(tuple(self.padded.shape), bool)
        mask[: last_row + 1, : last_col + 1] = True
        return mask

    def equation(self, step: int) -> str:
        """The products and the sum for output element ``step``, e.g. ``0×0 + 1×1 + ... = 19``."""
        cells = self.window_cells(step)
        kernel = self.K.flatten().tolist()
        terms = [
            f"{format_value(float(self.padded[i, j]))}×{format_value(k)}"
            for (i, j), k in zip(cells, kernel, strict=False)
        ]
        if len(terms) > 9:
            terms = terms[:4] + ["…"] + terms[-2:]
        i, j = divmod(step, self.Y.shape[1])
        return f"Y[{i}, {j}] = " + " + ".join(terms) + f" = {format_value(float(self.Y[i, j]))}"

    def caption(self) -> str:
        """The arguments and the resulting output shape, with the input rows/columns dropped."""
        shape = conv_output_shape(tuple(self.X.shape), tuple(self.K.shape), stride=self.stride,
                                  padding=self.padding, dilation=self.dilation)
        pair = lambda v: str(v[0]) if v[0] == v[1] else f"{v}"  # noqa: E731
        text = (f"input {self.X.shape[0]}×{self.X.shape[1]}, kernel {self.K.shape[0]}×"
                f"{self.K.shape[1]}, padding {pair(self.padding)}, stride {pair(self.stride)}"
                + (f", dilation {pair(self.dilation)}" if self.dilation != (1, 1) else "")
                + f"  →  output {shape[0]}×{shape[1]}")
        if shape.dropped_rows or shape.dropped_cols:
            text += f" (drops {shape.dropped_rows} row(s), {shape.dropped_cols} column(s))"
        return text

    def draw(self, fig: Figure, step: int) -> None:
        fig.clear()
        step = int(np.clip(step, 0, self.n_steps - 1))
        ax = fig.add_axes((0.01, 0.12, 0.98, 0.80))
        fig.text(0.5, 0.975, self.caption(), ha="center", va="top", fontsize=self.fontsize)
        H, W = self.padded.shape
        ph, pw = self.padding
        colors = np.full((H, W), COLORS["padding"], dtype=object)
        colors[ph : ph + self.X.shape[0], pw : pw + self.X.shape[1]] = COLORS["input"]
        colors[~self.covered()] = COLORS["dropped"]
        fs = self.fontsize
        draw_grid(ax, self.padded, cell_colors=colors, title="input" + (" (padded)" if ph or pw
                  else ""), fontsize=fs)
        cells = self.window_cells(step)
        outline_cells(ax, cells)
        (_sh, _sw), (dh, dw) = self.stride, self.dilation
        if (dh, dw) != (1, 1):
            top, left = cells[0]
            outline_box(ax, top, left, dh * (self.K.shape[0] - 1) + 1,
                        dw * (self.K.shape[1] - 1) + 1, linestyle="--", linewidth=1.2)
        kx = W + 1.0
        draw_grid(ax, self.K, x0=kx, color=COLORS["kernel"], title="kernel", fontsize=fs)
        outline_box(ax, 0, 0, *self.K.shape, x0=kx)
        yx = kx + self.K.shape[1] + 1.5
        filled = (np.arange(self.n_steps) <= step).reshape(tuple(self.Y.shape))
        draw_grid(ax, self.Y, x0=yx, color=COLORS["output"], show=filled, title="output",
                  fontsize=fs)
        i, j = divmod(step, self.Y.shape[1])
        outline_cells(ax, [(i, j)], x0=yx, color=COLORS["current"])
        finish_axes(ax, yx + self.Y.shape[1], max(H, self.K.shape[0], self.Y.shape[0]))
        fig.text(0.5, 0.04, self.equation(step), ha="center", va="center", fontsize=fs + 1,
                 family="monospace")


# ------------------------------------------------------------------------------ CNN pipeline
def _stage_name(layer: torch.nn.Module) -> str:
    """The pipeline stage a layer belongs to, in the book's words."""
    kinds = {
        torch.nn.Conv2d: "convolution",
        torch.nn.MaxPool2d: "pooling",
        torch.nn.AvgPool2d: "pooling",
        torch.nn.Flatten: "flatten",
        torch.nn.Linear: "fully connected",
        torch.nn.BatchNorm2d: "normalisation",
    }
    for kind, name in kinds.items():
        if isinstance(layer, kind):
            return name
    return "activation"


def pipeline_figure(net: torch.nn.Sequential, input_shape: Sequence[int]) -> Figure:
    """The CNN pipeline of ``net``: input, convolution, activation, pooling, ..., output.

    Each stage is drawn as a stack of feature maps (one sheet per channel, up to 6, sized by
    the map's height) or a bar (vectors), labelled with the real shape that ``net`` produces
    for an input of ``input_shape``.
    """
    x = torch.zeros(tuple(input_shape))
    stages = [("input", tuple(x.shape[1:]))]
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            stages.append((_stage_name(layer), tuple(x.shape[1:])))
    stages[-1] = ("output", stages[-1][1])
    # Two rows: the feature extractor (maps) above, the classifier (vectors) below.
    split = next(k for k, (_, shape) in enumerate(stages) if len(shape) == 1)
    rows = [stages[:split], stages[split:]]
    per_row = max(len(r) for r in rows)
    fig = new_figure(1.0 * per_row, 4.2)
    ax = fig.add_axes((0, 0, 1, 1))
    palette = {"input": COLORS["input"], "convolution": COLORS["kernel"],
               "activation": "#fff3b0", "pooling": "#e5d4ef", "normalisation": "#f6d0d0",
               "flatten": "#eeeeee", "fully connected": COLORS["output"], "output": "#b8e0b0"}
    biggest = max(shape[1] for _, shape in stages if len(shape) == 3)
    for r, row in enumerate(rows):
        base = 3.05 - 2.0 * r
        for k, (name, shape) in enumerate(row):
            cx = k * 1.0 + 0.5
            if len(shape) == 3:
                channels, height, _ = shape
                size = 0.2 + 0.45 * height / biggest
                sheets = min(channels, 6)
                left = cx - (size + 0.04 * (sheets - 1)) / 2
                for s in range(sheets):
                    offset = 0.04 * (sheets - 1 - s)
                    ax.add_patch(Rectangle((left + offset, base - size / 2 - offset), size, size,
                                           facecolor=palette[name], edgecolor="#555555",
                                           linewidth=0.7))
                label = "×".join(map(str, shape))
            else:
                length = 0.2 + 0.7 * min(shape[0], 400) / 400
                ax.add_patch(Rectangle((cx - 0.08, base - length / 2), 0.16, length,
                                       facecolor=palette[name], edgecolor="#555555",
                                       linewidth=0.7))
                label = str(shape[0])
            ax.text(cx, base - 0.72, name.replace(" ", "\n"), ha="center", va="center",
                    fontsize=9)
            ax.text(cx, base - 1.0 - 0.22 * (" " in name), label, ha="center", va="center",
                    fontsize=8.5, color="#555555")
            if k:
                ax.annotate("", xy=(cx - 0.4, base), xytext=(cx - 0.6, base),
                            arrowprops={"arrowstyle": "->", "color": "#777777"})
    # The classifier continues where the feature extractor ends.
    ax.annotate("", xy=(0.5, 1.6), xytext=(len(rows[0]) - 0.5, 1.9),
                arrowprops={"arrowstyle": "->", "color": "#777777",
                            "connectionstyle": "arc3,rad=0.05"})
    ax.set_xlim(0, per_row)
    ax.set_ylim(-0.45, 3.75)
    ax.axis("off")
    return fig


# ------------------------------------------------------------------------- pooling, sampling
#: Cells of max pooling's padding: -inf, which never wins a window (zeros would, for negatives).
NEG_INF_PADDING = "#e3dcf2"
#: The element a max-pooling window picks.
WINNER = "#ffd54f"
#: One colour per corner of a bilinear cell (top-left, top-right, bottom-left, bottom-right).
CORNER_COLORS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")


class PoolingWindowScene(Scene):
    """A pooling window sliding over a 2-D input: max (winner marked) or average.

    Step ``t`` shows the window of output element ``t`` (row-major) on the padded input, the
    output filled in up to ``t`` and the arithmetic. Max pooling pads with ``-inf`` (lilac cells
    marked −∞: padding can never win) and marks the element it picks in yellow; the picks come
    from the indices that :func:`cnnbook.pooling.pool2d` returns. Average pooling pads with
    zeros (grey), which count in the divisor, as in ``nn.AvgPool2d``'s default. Input rows and
    columns that no window reaches are dark grey. Every number drawn is ``pool2d``'s.
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
        self.X = X.detach().float().cpu()
        self.mode = mode
        self.kernel_size = positive_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else positive_pair(stride, "stride")
        self.padding = non_negative_pair(padding, "padding")
        # The real op computes the output (and, for max, which element won); the scene draws it.
        if mode == "max":
            self.Y, self.indices = pool2d(self.X, self.kernel_size, self.stride, self.padding,
                                          mode="max", return_indices=True)
        else:
            self.Y = pool2d(self.X, self.kernel_size, self.stride, self.padding, mode=mode)
            self.indices = None
        self.shape = pool_output_shape(tuple(self.X.shape), self.kernel_size, self.stride,
                                       self.padding)
        ph, pw = self.padding
        fill = float("-inf") if mode == "max" else 0.0
        self.padded = torch.nn.functional.pad(self.X, (pw, pw, ph, ph), value=fill)
        self.n_steps = self.Y.numel()
        ncols = self.padded.shape[1] + self.Y.shape[1] + 1.5
        nrows = max(self.padded.shape[0], self.Y.shape[0])
        self.figsize = (max(ncols * 0.45, 6.0), nrows * 0.45 + 1.3)
        self.fontsize = fontsize or (9 if max(self.padded.shape) <= 8 else 7)

    def window(self, step: int) -> tuple[int, int]:
        """Top-left cell ``(row, col)`` of the window of ``step``, in padded coordinates."""
        i, j = divmod(step, self.Y.shape[1])
        return i * self.stride[0], j * self.stride[1]

    def window_values(self, step: int) -> torch.Tensor:
        """The padded-input values under the window of ``step``, row-major."""
        top, left = self.window(step)
        kh, kw = self.kernel_size
        return self.padded[top : top + kh, left : left + kw].flatten()

    def winner(self, step: int) -> tuple[int, int] | None:
        """Padded-input cell that max pooling picks at ``step`` (None for average pooling)."""
        if self.indices is None:
            return None
        row, col = divmod(int(self.indices.flatten()[step]), self.X.shape[1])
        return row + self.padding[0], col + self.padding[1]

    def covered(self) -> np.ndarray:
        """Boolean mask of padded-input cells that some window reads."""
        (sh, sw), (kh, kw) = self.stride, self.kernel_size
        mask = np.zeros(tuple(self.padded.shape), bool)
        mask[: (self.Y.shape[0] - 1) * sh + kh, : (self.Y.shape[1] - 1) * sw + kw] = True
        return mask

    def equation(self, step: int) -> str:
        """The reduction for output element ``step``, e.g. ``Y[0, 0] = max(0, 1, 4, 5) = 5``."""
        terms = ["−∞" if np.isneginf(v) else format_value(v)
                 for v in self.window_values(step).tolist()]
        if len(terms) > 9:
            terms = terms[:4] + ["…"] + terms[-2:]
        i, j = divmod(step, self.Y.shape[1])
        value = format_value(float(self.Y[i, j]))
        if self.mode == "max":
            return f"Y[{i}, {j}] = max(" + ", ".join(terms) + f") = {value}"
        count = self.kernel_size[0] * self.kernel_size[1]
        return f"Y[{i}, {j}] = (" + " + ".join(terms) + f") / {count} = {value}"

    def caption(self) -> str:
        """Mode, arguments and the output shape (with the input rows/columns dropped)."""
        pair = lambda v: str(v[0]) if v[0] == v[1] else f"{v}"  # noqa: E731
        kind = "max" if self.mode == "max" else "average"
        text = (f"{kind} pooling: input {self.X.shape[0]}×{self.X.shape[1]}, window "
                f"{pair(self.kernel_size)}, padding {pair(self.padding)}, stride "
                f"{pair(self.stride)}  →  output {self.shape[0]}×{self.shape[1]}")
        if self.shape.dropped_rows or self.shape.dropped_cols:
            text += (f" (drops {self.shape.dropped_rows} row(s), {self.shape.dropped_cols} "
                     "column(s))")
        return text

    def draw(self, fig: Figure, step: int) -> None:
        fig.clear()
        step = int(np.clip(step, 0, self.n_steps - 1))
        ax = fig.add_axes((0.01, 0.12, 0.98, 0.80))
        fig.text(0.5, 0.975, self.caption(), ha="center", va="top", fontsize=self.fontsize)
        H, W = self.padded.shape
        ph, pw = self.padding
        colors = np.full((H, W), NEG_INF_PADDING if self.mode == "max" else COLORS["padding"],
                         dtype=object)
        colors[ph : ph + self.X.shape[0], pw : pw + self.X.shape[1]] = COLORS["input"]
        colors[~self.covered()] = COLORS["dropped"]
        winner = self.winner(step)
        if winner is not None:
            colors[winner] = WINNER
        fs = self.fontsize
        # -inf has no number to print: those cells get a −∞ label of their own.
        shown = torch.where(torch.isinf(self.padded), float("nan"), self.padded)
        draw_grid(ax, shown, cell_colors=colors, fontsize=fs,
                  title="input" + (" (padded)" if ph or pw else ""))
        for i, j in zip(*np.nonzero(np.isneginf(self.padded.numpy())), strict=True):
            ax.text(j + 0.5, i + 0.5, "−∞", ha="center", va="center", fontsize=fs,
                    color="#555555")
        top, left = self.window(step)
        outline_box(ax, top, left, *self.kernel_size)
        if winner is not None:
            outline_cells(ax, [winner], color="#b8860b", linewidth=1.5)
        yx = W + 1.5
        filled = (np.arange(self.n_steps) <= step).reshape(tuple(self.Y.shape))
        draw_grid(ax, self.Y, x0=yx, color=COLORS["output"], show=filled, title="output",
                  fontsize=fs)
        i, j = divmod(step, self.Y.shape[1])
        outline_cells(ax, [(i, j)], x0=yx, color=COLORS["current"])
        finish_axes(ax, yx + self.Y.shape[1], max(H, self.Y.shape[0]))
        fig.text(0.5, 0.04, self.equation(step), ha="center", va="center", fontsize=fs + 1,
                 family="monospace")


def interpolation_samples(ndim: int, size: int = 4, seed: int = 0) -> torch.Tensor:
    """A line, grid or volume (``ndim`` = 1, 2, 3) of ``size`` samples per axis, small integers.

    The values are drawn from a seeded generator, so every picture of them is reproducible.
    """
    if ndim not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3 (line, grid, volume), got {ndim!r}")
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 10, (size,) * ndim, generator=generator).float()


def interpolation_path(ndim: int, size: int = 4, n: int = 20) -> list[tuple[float, ...]]:
    """``n`` positions of a point wandering through ``size`` samples per axis (``ndim`` axes).

    On a line, a sweep from near the first sample to near the last; in 2-D and 3-D a smooth
    closed curve (a different slow sine per axis). Rounded to 2 decimals, so an animation shows
    the neighbours and weights changing as the point crosses cells.
    """
    if ndim not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3 (line, grid, volume), got {ndim!r}")
    if ndim == 1:
        return [(round(float(v), 2),) for v in np.linspace(0.15, size - 1.15, n)]
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    centre, radius = (size - 1) / 2, (size - 1) / 2 - 0.15
    axes = [np.sin(t + 0.3), np.sin(2 * t), np.cos(t)][:ndim][::-1]  # (z, y, x) order
    return [tuple(round(float(centre + radius * a[k]), 2) for a in axes) for k in range(n)]


class InterpolationScene(Scene):
    """A point moving between samples: its neighbours, their weights and the interpolated value.

    ``samples`` is a line ``(L,)`` (linear interpolation: 2 neighbours), a grid ``(H, W)``
    (bilinear: 4) or a volume ``(D, H, W)`` (trilinear: 8, drawn as a cube in 3-D). ``path``
    lists the point's positions, in the order ``(x,)``, ``(y, x)`` or ``(z, y, x)`` in sample
    index units; step ``t`` shows ``path[t]``. The neighbours and weights come from
    :func:`~cnnbook.interpolate.linear_weights` (and its 2-D, 3-D versions), the value from
    :func:`~cnnbook.interpolate.linear_at` (and ``bilinear_at``, ``trilinear_at``).
    """

    MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}

    def __init__(self, samples: torch.Tensor, path: Sequence[Sequence[float]]) -> None:
        if samples.dim() not in self.MODES:
            raise ValueError(
                f"samples must be a line (L,), a grid (H, W) or a volume (D, H, W), got shape "
                f"{tuple(samples.shape)}"
            )
        self.samples = samples.detach().float().cpu()
        self.mode = self.MODES[samples.dim()]
        points = [tuple(float(c) for c in p) for p in path]
        if not points or any(len(p) != samples.dim() for p in points):
            raise ValueError(
                f"path must hold at least one position of {samples.dim()} coordinate(s) "
                f"({self.mode} interpolation of samples of shape {tuple(samples.shape)}), "
                f"got {list(path)!r}"
            )
        for p in points:
            for coordinate, size in zip(p, samples.shape, strict=True):
                if not 0 <= coordinate <= size - 1:
                    raise ValueError(
                        f"position {p} lies outside the samples of shape "
                        f"{tuple(samples.shape)}: each coordinate must lie in [0, size - 1]"
                    )
        self.path = points
        self.n_steps = len(points)
        # Small frames: an animation embeds one PNG per step (the notebooks must stay light).
        self.figsize = (5.6, 4.0) if self.mode == "trilinear" else (5.6, 3.6)
        self.dpi = 72

    def weights(self, step: int) -> list[tuple[tuple[int, ...], float]]:
        """The neighbouring samples (index tuples) and their weights at ``step``."""
        p = self.path[step]
        if self.mode == "linear":
            return [((i,), w) for i, w in linear_weights(p[0], self.samples.shape[0])]
        if self.mode == "bilinear":
            return bilinear_weights(*p, tuple(self.samples.shape))
        return trilinear_weights(*p, tuple(self.samples.shape))

    def value(self, step: int) -> float:
        """The interpolated value at ``step``, from the point functions."""
        p = self.path[step]
        if self.mode == "linear":
            return float(linear_at(self.samples, p[0]))
        if self.mode == "bilinear":
            return float(bilinear_at(self.samples, *p))
        return float(trilinear_at(self.samples, *p))

    def equation(self, step: int) -> str:
        """``f(position) = w·f(neighbour) + ... = value`` for ``step``."""
        p = ", ".join(f"{c:.2f}" for c in self.path[step])
        terms = [f"{w:.2f}×{format_value(float(self.samples[idx]))}"
                 for idx, w in self.weights(step)]
        lines = [" + ".join(terms[k : k + 4]) for k in range(0, len(terms), 4)]
        return f"f({p}) = " + "\n   + ".join(lines) + f" = {self.value(step):.3f}"

    def draw(self, fig: Figure, step: int) -> None:
        fig.clear()
        step = int(np.clip(step, 0, self.n_steps - 1))
        {"linear": self._draw_line, "bilinear": self._draw_grid,
         "trilinear": self._draw_cube}[self.mode](fig, step)
        fig.text(0.5, 0.015, self.equation(step), ha="center", va="bottom", fontsize=8.5,
                 family="monospace")

    def _draw_line(self, fig: Figure, step: int) -> None:
        ax = fig.add_axes((0.09, 0.24, 0.88, 0.68))
        values = self.samples.numpy()
        positions = np.arange(len(values))
        ax.plot(positions, values, color=COLORS["muted"], linewidth=1, linestyle="--")
        ax.vlines(positions, 0, values, color=COLORS["muted"], linewidth=1)
        ax.scatter(positions, values, color="#555555", zorder=3, s=25)
        (x,) = self.path[step]
        for (i,), w in self.weights(step):
            ax.scatter([i], [values[i]], color=COLORS["window"], s=90, zorder=4)
            ax.annotate(f"w = {w:.2f}", (i, values[i]), textcoords="offset points",
                        xytext=(0, 9), ha="center", fontsize=9, color=COLORS["window"])
        value = self.value(step)
        ax.scatter([x], [value], color=COLORS["current"], s=80, zorder=5, marker="D")
        ax.axvline(x, color=COLORS["current"], linewidth=0.8, alpha=0.6)
        ax.set_xticks(positions)
        ax.set_ylim(0, max(float(values.max()), 1.0) * 1.25)
        ax.set_xlabel("x (sample index)")
        ax.set_title(f"linear interpolation at x = {x:.2f}: value {value:.3f}", fontsize=10)

    def _draw_grid(self, fig: Figure, step: int) -> None:
        ax = fig.add_axes((0.06, 0.2, 0.7, 0.72))
        h, w = self.samples.shape
        # Background: the bilinear interpolant of the samples, by cnnbook.interpolate with
        # align_corners=True (which puts output corners exactly on the corner samples).
        fine = interpolate(self.samples[None, None], size=(8 * (h - 1) + 1, 8 * (w - 1) + 1),
                           mode="bilinear", align_corners=True)[0, 0]
        ax.imshow(fine.numpy(), extent=(-0.5 / 8, w - 1 + 0.5 / 8, h - 1 + 0.5 / 8, -0.5 / 8),
                  cmap="Greys", vmin=-2, vmax=float(self.samples.max()) + 6, alpha=0.55)
        for i in range(h):
            for j in range(w):
                ax.scatter([j], [i], color="#555555", s=18, zorder=3)
                ax.text(j + 0.07, i - 0.09, format_value(float(self.samples[i, j])),
                        fontsize=9, color="#333333", zorder=4)
        y, x = self.path[step]
        corners = self.weights(step)
        i0, j0 = corners[0][0]
        i1, j1 = corners[-1][0]
        # Each corner's weight is the area of the rectangle opposite it: shade that rectangle
        # in the corner's colour.
        for k, ((i, j), weight) in enumerate(corners):
            ci, cj = (i1 if i == i0 else i0), (j1 if j == j0 else j0)
            top, bottom = sorted((y, float(ci)))
            left, right = sorted((x, float(cj)))
            color = CORNER_COLORS[k if len(corners) == 4 else 0]
            ax.add_patch(Rectangle((left, top), right - left, bottom - top, facecolor=color,
                                   alpha=0.25, edgecolor="none"))
            ax.scatter([j], [i], color=color, s=110, zorder=5, edgecolor="white")
            ax.annotate(f"{weight:.2f}", (j, i), textcoords="offset points",
                        xytext=(-14 if j == j0 else 14, -12 if i == i0 else 12),
                        ha="center", va="center", fontsize=9, color=color, weight="bold")
        ax.scatter([x], [y], color=COLORS["current"], s=80, marker="D", zorder=6)
        ax.set_xlim(-0.4, w - 0.6)
        ax.set_ylim(h - 0.6, -0.4)
        ax.set_xticks(range(w))
        ax.set_yticks(range(h))
        ax.set_xlabel("x (column)")
        ax.set_ylabel("y (row)")
        ax.set_title(f"bilinear at (y, x) = ({y:.2f}, {x:.2f}): {self.value(step):.3f}",
                     fontsize=10)
        fig.text(0.79, 0.85, "weight of a corner\n= area of the\nrectangle opposite\nit "
                 "(same colour)", fontsize=8, va="top")

    def _draw_cube(self, fig: Figure, step: int) -> None:
        import mpl_toolkits.mplot3d  # noqa: F401  (registers the 3-D projection)

        ax = fig.add_axes((0.0, 0.15, 0.78, 0.76), projection="3d")
        z, y, x = self.path[step]
        corners = self.weights(step)
        ks = sorted({c[0][0] for c in corners})
        is_ = sorted({c[0][1] for c in corners})
        js = sorted({c[0][2] for c in corners})
        k0, k1, i0, i1, j0, j1 = ks[0], ks[-1], is_[0], is_[-1], js[0], js[-1]
        # All samples faintly, then the cube around the point (x, y, z drawn as X, Y, Z axes).
        d, h, w = self.samples.shape
        grid = np.stack(np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij"))
        near = ((abs(grid[0] - z) < 1.3) & (abs(grid[1] - y) < 1.3)
                & (abs(grid[2] - x) < 1.3)).ravel()
        ax.scatter(grid[2].ravel()[near], grid[1].ravel()[near], grid[0].ravel()[near],
                   color="#bbbbbb", s=4)
        for a, b in [((k0, i0, j0), (k0, i0, j1)), ((k0, i1, j0), (k0, i1, j1)),
                     ((k1, i0, j0), (k1, i0, j1)), ((k1, i1, j0), (k1, i1, j1)),
                     ((k0, i0, j0), (k0, i1, j0)), ((k0, i0, j1), (k0, i1, j1)),
                     ((k1, i0, j0), (k1, i1, j0)), ((k1, i0, j1), (k1, i1, j1)),
                     ((k0, i0, j0), (k1, i0, j0)), ((k0, i0, j1), (k1, i0, j1)),
                     ((k0, i1, j0), (k1, i1, j0)), ((k0, i1, j1), (k1, i1, j1))]:
            ax.plot([a[2], b[2]], [a[1], b[1]], [a[0], b[0]], color="#777777", linewidth=0.8)
        for (k, i, j), weight in corners:
            ax.scatter([j], [i], [k], color=COLORS["window"], s=20 + 200 * weight,
                       depthshade=False)
            ax.text(j, i, k, f" {format_value(float(self.samples[k, i, j]))} ({weight:.2f})",
                    fontsize=8.5, color=COLORS["text"])
        # The seven lerps: four along x (on the cube's edges), two along y (one per face z),
        # one along z between the two faces.
        edge_points = [(k, i, x) for k in (k0, k1) for i in (i0, i1)]
        ax.scatter([p[2] for p in edge_points], [p[1] for p in edge_points],
                   [p[0] for p in edge_points], color="#1f77b4", s=14, depthshade=False)
        ax.plot([x, x], [y, y], [k0, k1], color=COLORS["current"], linewidth=1.2)
        for k in (k0, k1):
            ax.plot([x, x], [i0, i1], [k, k], color="#1f77b4", linewidth=0.9, linestyle="--")
        ax.scatter([x], [y], [z], color=COLORS["current"], s=60, marker="D", depthshade=False)
        ax.set_xlabel("x", fontsize=8, labelpad=-8)
        ax.set_ylabel("y", fontsize=8, labelpad=-8)
        ax.set_zlabel("z", fontsize=8, labelpad=-8)
        ax.tick_params(labelsize=6, pad=-3)
        # Plain panes without grid lines: clearer, and much smaller PNG frames.
        ax.grid(False)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.pane.set_facecolor("white")
            axis.pane.set_edgecolor("#cccccc")
        # Zoom on the cube around the point: the rest of the volume is context only.
        ax.set_xlim(j0 - 0.35, j1 + 0.35)
        ax.set_ylim(i0 - 0.35, i1 + 0.35)
        ax.set_zlim(k0 - 0.35, k1 + 0.35)
        ax.view_init(elev=22, azim=-58)
        fig.text(0.5, 0.97, f"trilinear at (z, y, x) = ({z:.2f}, {y:.2f}, {x:.2f}): "
                 f"{self.value(step):.3f}", ha="center", va="top", fontsize=10)
        fig.text(0.76, 0.8, "red: the 8 corners\n(size ~ weight)\nblue: 4 lerps along x,\n"
                 "dashed: 2 along y,\ngreen: 1 along z", fontsize=7.5, va="top")


def align_corners_figure(in_size: int = 4, out_size: int = 8) -> Figure:
    """Where each output pixel reads the input, for ``align_corners=False`` and ``True``.

    Both panels are drawn in *input* index units: input pixel ``i`` is the cell
    ``[i - 0.5, i + 0.5]`` with its centre at ``i``. The output pixels are placed where each
    convention puts them, and a line joins each output centre to the source coordinate that
    :func:`cnnbook.interpolate.source_coordinates` computes for it (clamped at 0 for False).
    """
    fig = new_figure(7.5, 3.6)
    for row, align in enumerate((False, True)):
        ax = fig.add_subplot(2, 1, row + 1)
        src = source_coordinates(in_size, out_size, align_corners=align)
        if align:
            step = (in_size - 1) / (out_size - 1)
            centres = np.arange(out_size) * step
        else:
            step = in_size / out_size
            centres = (np.arange(out_size) + 0.5) * step - 0.5
        for i in range(in_size):
            ax.add_patch(Rectangle((i - 0.5, 1.0), 1, 0.6, facecolor=COLORS["input"],
                                   edgecolor="#555555"))
            ax.text(i, 1.3, f"in {i}", ha="center", va="center", fontsize=8)
        for j, c in enumerate(centres):
            ax.add_patch(Rectangle((c - step / 2, -0.6), step, 0.6, facecolor=COLORS["output"],
                                   edgecolor="#555555"))
            ax.text(c, -0.3, str(j), ha="center", va="center", fontsize=7)
            ax.plot([c, float(src[j])], [0.0, 1.0], color=COLORS["window"], linewidth=0.9)
            ax.scatter([float(src[j])], [1.0], color=COLORS["window"], s=12, zorder=3)
        ax.set_xlim(-1.2, in_size + 0.2)
        ax.set_ylim(-0.75, 1.75)
        ax.axis("off")
        formula = ("src = (j + 0.5)·in/out − 0.5, clamped at 0" if not align
                   else "src = j·(in − 1)/(out − 1)")
        ax.set_title(f"align_corners={align}:  {formula}", fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------ chapters 02-03: padding, stride, channels
def shaded_grids_figure(
    grids: Sequence[torch.Tensor],
    titles: Sequence[str],
    *,
    cmap: str = "Blues",
    scale: float = 0.4,
    fontsize: float = 8.0,
) -> Figure:
    """Matrices side by side, each cell numbered and shaded by its value (one shared scale).

    Made for counts, e.g. how many windows read each input pixel: the shading makes the lightly
    used border visible at a glance, the numbers say exactly how lightly.
    """
    if len(grids) != len(titles) or not grids:
        raise ValueError(
            f"shaded_grids_figure needs one title per grid and at least one grid, got "
            f"{len(grids)} grid(s) and {len(titles)} title(s)"
        )
    arrays = [np.asarray(g.detach().cpu() if isinstance(g, torch.Tensor) else g, float)
              for g in grids]
    for a in arrays:
        if a.ndim != 2:
            raise ValueError(f"each grid must be 2-D (rows, columns), got shape {a.shape}")
    import matplotlib as mpl  # the colour map registry; pyplot is never imported

    colormap = mpl.colormaps[cmap]
    top = max(float(a.max()) for a in arrays) or 1.0
    gap = 1.5
    width = sum(a.shape[1] for a in arrays) + gap * (len(arrays) - 1)
    height = max(a.shape[0] for a in arrays)
    fig = new_figure(max(width * scale, 3.0), height * scale + 0.6)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    x0 = 0.0
    for a, title in zip(arrays, titles, strict=True):
        # Light to mid tones only, so the black numbers stay readable on every cell.
        colors = np.empty(a.shape, dtype=object)
        for (i, j), v in np.ndenumerate(a):
            colors[i, j] = mpl.colors.to_hex(colormap(0.08 + 0.55 * v / top))
        draw_grid(ax, a, x0=x0, cell_colors=colors, title=title, fontsize=fontsize)
        x0 += a.shape[1] + gap
    finish_axes(ax, width, height)
    return fig


class MultiChannelScene(Scene):
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
        self.X = X.detach().float().cpu()
        self.K = (K[None] if K.dim() == 3 else K).detach().float().cpu()
        c_o, c_i = self.K.shape[:2]
        if c_i != self.X.shape[0]:
            raise ValueError(
                f"X has {self.X.shape[0]} channels but each kernel has {c_i} (X "
                f"{tuple(self.X.shape)}, K {tuple(self.K.shape)}): a kernel needs one channel "
                "per input channel"
            )
        self.bias = None if bias is None else bias.detach().float().cpu()
        self.stride = positive_pair(stride, "stride")
        self.padding = non_negative_pair(padding, "padding")
        if out_channel is not None and not 0 <= out_channel < c_o:
            raise ValueError(
                f"output channel {out_channel} does not exist: K of shape {tuple(self.K.shape)} "
                f"has {c_o} output channel(s); pick one of 0 .. {c_o - 1}"
            )
        self.out_channel = out_channel
        # The real op computes the output and each channel's part; the scene only draws them.
        self.Y = conv2d(self.X, self.K, self.bias, stride=self.stride, padding=self.padding)
        self.parts = torch.stack(
            [conv2d(self.X[c : c + 1], self.K[:, c : c + 1], stride=self.stride,
                    padding=self.padding) for c in range(c_i)],
            dim=1,
        )  # (c_o, c_i, out_h, out_w): parts[o, c] is channel c's share of output channel o
        ph, pw = self.padding
        self.padded = torch.nn.functional.pad(self.X, (pw, pw, ph, ph))
        self.channels = list(range(c_o)) if out_channel is None else [out_channel]
        self.n_steps = len(self.channels) * self.Y.shape[1] * self.Y.shape[2]
        self.shape = conv_output_shape(tuple(self.X.shape[1:]), tuple(self.K.shape[2:]),
                                       stride=self.stride, padding=self.padding)
        # Layout in cells: one row per input channel on the left, output channels on the right.
        H, W = self.padded.shape[1:]
        kh, kw = self.K.shape[2:]
        oh, ow = self.Y.shape[1:]
        self.row_height = max(H, kh, oh)
        self.row_gap, self.out_gap = 1.7, 1.4
        self.kernel_x = W + 1.2
        self.part_x = self.kernel_x + kw + 1.2
        self.out_x = self.part_x + ow + 2.2
        self.width = self.out_x + ow
        self.height = max(c_i * (self.row_height + self.row_gap) - 0.8,
                          c_o * (oh + self.out_gap) - self.out_gap)
        scale = min(0.42, 6.0 / self.height)
        self.figsize = (max(self.width * scale, 6.0), self.height * scale + 1.4)
        self.fontsize = fontsize or (9 if scale >= 0.36 and max(H, W) <= 8 else 7)

    def position(self, step: int) -> tuple[int, int, int]:
        """``(o, i, j)``: the output channel and element that ``step`` computes."""
        oh, ow = self.Y.shape[1:]
        walk, rest = divmod(step, oh * ow)
        i, j = divmod(rest, ow)
        return self.channels[walk], i, j

    def window_cells(self, step: int) -> list[tuple[int, int]]:
        """The padded cells the window covers at ``step`` (the same on every input channel)."""
        _, i, j = self.position(step)
        (sh, sw), (kh, kw) = self.stride, self.K.shape[2:]
        return [(i * sh + a, j * sw + b) for a in range(kh) for b in range(kw)]

    def channel_equation(self, step: int, c: int) -> str:
        """Input channel ``c``'s products at ``step``, e.g. ``0×0 + 1×1 + 3×2 + 4×3 = 19``."""
        o, i, j = self.position(step)
        terms = [
            f"{format_value(float(self.padded[c, r, s]))}×{format_value(float(k))}"
            for (r, s), k in zip(self.window_cells(step), self.K[o, c].flatten(), strict=True)
        ]
        if len(terms) > 6:
            terms = terms[:3] + ["…"] + terms[-2:]
        return " + ".join(terms) + f" = {format_value(float(self.parts[o, c, i, j]))}"

    def equation(self, step: int) -> str:
        """The sum over input channels (and the bias), e.g. ``Y[0, 0, 0] = 19 + 37 = 56``."""
        o, i, j = self.position(step)
        terms = [format_value(float(v)) for v in self.parts[o, :, i, j]]
        if len(terms) > 6:
            terms = terms[:3] + ["…"] + terms[-2:]
        if self.bias is not None:
            terms.append(f"bias {format_value(float(self.bias[o]))}")
        return f"Y[{o}, {i}, {j}] = " + " + ".join(terms) + (
            f" = {format_value(float(self.Y[o, i, j]))}")

    def caption(self) -> str:
        """Shapes and arguments, and the output shape."""
        pair = lambda v: str(v[0]) if v[0] == v[1] else f"{v}"  # noqa: E731
        c_o, c_i, kh, kw = self.K.shape
        h, w = self.X.shape[1:]
        return (f"input {c_i}×{h}×{w}, kernel {c_o}×{c_i}×{kh}×{kw}, padding "
                f"{pair(self.padding)}, stride {pair(self.stride)}  →  output "
                f"{c_o}×{self.shape[0]}×{self.shape[1]}")

    def draw(self, fig: Figure, step: int) -> None:
        fig.clear()
        step = int(np.clip(step, 0, self.n_steps - 1))
        ax = fig.add_axes((0.01, 0.1, 0.98, 0.78))
        fs = self.fontsize
        fig.text(0.5, 0.975, self.caption(), ha="center", va="top", fontsize=fs)
        o, i, j = self.position(step)
        c_o, c_i = self.K.shape[:2]
        oh, ow = self.Y.shape[1:]
        H, W = self.padded.shape[1:]
        ph, pw = self.padding
        colors = np.full((H, W), COLORS["padding"], dtype=object)
        colors[ph : ph + self.X.shape[1], pw : pw + self.X.shape[2]] = COLORS["input"]
        (sh, sw), (kh, kw) = self.stride, self.K.shape[2:]
        covered = np.zeros((H, W), bool)
        covered[: (oh - 1) * sh + kh, : (ow - 1) * sw + kw] = True
        colors[~covered] = COLORS["dropped"]
        # Elements of channel o computed so far (the walk goes channel by channel).
        walked = self.channels.index(o)
        done = (np.arange(oh * ow) <= i * ow + j).reshape(oh, ow)
        for c in range(c_i):
            y0 = c * (self.row_height + self.row_gap)
            draw_grid(ax, self.padded[c], y0=y0, cell_colors=colors, fontsize=fs,
                      title=f"input channel {c}")
            outline_cells(ax, self.window_cells(step), y0=y0)
            draw_grid(ax, self.K[o, c], x0=self.kernel_x, y0=y0, color=COLORS["kernel"],
                      fontsize=fs, title=f"K[{o}, {c}]")
            outline_box(ax, 0, 0, kh, kw, x0=self.kernel_x, y0=y0)
            draw_grid(ax, self.parts[o, c], x0=self.part_x, y0=y0, color="#fff3bf", show=done,
                      fontsize=fs, title=f"part {c}")
            outline_cells(ax, [(i, j)], x0=self.part_x, y0=y0, color=COLORS["current"])
            mid = y0 + min(H, kh, oh) / 2
            ax.text(W + 0.6, mid, "⋆", ha="center", va="center", fontsize=fs + 9)
            ax.text(self.kernel_x + kw + 0.6, mid, "=", ha="center", va="center",
                    fontsize=fs + 3)
            ax.text(0, y0 + self.row_height + 0.55, self.channel_equation(step, c), ha="left",
                    va="center", fontsize=fs - 0.5, family="monospace", color="#444444")
        ax.text(self.out_x - 1.1, (c_i * (self.row_height + self.row_gap) - self.row_gap) / 2,
                "Σ→", ha="center", va="center", fontsize=fs + 4)
        for q in range(c_o):
            y0 = q * (oh + self.out_gap)
            if q not in self.channels or self.channels.index(q) > walked:
                show = np.zeros((oh, ow), bool)
            elif q == o:
                show = done
            else:
                show = np.ones((oh, ow), bool)
            draw_grid(ax, self.Y[q], x0=self.out_x, y0=y0, color=COLORS["output"], show=show,
                      fontsize=fs, title=f"output channel {q}")
            if q == o:
                outline_cells(ax, [(i, j)], x0=self.out_x, y0=y0, color=COLORS["current"])
        finish_axes(ax, self.width, self.height)
        fig.text(0.5, 0.035, self.equation(step), ha="center", va="center", fontsize=fs + 1,
                 family="monospace")


# ------------------------------------------------------------ convolution types (chapter 04)
#: Output cells that a transposed convolution's padding crops away.
CROPPED = "#e6e6e6"
#: The scaled copy ``X[i, j] * K`` that one input element adds to the output.
SCATTERED = "#fbd0a6"


def dilated_stack_paths(dilations: Sequence[int], kernel_size: int = 3) -> torch.Tensor:
    """For one output pixel of a stack of dilated convolutions: how many paths reach each input.

    The stack has one ``kernel_size`` x ``kernel_size`` single-channel convolution per entry of
    ``dilations`` (stride 1, no padding, every weight 1), on an input just large enough for one
    output pixel. The answer is found by brute force: the gradient of that output pixel with
    respect to the input, computed by autograd through :func:`cnnbook.conv.conv2d`. With all
    weights 1 (all positive, so no contributions cancel), the gradient at an input pixel is the
    number of chains of taps, one tap per layer, that link it to the output: zero exactly on the
    pixels the stack never reads (the holes of the gridding effect). Returns an int64 tensor of
    the receptive field's size, ``1 + sum_l d_l (k - 1)`` on each side.
    """
    k = positive_int(kernel_size, "kernel_size")
    rates = [positive_int(d, f"dilations[{index}]") for index, d in enumerate(dilations)]
    if not rates:
        raise ValueError("dilations is empty: give one dilation rate per layer, e.g. (1, 2, 3)")
    size = 1 + sum(d * (k - 1) for d in rates)
    # float64 keeps the counts exact (they are products of small integers, far below 2**53).
    x = torch.zeros((1, 1, size, size), dtype=torch.float64, requires_grad=True)
    ones = torch.ones((1, 1, k, k), dtype=torch.float64)
    y = x
    for d in rates:
        y = conv2d(y, ones, dilation=d)
    y.sum().backward()  # y is the single output pixel
    return x.grad[0, 0].round().to(torch.int64)


def receptive_field_figure(
    dilation_sets: Sequence[Sequence[int]] = ((2, 2, 2), (1, 2, 3)), kernel_size: int = 3,
) -> Figure:
    """Which input pixels one output pixel of each stack of dilated convolutions reads.

    One panel per entry of ``dilation_sets`` (the dilation rate of each layer): the receptive
    field as a grid, each pixel labelled and shaded by the number of paths that reach it
    (:func:`dilated_stack_paths`), pixels no path reaches (holes) left white and blank, the pixel
    under the output outlined in green.
    """
    counts = [dilated_stack_paths(rates, kernel_size) for rates in dilation_sets]
    if not counts:
        raise ValueError("dilation_sets is empty: give at least one stack, e.g. [(2, 2, 2)]")
    sizes = [c.shape[0] for c in counts]
    gap = 2.0
    width = sum(sizes) + gap * (len(sizes) - 1)
    height = max(sizes)
    scale = 0.32
    fig_w, fig_h = max(width * scale, 5.0), height * scale + 0.95
    fig = new_figure(fig_w, fig_h)
    ax = fig.add_axes((0.01, 0.01, 0.98, 1 - 0.4 / fig_h))
    fontsize = 9 if height <= 15 else 7
    x0 = 0.0
    for rates, count in zip(dilation_sets, counts, strict=True):
        c = count.numpy()
        shade = 0.1 + 0.5 * c / c.max()  # light enough for dark text on every shade
        colors = np.empty(c.shape, dtype=object)
        for index, value in np.ndenumerate(c):
            colors[index] = (_blues(shade[index]) if value else COLORS["pending"])
        labels = np.where(c > 0, c, np.nan)
        read = int((c > 0).sum())
        title = (f"rates {tuple(int(d) for d in rates)}: {c.shape[0]}×{c.shape[1]} field, "
                 f"{read} of {c.size} pixels read")
        draw_grid(ax, labels, x0=x0, cell_colors=colors, fontsize=fontsize)
        ax.text(x0 + c.shape[1] / 2, -0.35, title, ha="center", va="bottom", fontsize=11)
        centre = c.shape[0] // 2
        outline_cells(ax, [(centre, centre)], x0=x0, color=COLORS["current"], linewidth=2.0)
        x0 += c.shape[1] + gap
    finish_axes(ax, width, height)
    fig.text(0.5, 1 - 0.08 / fig_h, f"stacks of {kernel_size}×{kernel_size} kernels, stride 1: "
             "number = paths from the output pixel (green) to that input pixel; white = never "
             "read", ha="center", va="top", fontsize=10)
    return fig


def _blues(value: float) -> tuple[float, float, float, float]:
    """The colour of ``value`` in [0, 1] on matplotlib's ``Blues`` colour map."""
    from matplotlib import colormaps  # a registry lookup, not pyplot: no global figure state

    return colormaps["Blues"](float(value))


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
        self.X, self.K = _input_and_kernel_2d(X, K, "transposed-convolution")
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
        self.fontsize = fontsize or (9 if self.full.shape[1] <= 8 else 7)

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
        pair = lambda v: str(v[0]) if v[0] == v[1] else f"{v}"  # noqa: E731
        fh, fw = self.full.shape
        text = (f"transposed conv: input {self.X.shape[0]}×{self.X.shape[1]}, kernel "
                f"{self.K.shape[0]}×{self.K.shape[1]}, stride {pair(self.stride)}, padding "
                f"{pair(self.padding)}  →  output {self.Y.shape[0]}×{self.Y.shape[1]}")
        if self.padding != (0, 0):
            text += f" (the {fh}×{fw} sum, border of {pair(self.padding)} cropped: grey)"
        return text

    def draw(self, fig: Figure, step: int) -> None:
        fig.clear()
        step = int(np.clip(step, 0, self.n_steps - 1))
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
                  title="sum of the copies",
                  fontsize=fs)
        top, left = self.block(step)
        outline_box(ax, top, left, kh, kw, x0=yx)
        outline_box(ax, ph, pw, H - 2 * ph, W - 2 * pw, x0=yx, color=COLORS["current"],
                    linewidth=2.0, linestyle="--" if ph or pw else "-")
        finish_axes(ax, yx + W, max(n_h, kh, H))
        fig.text(0.5, 0.04, self.equation(step), ha="center", va="center", fontsize=fs,
                 family="monospace")


# ------------------------------------------------------------------------------------- LeNet
def confusion_matrix_figure(
    matrix: torch.Tensor | np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
    scale: float = 0.62,
) -> Figure:
    """A confusion matrix as a heat map: row = true class, column = predicted class.

    ``matrix[i, j]`` counts the examples of class ``i`` that the network put in class ``j``
    (non-negative integers, one row and column per name in ``class_names``). Every cell shows its
    count; the colour is the count as a fraction of its row (the class's recall on the diagonal),
    so that classes of different sizes compare. Each row's label ends with that recall.
    """
    m = np.asarray(matrix.detach().cpu() if isinstance(matrix, torch.Tensor) else matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(
            f"matrix must be square (classes x classes), got shape {tuple(m.shape)}: "
            "rows are true classes, columns predicted ones"
        )
    names = list(class_names)
    if len(names) != m.shape[0]:
        raise ValueError(
            f"class_names has {len(names)} names but the matrix has {m.shape[0]} classes: "
            "pass one name per row"
        )
    if not np.issubdtype(m.dtype, np.number) or np.any(m < 0) or np.any(m != np.round(m)):
        raise ValueError("matrix must hold non-negative integer counts")
    counts = m.astype(np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    # An empty row (a class absent from the data) stays white instead of dividing by zero.
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    k = len(names)
    fig = new_figure(1.9 + scale * k, 1.2 + scale * k)
    ax = fig.add_subplot()
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7.5,
                    color="white" if share[i, j] > 0.55 else COLORS["text"])
    recall = np.diag(share)
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), [f"{n} ({r:.0%})" for n, r in zip(names, recall, strict=True)],
                  fontsize=8)
    ax.set_xlabel("predicted class", fontsize=9)
    ax.set_ylabel("true class (recall)", fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def curves_figure(
    series: dict[str, Sequence[float]],
    *,
    xlabel: str = "epoch",
    ylabel: str = "test accuracy",
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """One line per named series of per-epoch values (epoch 1, 2, ...), with markers.

    Used to compare training runs (e.g. the test accuracy of each LeNet variant after every
    epoch); series may have different lengths.
    """
    if not series:
        raise ValueError("series is empty: pass {name: [value per epoch, ...]}")
    for name, values in series.items():
        if len(values) == 0:
            raise ValueError(f"series {name!r} has no values: pass at least one per series")
    fig = new_figure(8.0, 3.6)
    ax = fig.add_subplot()
    styles = ["-", "--", "-.", ":"]
    for k, (name, values) in enumerate(series.items()):
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, np.asarray(values, dtype=float), styles[k % 4], marker="o",
                markersize=3.5, color=f"C{k % 10}", label=name)
    longest = max(len(v) for v in series.values())
    ax.set_xticks(range(1, longest + 1))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig
