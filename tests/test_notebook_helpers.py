"""The helpers every notebook uses: showing the package's source, and animations whose stored
bytes do not depend on the library versions that drew them."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace

import IPython
import pytest
import torch
from matplotlib.figure import Figure

from cnnbook.animate import animation_html
from cnnbook.conv import conv2d
from cnnbook.draw import SlidingWindowScene, figure_png, new_figure, show_images
from cnnbook.draw.primitives import shown_png
from cnnbook.notebook import register_figure_display, show_source


def test_show_source_is_the_code_in_a_markdown_block() -> None:
    source = show_source(conv2d)
    markdown = source._repr_markdown_()
    assert markdown.startswith("**Source of `cnnbook.conv.conv2d`**")
    body = markdown.split("```python\n", 1)[1].rsplit("\n```", 1)[0]
    assert body == source.code.rstrip()
    assert repr(source) == source.code
    # No pre-rendered HTML: the reader's frontend highlights it, so no Pygments version is
    # baked into the stored output.
    assert not hasattr(source, "_repr_html_")


def test_show_source_fence_is_longer_than_any_backtick_run() -> None:
    def quoted() -> str:
        """Markdown inside: ```python and ```` four."""
        return "````"

    markdown = show_source(quoted)._repr_markdown_()
    fence = re.search(r"^(`+)python$", markdown, re.M).group(1)
    assert len(fence) == 5 and markdown.rstrip().endswith(fence)


def test_animation_frames_carry_no_software_version() -> None:
    scene = SlidingWindowScene(torch.arange(9.0).reshape(3, 3), torch.ones(2, 2))
    html = animation_html(scene, [0, 1])
    frames = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=\\n]+)", html)
    assert len(frames) == 2
    for frame in frames:
        png = base64.b64decode(frame.replace("\\n", ""))
        assert png.startswith(b"\x89PNG") and b"Software" not in png and b"atplotlib" not in png


def test_animation_frames_are_sharp_labelled_and_fit_the_column() -> None:
    import io

    from PIL import Image

    scene = SlidingWindowScene(torch.arange(9.0).reshape(3, 3), torch.ones(2, 2))
    html = animation_html(scene, [0, 1])
    image = re.search(r"<img [^>]*>", html).group(0)
    width = int(re.search(r'width="(\d+)"', image).group(1))
    assert width == round(scene.figsize[0] * scene.dpi)
    assert "max-width: 100%" in image  # scales down to a phone's column
    assert 'alt="Animation in 4 steps: a window slides' in image and "output 2×2" in image
    assert re.search(r'type="range" aria-label="[^"]+"', html), "the frame slider has no label"
    frame = re.search(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)", html).group(1)
    png = Image.open(io.BytesIO(base64.b64decode(frame.replace("\\\n", ""))))
    assert png.width == 2 * width, "frames are drawn at twice the shown size (high-DPI screens)"
    # The site sizes the frame by its width and its smallest text (9-point labels at 80 dpi).
    assert 'class="cnnbook-picture"' in image
    assert f"--width: {width}px; --text: 10;" in image


def test_figures_and_scenes_render_without_software_version() -> None:
    scene = SlidingWindowScene(torch.arange(9.0).reshape(3, 3), torch.ones(2, 2))
    shown, _ = scene._repr_png_()
    for png in (figure_png(show_images([torch.eye(3)])), scene.png(1), shown):
        assert png.startswith(b"\x89PNG") and b"Software" not in png and b"atplotlib" not in png


def test_shown_pictures_are_drawn_at_twice_their_size_and_say_their_text_size() -> None:
    import io

    from PIL import Image

    fig = new_figure(3.0, 2.0)
    fig.text(0.1, 0.5, "small", fontsize=7)
    fig.text(0.1, 0.8, "large", fontsize=14)
    png, metadata = shown_png(fig, dpi=100)
    image = Image.open(io.BytesIO(png))
    # Shown at half its pixel width: sharp on a high-density screen, at its size on any other.
    assert list(metadata) == ["width"] and abs(metadata["width"] - image.width / 2) <= 0.5
    assert image.text == {"cnnbook density": "2", "cnnbook smallest text px": "9.7"}
    scene = SlidingWindowScene(torch.arange(9.0).reshape(3, 3), torch.ones(2, 2))
    png, metadata = scene._repr_png_()
    image = Image.open(io.BytesIO(png))
    assert image.text["cnnbook smallest text px"] == "10"  # the scene's 80 dpi, not 100
    assert metadata["width"] <= scene.figsize[0] * scene.dpi  # cropped, at the scene's dpi


def test_registered_figure_display_uses_the_same_png(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = {}
    formatter = SimpleNamespace(for_type=lambda kind, render: registered.update({kind: render}))
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"image/png": formatter}))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    register_figure_display()
    fig = show_images([torch.eye(3)])
    png, metadata = registered[Figure](fig)
    assert (png, metadata) == shown_png(fig)
    assert png.startswith(b"\x89PNG") and b"Software" not in png
