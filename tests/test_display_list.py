"""The display list: what matplotlib paints, recorded for the site's SVG painter."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from matplotlib.patches import Rectangle
from PIL import Image

from cnnbook.draw.display_list import display_list
from cnnbook.draw.primitives import new_figure
from cnnbook.explorer_export import pack, runs, unpack


def test_a_rectangle_text_line_and_image_in_figure_pixels() -> None:
    fig = new_figure(2.0, 1.0)  # 160 x 80 pixels at 80 dpi
    fig.patch.set_visible(False)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 2)
    ax.set_ylim(1, 0)  # y down, as the scenes draw
    ax.axis("off")
    ax.add_patch(Rectangle((0, 0), 1, 0.5, facecolor="#ff0000", edgecolor="#0000ff",
                           linewidth=1.5, linestyle="--"))
    ax.text(1.5, 0.5, "Ab", fontsize=9, ha="left", va="baseline", family="monospace",
            weight="bold")
    ax.plot([0, 2], [1, 1], color="#00ff00", linewidth=0.75)
    ax.imshow(np.array([[0.0, 1.0], [1.0, 1.0]]), cmap="gray", extent=(1, 2, 1, 0.5),
              interpolation="nearest")
    listed = display_list(fig, 80)
    assert (listed["width"], listed["height"]) == (160, 80)
    kinds = [item[0] for item in listed["items"]]
    assert kinds == ["i", "p", "p", "t"], kinds  # matplotlib's order: by zorder
    image, rect, line, text = listed["items"]
    assert rect[1] == "M0 0H80V40H0Z"  # (0, 0) to (1, 0.5) in data units, y down
    assert rect[2:5] == ["#ff0000", "#0000ff", 1.7]  # 1.5 pt = 1.67 px, to 0.1 px
    assert rect[5]  # dashed
    assert line[1] == "M0 80H160" and line[2] == "none" and line[3] == "#00ff00"
    assert text[:4] == ["t", 120, 40, "Ab"] and text[4] == 10  # 9 pt at 80 dpi
    assert text[6:9] == ["mono", "bold", 0] and text[9] > 0
    x, y, width, height, url = image[1:]
    assert (x, y, width, height) == (80, 40, 80, 40)
    assert url.startswith("data:image/png;base64,")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert pixels[0, 0, 0] < 50 and pixels[-1, -1, 0] > 200  # the dark cell at the top left


def test_runs_and_unpack_restore_every_step() -> None:
    assert runs([3, 4, 5, 9, 10, 2]) == [3, 5, 9, 10, 2, 2]
    steps = [{"width": 10, "height": 5, "items": items} for items in (
        [["p", "M0 0H1", "none", "#000000", 1, ""], ["t", 1, 2, "a", 10, "#000000", "sans",
                                                     "normal", 0, 5]],
        [["p", "M0 0H1", "none", "#000000", 1, ""], ["t", 1, 2, "b", 10, "#000000", "sans",
                                                     "normal", 0, 5]],
    )]
    packed = pack(steps)
    assert len(packed["items"]) == 3  # the shared path once
    for k, step in enumerate(steps):
        assert unpack(packed, k) == step["items"]


@pytest.mark.parametrize("text", ["$x^2$"])
def test_formulas_become_outlines(text: str) -> None:
    fig = new_figure(1.0, 1.0)
    fig.patch.set_visible(False)
    fig.text(0.5, 0.5, text)
    items = display_list(fig, 80)["items"]
    assert items and all(item[0] == "p" for item in items)


@pytest.mark.parametrize("origin", ["upper", "lower"])
def test_an_image_drawn_unsampled_keeps_its_own_pixels(origin: str) -> None:
    """With interpolation="none", the list holds the image at its resolution, placed on the
    axes' box (the painter scales it pixelated): 3x2 pixels, not the 80x40 it covers."""
    fig = new_figure(2.0, 1.0)
    ax = fig.add_axes((0.5, 0.5, 0.5, 0.5))
    ax.imshow(np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]), cmap="gray", aspect="auto",
              interpolation="none", origin=origin)
    ax.axis("off")
    image = next(item for item in display_list(fig, 80)["items"] if item[0] == "i")
    assert image[1:5] == [80, 0, 80, 40]  # the axes' box: the top right quarter
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(image[5].split(",", 1)[1]))))
    assert pixels.shape[:2] == (2, 3)
    top, bottom = pixels[0, 0, 0], pixels[1, 0, 0]  # the left column, as the painter shows it
    dark_at = "top" if top < 50 else "bottom"
    assert dark_at == ("top" if origin == "upper" else "bottom") and max(top, bottom) > 200
