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

from cnnbook.args import non_negative_pair, positive_pair
from cnnbook.conv import conv2d
from cnnbook.shapes import conv_output_shape

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


class SlidingWindowScene(Scene):
    """A kernel sliding over a 2-D input: window, kernel, output filling in, and the arithmetic.

    Step ``t`` shows the window of output element ``t`` (row-major) on the (padded) input, the
    products of the window with the kernel and their sum, and the output filled in up to ``t``.
    Padding cells are grey; with dilation only the cells the kernel touches are outlined (the
    dashed box is the dilated window); input rows/columns that no window reaches, because the
    stride does not divide, are hatched. The output comes from :func:`cnnbook.conv.conv2d`.
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
        if X.dim() != 2 or K.dim() != 2:
            raise ValueError(
                f"the sliding-window scene draws a 2-D input and a 2-D kernel, got shapes "
                f"{tuple(X.shape)} and {tuple(K.shape)}"
            )
        self.X = X.detach().float().cpu()
        self.K = K.detach().float().cpu()
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
