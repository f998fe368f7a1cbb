"""A drawn figure as a display list: the shapes, text and images matplotlib would paint.

The site's explorers redraw without a kernel. Every state of an explorer is drawn by the same
scene code as the notebook's widget, but onto a :class:`DisplayListRenderer`, which records
what matplotlib asks a renderer to paint (paths, text, images, in figure pixels, y pointing
down) instead of painting it. A small, generic SVG painter in the browser
(``_ext/static/cnnbook-explorer.js``) paints the list; it knows nothing about convolutions.

Each item is a short list, so that thousands of states stay small as JSON:

* ``["p", d, fill, stroke, width, dashes]``: an SVG path ``d``; ``fill`` and ``stroke`` are
  colours (``#rrggbb`` or ``#rrggbbaa``) or ``"none"``; ``width`` and ``dashes`` in pixels;
* ``["t", x, y, text, size, colour, family, weight, angle, length]``: one line of text (family
  ``sans`` or ``mono``, weight ``normal`` or ``bold``) whose
  baseline starts at ``(x, y)``, ``size`` in pixels, turned ``angle`` degrees anticlockwise
  about that point and stretched to matplotlib's measured ``length`` (so the layout holds in any
  browser font);
* ``["i", x, y, width, height, png]``: an image (a ``data:`` URL) with its top-left corner at
  ``(x, y)``.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.backend_bases import GraphicsContextBase, RendererBase
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.transforms import Affine2DBase
from PIL import Image

Item = list[Any]

#: Coordinates are rounded to this many decimals of a pixel: finer than any screen shows, and
#: the same on every machine.
DECIMALS = 1
#: Text is ``sans`` or ``mono``; the painter asks the browser for the font matplotlib measured
#: with (DejaVu), or the browser's own.
FAMILIES = {"monospace": "mono", "sans-serif": "sans"}


def _number(value: float) -> float | int:
    """``value`` rounded to :data:`DECIMALS`, as an int when it is whole (shorter JSON)."""
    rounded = round(float(value), DECIMALS)
    return int(rounded) if rounded.is_integer() else rounded


def _colour(rgba: Any, alpha: float | None = None) -> str:
    """A matplotlib colour as ``#rrggbb`` (``#rrggbbaa`` when not opaque), ``none`` if absent."""
    if rgba is None:
        return "none"
    rgba = list(mcolors.to_rgba(rgba))
    if alpha is not None:
        rgba[3] = alpha if len(rgba) < 4 else rgba[3] * alpha if rgba[3] < 1 else alpha
    if rgba[3] == 0:
        return "none"
    return mcolors.to_hex(rgba, keep_alpha=rgba[3] < 1)


class DisplayListRenderer(RendererBase):
    """A matplotlib renderer that records the figure's drawing as a display list (``items``)."""

    def __init__(self, width: float, height: float, dpi: float) -> None:
        super().__init__()
        self.width, self.height, self.dpi = width, height, dpi
        # Text is measured exactly as the Agg backend (the notebook's PNGs) measures it.
        self._measure = RendererAgg(1, 1, dpi)
        self.items: list[Item] = []

    # What matplotlib asks of every renderer.
    def get_canvas_width_height(self) -> tuple[float, float]:
        return self.width, self.height

    def points_to_pixels(self, points: float) -> float:
        return points * self.dpi / 72

    def get_text_width_height_descent(self, s: str, prop: FontProperties,
                                      ismath: bool | str) -> tuple[float, float, float]:
        return self._measure.get_text_width_height_descent(s, prop, ismath)

    def option_image_nocomposite(self) -> bool:
        return True  # each image its own item: no compositing into one bitmap

    def draw_path(self, gc: GraphicsContextBase, path: Path, transform: Affine2DBase,
                  rgbFace: Any = None) -> None:
        d = self._path_data(path, transform)
        if not d:
            return
        alpha = gc.get_alpha() if gc.get_forced_alpha() else None
        fill = _colour(rgbFace, alpha) if rgbFace is not None else "none"
        width = self.points_to_pixels(gc.get_linewidth())
        stroke = _colour(gc.get_rgb(), alpha) if width > 0 else "none"
        offset, dashes = gc.get_dashes()
        dash = (" ".join(str(_number(self.points_to_pixels(d))) for d in dashes)
                if dashes is not None and stroke != "none" else "")
        if fill == "none" and stroke == "none":
            return
        self.items.append(["p", d, fill, stroke, _number(width) if stroke != "none" else 0,
                           dash])

    def _path_data(self, path: Path, transform: Affine2DBase) -> str:
        """SVG path data of ``path`` in figure pixels, y pointing down."""
        parts = []
        here = None
        for vertices, code in path.iter_segments(transform, remove_nans=True, simplify=False):
            points = [(_number(x), _number(self.height - y)) for x, y in vertices.reshape(-1, 2)]
            xy = " ".join(f"{x} {y}" for x, y in points)
            if code == Path.MOVETO:
                parts.append(f"M{xy}")
            elif code == Path.LINETO and here is not None and points[0][1] == here[1]:
                parts.append(f"H{points[0][0]}")  # the grids' edges: shorter as H and V
            elif code == Path.LINETO and here is not None and points[0][0] == here[0]:
                parts.append(f"V{points[0][1]}")
            elif code == Path.LINETO:
                parts.append(f"L{xy}")
            elif code == Path.CURVE3:
                parts.append(f"Q{xy}")
            elif code == Path.CURVE4:
                parts.append(f"C{xy}")
            elif code == Path.CLOSEPOLY:
                parts.append("Z")
            here = points[-1] if code != Path.CLOSEPOLY else here
        return "".join(parts)

    def draw_text(self, gc: GraphicsContextBase, x: float, y: float, s: str,
                  prop: FontProperties, angle: float, ismath: bool | str = False,
                  mtext: Any = None) -> None:
        if ismath:
            # Formulas are drawn as their glyph outlines: the painter needs no math fonts.
            self._draw_text_as_path(gc, x, y, s, prop, angle, ismath, mtext)
            return
        width, _, _ = self.get_text_width_height_descent(s, prop, ismath)
        family = prop.get_family()[0]
        weight = prop.get_weight()
        self.items.append([
            "t", _number(x), _number(y), s, _number(self.points_to_pixels(prop.get_size())),
            _colour(gc.get_rgb(), gc.get_alpha() if gc.get_forced_alpha() else None),
            FAMILIES.get(family, FAMILIES["sans-serif"]),
            "bold" if weight in ("bold", "heavy", "black") or weight == 700 else "normal",
            _number(angle), _number(width),
        ])

    def option_scale_image(self) -> bool:
        # An image drawn with interpolation="none" comes at its own resolution with the
        # transform that places it (a few hundred bytes for a 28x28 map, instead of the map
        # resampled to screen pixels); the painter scales it, pixelated.
        return True

    def draw_image(self, gc: GraphicsContextBase, x: float, y: float, im: np.ndarray,
                   transform: Affine2DBase | None = None) -> None:
        rows, cols = im.shape[:2]
        pixels = np.asarray(im)
        if transform is None:  # resampled to screen pixels, bottom-left corner at (x, y)
            left, bottom, width, height = x, y, cols, rows
            pixels = pixels[::-1]  # its rows come bottom first (y pointing up)
        else:  # ``transform`` takes the unit square to the image's box, offset from (x, y)
            (x0, y0), (x1, y1) = transform.transform([(0, 0), (1, 1)])
            if transform.get_matrix()[0, 1] or transform.get_matrix()[1, 0]:
                raise ValueError("the display list holds images that are not turned")
            left, bottom = x + min(x0, x1), y + min(y0, y1)
            width, height = abs(x1 - x0), abs(y1 - y0)
            # Row 0 lies where the transform puts 0: at the bottom if y grows from it.
            pixels = pixels[::-1] if y1 > y0 else pixels
            pixels = pixels[:, ::-1] if x1 < x0 else pixels
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="png", optimize=True)
        url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        self.items.append(["i", _number(left), _number(self.height - bottom - height),
                           _number(width), _number(height), url])


_renderers: dict[float, DisplayListRenderer] = {}


def display_list(fig: Figure, dpi: float) -> dict[str, Any]:
    """What ``fig`` paints at ``dpi``: ``{"width", "height", "items"}`` in pixels."""
    width, height = fig.get_figwidth() * dpi, fig.get_figheight() * dpi
    # One renderer per resolution, so that matplotlib's cache of text sizes (kept per renderer)
    # serves every figure: measuring text is most of the time a figure takes to draw.
    renderer = _renderers.setdefault(dpi, DisplayListRenderer(width, height, dpi))
    renderer.width, renderer.height, renderer.items = width, height, []
    saved = fig.dpi
    fig.set_dpi(dpi)
    try:
        fig.draw(renderer)
    finally:
        fig.set_dpi(saved)
    return {"width": _number(width), "height": _number(height), "items": renderer.items}


def text_boxes(items: list[Item]) -> list[tuple[float, float, float, float, str, float]]:
    """The box each text item of a display list covers: ``(left, top, right, bottom, text,
    size)`` in pixels, y pointing down; a turned text's box holds the turned line."""
    boxes = []
    for item in items:
        if item[0] != "t" or not str(item[3]).strip():
            continue
        x, y, text, size, angle, length = item[1], item[2], item[3], item[4], item[8], item[9]
        # The line from its baseline: ascent above (y up in the text's own frame), descent below.
        corners = np.array([(0, 0.76 * size), (length, 0.76 * size), (0, -0.24 * size),
                            (length, -0.24 * size)])
        turn = np.radians(angle)
        rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        turned = corners @ rotation.T
        xs, ys = x + turned[:, 0], y - turned[:, 1]
        boxes.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()), text,
                      float(size)))
    return boxes


def smallest_text_px(fig: Figure, dpi: float) -> float | None:
    """The size in pixels of the smallest text ``fig`` writes at ``dpi`` (None if none)."""
    sizes = [box[5] for box in text_boxes(display_list(fig, dpi)["items"])]
    return min(sizes) if sizes else None


def text_problems(picture: dict[str, Any], smallest_px: float, slack: float = 1.0) -> list[str]:
    """What is wrong with the text of a drawn ``picture`` (a :func:`display_list`): text under
    ``smallest_px``, text past the picture's edge, and lines that overlap (by over ``slack``
    pixels both ways), each in words. A picture with none of these returns ``[]``."""
    boxes = text_boxes(picture["items"])
    problems = [f"{text!r} is {size:g} px" for *_, text, size in boxes if size < smallest_px]
    problems += [f"{text!r} crosses the edge" for left, top, right, bottom, text, _ in boxes
                 if left < -slack or top < -slack or right > picture["width"] + slack
                 or bottom > picture["height"] + slack]
    if len(boxes) > 1:
        # Every pair at once: a scene writes hundreds of labels.
        left, top, right, bottom = np.array([box[:4] for box in boxes]).T
        wide = np.minimum(right[:, None], right) - np.maximum(left[:, None], left) > slack
        tall = np.minimum(bottom[:, None], bottom) - np.maximum(top[:, None], top) > slack
        for a, b in zip(*np.nonzero(np.triu(wide & tall, k=1)), strict=True):
            problems.append(f"{boxes[a][4]!r} overlaps {boxes[b][4]!r}")
    return problems
