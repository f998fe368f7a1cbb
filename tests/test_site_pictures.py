"""The site sizes each book picture from its PNG (``_ext/cnnbook_site.py``), without a build."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cnnbook.draw import new_figure
from cnnbook.draw.primitives import figure_png, shown_png

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
from cnnbook_site import lighten_page, picture_size  # noqa: E402


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    fig = new_figure(3.0, 1.0)
    fig.text(0.1, 0.5, "a label at seven points", fontsize=7)
    (tmp_path / "book.png").write_bytes(shown_png(fig, dpi=100)[0])
    (tmp_path / "other.png").write_bytes(figure_png(fig, dpi=100))
    return tmp_path


def test_a_book_picture_says_its_width_and_smallest_text(images: Path) -> None:
    width, text = picture_size(images / "book.png")
    assert 80 < width < 150 and text == 9.7  # 7 points at 100 dpi, at the picture's own size
    assert picture_size(images / "other.png") is None


def test_pages_size_book_pictures_and_load_every_picture_lazily(images: Path) -> None:
    width, _ = picture_size(images / "book.png")
    page = ('<p><img alt="A label" class="align-default" src="../_images/book.png" '
            'style="width: 120px;" /></p><img alt="Other" src="../_images/other.png" />')
    html = lighten_page(page, "../", images / "frames", images)
    assert html == (
        '<p><img loading="lazy" alt="A label" src="../_images/book.png" '
        f'class="align-default cnnbook-picture" width="{round(width)}" '
        f'style="--width: {width:g}px; --text: 9.7" /></p>'
        '<img loading="lazy" alt="Other" src="../_images/other.png" />')
