"""Drawing primitives: the palette, a matrix as a grid of numbered cells, a figure as PNG bytes.

Coordinates are in cells, y pointing down: row ``i`` of a grid placed at ``(x0, y0)`` spans
``y0 + i .. y0 + i + 1``. Figures are made with :class:`matplotlib.figure.Figure`, not
``pyplot``: nothing is shown or leaked behind the caller's back (a widget redraw must not print
a figure into the cell).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnbook.draw.display_list import smallest_text_px

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

#: PNG metadata of every stored picture: no "Software: matplotlib x.y" tag, so that a stored
#: page does not change with every matplotlib release.
PNG_METADATA = {"Software": None}


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure (inches) with an Agg canvas and no pyplot state."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure, dpi: float = 80, *, tight: bool = False,
               metadata: dict[str, str] | None = None) -> bytes:
    """Render ``fig`` to PNG bytes; ``tight`` crops the blank margin around the drawing;
    ``metadata`` adds text entries to the PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={**PNG_METADATA, **(metadata or {})},
                bbox_inches="tight" if tight else None)
    return buffer.getvalue()


#: Pictures are rendered at this multiple of their resolution and shown at their own size, so
#: that they stay sharp on high-density screens.
DENSITY = 2
#: The PNG text entries of a shown picture: its density, and its smallest text in CSS pixels
#: when shown at its own size. The site reads them to let a picture shrink in a narrow column
#: only as far as its text stays readable (``_ext/cnnbook_site.py``).
DENSITY_KEY = "cnnbook density"
TEXT_KEY = "cnnbook smallest text px"


def shown_png(fig: Figure, dpi: float | None = None) -> tuple[bytes, dict[str, int]]:
    """``fig`` as the book shows it: a cropped PNG at :data:`DENSITY` times ``dpi`` (the
    figure's own by default), and the display metadata that shows it at its own size.

    Returned as ``(png, {"width": css_pixels})``, the pair IPython takes from a PNG formatter
    or ``_repr_png_``: JupyterLab, Colab and the site show the picture that wide.
    """
    dpi = dpi or fig.dpi
    text = smallest_text_px(fig, dpi)
    entries = {DENSITY_KEY: str(DENSITY)}
    if text is not None:
        entries[TEXT_KEY] = f"{text:g}"
    png = figure_png(fig, dpi=DENSITY * dpi, tight=True, metadata=entries)
    width = int.from_bytes(png[16:20], "big")  # the PNG header's width field
    return png, {"width": round(width / DENSITY)}


def format_value(value: float) -> str:
    """A cell label: integers without a decimal point, other values with up to 2 decimals."""
    if np.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_pair(value: tuple[int, int]) -> str:
    """A ``(height, width)`` argument as a caption shows it: ``2`` when both are 2."""
    return str(value[0]) if value[0] == value[1] else f"{value}"


def elide(terms: list[str], most: int, head: int) -> list[str]:
    """``terms`` if there are at most ``most`` of them, else the first ``head``, …, the last 2."""
    return terms if len(terms) <= most else terms[:head] + ["…"] + terms[-2:]


def as_array(values: torch.Tensor | np.ndarray, dtype: type | None = float) -> np.ndarray:
    """``values`` (a tensor on any device, an array or nested lists) as a NumPy array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
    return np.asarray(values, dtype)


def shade_cells(
    values: np.ndarray, top: float, cmap: str = "Blues", *, light: float = 0.08,
    span: float = 0.55,
) -> np.ndarray:
    """An object array of colours, each cell shaded by ``value / top`` on the colour map ``cmap``.

    Only light to mid tones (``light`` to ``light + span`` of the map), so that the black
    numbers stay readable on every cell.
    """
    colormap = colormaps[cmap]
    colors = np.empty(values.shape, dtype=object)
    for index, value in np.ndenumerate(values):
        colors[index] = to_hex(colormap(light + span * float(value) / top))
    return colors


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

    ``cell_colors`` (an object array of colour strings) overrides ``color`` per cell; ``show``
    (a boolean array) hides the labels of cells not computed yet.
    """
    v = as_array(values)
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
    symmetric: bool | Sequence[bool] = False,
) -> Figure:
    """A row (or grid) of 2-D images with titles, e.g. an image and its filtered versions.

    ``symmetric`` centres the colour map on 0 (for filter responses that can be negative); a
    sequence gives one flag per image, so that inputs stay grey next to their responses.
    """
    n = len(images)
    flags = [symmetric] * n if isinstance(symmetric, bool) else list(symmetric)
    if len(flags) != n:
        raise ValueError(f"symmetric has {len(flags)} flags for {n} images: give one per image")
    cols = cols or n
    rows = (n + cols - 1) // cols
    fig = new_figure(scale * cols, scale * rows + 0.3 * (titles is not None))
    for k, image in enumerate(images):
        ax = fig.add_subplot(rows, cols, k + 1)
        array = image.detach().cpu().float().numpy()
        if flags[k]:
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
