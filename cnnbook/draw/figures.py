"""Static figures: pictures that do not change over steps.

* :func:`pipeline_figure`: the stages of a CNN, each labelled with the shape it produces;
* :func:`shaded_grids_figure`: matrices of counts, numbered and shaded;
* :func:`receptive_field_figure`: which input pixels a stack of dilated convolutions reads;
* :func:`align_corners_figure`: where each output pixel of an interpolation reads the input;
* :func:`confusion_matrix_figure` and :func:`curves_figure`: how a trained network does.

Every number drawn comes from the package's ops or from the caller's tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnbook.conv import dilated_stack_paths
from cnnbook.draw.primitives import (
    COLORS,
    as_array,
    draw_grid,
    finish_axes,
    new_figure,
    outline_cells,
    shade_cells,
)
from cnnbook.interpolate import source_coordinates

#: The colour of each pipeline stage.
STAGE_COLORS = {
    "input": COLORS["input"], "convolution": COLORS["kernel"], "activation": "#fff3b0",
    "pooling": "#e5d4ef", "normalisation": "#f6d0d0", "flatten": "#eeeeee",
    "fully connected": COLORS["output"], "output": "#b8e0b0",
}


def stage_name(layer: torch.nn.Module) -> str:
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


def pipeline_stages(
    net: torch.nn.Sequential, input_shape: Sequence[int]
) -> list[tuple[str, tuple[int, ...]]]:
    """``(stage name, shape of one example)`` after each layer of ``net``, from the input on.

    The shapes are the real ones: ``net`` runs on a zero input of ``input_shape``.
    """
    x = torch.zeros(tuple(input_shape))
    stages = [("input", tuple(x.shape[1:]))]
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            stages.append((stage_name(layer), tuple(x.shape[1:])))
    stages[-1] = ("output", stages[-1][1])
    return stages


def draw_stage(
    ax: Axes, name: str, shape: tuple[int, ...], cx: float, base: float, biggest: int
) -> None:
    """One pipeline stage centred at ``(cx, base)``, with its name and shape below it.

    Feature maps ``(channels, height, width)`` are a stack of sheets (one per channel, up to 6,
    sized by the map's height relative to the ``biggest``); vectors are a bar.
    """
    if len(shape) == 3:
        channels, height, _ = shape
        size = 0.2 + 0.45 * height / biggest
        sheets = min(channels, 6)
        left = cx - (size + 0.04 * (sheets - 1)) / 2
        for s in range(sheets):
            offset = 0.04 * (sheets - 1 - s)
            ax.add_patch(Rectangle((left + offset, base - size / 2 - offset), size, size,
                                   facecolor=STAGE_COLORS[name], edgecolor="#555555",
                                   linewidth=0.7))
        label = "×".join(map(str, shape))
    else:
        length = 0.2 + 0.7 * min(shape[0], 400) / 400
        ax.add_patch(Rectangle((cx - 0.08, base - length / 2), 0.16, length,
                               facecolor=STAGE_COLORS[name], edgecolor="#555555", linewidth=0.7))
        label = str(shape[0])
    ax.text(cx, base - 0.72, name.replace(" ", "\n"), ha="center", va="center", fontsize=9)
    ax.text(cx, base - 1.0 - 0.22 * (" " in name), label, ha="center", va="center",
            fontsize=8.5, color="#555555")


def pipeline_figure(net: torch.nn.Sequential, input_shape: Sequence[int]) -> Figure:
    """The CNN pipeline of ``net``: input, convolution, activation, pooling, ..., output.

    Each stage is drawn as a stack of feature maps (one sheet per channel, up to 6, sized by
    the map's height) or a bar (vectors), labelled with the real shape that ``net`` produces
    for an input of ``input_shape``.
    """
    stages = pipeline_stages(net, input_shape)
    # Two rows: the feature extractor (maps) above, the classifier (vectors) below.
    split = next(k for k, (_, shape) in enumerate(stages) if len(shape) == 1)
    rows = [stages[:split], stages[split:]]
    per_row = max(len(r) for r in rows)
    fig = new_figure(1.0 * per_row, 4.2)
    ax = fig.add_axes((0, 0, 1, 1))
    biggest = max(shape[1] for _, shape in stages if len(shape) == 3)
    for r, row in enumerate(rows):
        base = 3.05 - 2.0 * r
        for k, (name, shape) in enumerate(row):
            cx = k * 1.0 + 0.5
            draw_stage(ax, name, shape, cx, base, biggest)
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
    arrays = [as_array(g) for g in grids]
    for a in arrays:
        if a.ndim != 2:
            raise ValueError(f"each grid must be 2-D (rows, columns), got shape {a.shape}")
    top = max(float(a.max()) for a in arrays) or 1.0
    gap = 1.5
    width = sum(a.shape[1] for a in arrays) + gap * (len(arrays) - 1)
    height = max(a.shape[0] for a in arrays)
    fig = new_figure(max(width * scale, 3.0), height * scale + 0.6)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    x0 = 0.0
    for a, title in zip(arrays, titles, strict=True):
        draw_grid(ax, a, x0=x0, cell_colors=shade_cells(a, top, cmap), title=title,
                  fontsize=fontsize)
        x0 += a.shape[1] + gap
    finish_axes(ax, width, height)
    return fig


def receptive_field_figure(
    dilation_sets: Sequence[Sequence[int]] = ((2, 2, 2), (1, 2, 3)), kernel_size: int = 3,
) -> Figure:
    """Which input pixels one output pixel of each stack of dilated convolutions reads.

    One panel per entry of ``dilation_sets`` (the dilation rate of each layer): the receptive
    field as a grid, each pixel labelled and shaded by the number of paths that reach it
    (:func:`cnnbook.conv.dilated_stack_paths`), pixels no path reaches (holes) left white and
    blank, the pixel under the output outlined in green.
    """
    counts = [dilated_stack_paths(rates, kernel_size).numpy() for rates in dilation_sets]
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
    for rates, c in zip(dilation_sets, counts, strict=True):
        colors = shade_cells(c, c.max(), light=0.1, span=0.5)
        colors[c == 0] = COLORS["pending"]
        read = int((c > 0).sum())
        title = (f"rates {tuple(int(d) for d in rates)}: {c.shape[0]}×{c.shape[1]} field, "
                 f"{read} of {c.size} pixels read")
        draw_grid(ax, np.where(c > 0, c, np.nan), x0=x0, cell_colors=colors, fontsize=fontsize)
        ax.text(x0 + c.shape[1] / 2, -0.35, title, ha="center", va="bottom", fontsize=11)
        centre = c.shape[0] // 2
        outline_cells(ax, [(centre, centre)], x0=x0, color=COLORS["current"], linewidth=2.0)
        x0 += c.shape[1] + gap
    finish_axes(ax, width, height)
    fig.text(0.5, 1 - 0.08 / fig_h, f"stacks of {kernel_size}×{kernel_size} kernels, stride 1: "
             "number = paths from the output pixel (green) to that input pixel; white = never "
             "read", ha="center", va="top", fontsize=10)
    return fig


def align_corners_figure(in_size: int = 4, out_size: int = 8) -> Figure:
    """Where each output pixel reads the input, for ``align_corners=False`` and ``True``.

    Both panels are drawn in *input* index units: input pixel ``i`` is the cell
    ``[i - 0.5, i + 0.5]`` with its centre at ``i``. The output pixels are placed where each
    convention puts them, and a line joins each output centre to the sampling position that
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


def confusion_counts(
    matrix: torch.Tensor | np.ndarray, class_names: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """``matrix`` as int64 counts and the class names, checked to fit each other."""
    m = as_array(matrix, dtype=None)
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
    return m.astype(np.int64), names


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
    counts, names = confusion_counts(matrix, class_names)
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
