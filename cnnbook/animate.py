"""Scenes as animations that play on a static page (no kernel needed).

A scene from :mod:`cnnbook.draw` over its steps becomes a matplotlib animation rendered to
self-contained HTML (``to_jshtml``: the frames are embedded PNGs and the player is inline
JavaScript), which the site shows where the notebook offers a live widget.
"""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from IPython.display import HTML
from matplotlib.animation import FuncAnimation, HTMLWriter

from cnnbook.draw.display_list import smallest_text_px
from cnnbook.draw.primitives import DENSITY, PNG_METADATA
from cnnbook.draw.scene import Scene

# matplotlib's player takes its button icons from a Font Awesome stylesheet on a CDN; the book
# makes no third-party request, so the icons become plain Unicode symbols.
_ICONS = {  # symbols every font has (the media-control block of Unicode is often missing)
    "fa fa-minus": "−", "fa fa-fast-backward": "«", "fa fa-step-backward": "‹",
    "fa fa-play fa-flip-horizontal": "◀", "fa fa-pause": "||", "fa fa-play": "▶",
    "fa fa-step-forward": "›", "fa fa-fast-forward": "»", "fa fa-plus": "+",
}
_STYLESHEET = re.compile(r'<link rel="stylesheet"\s+href="https?://[^"]+">')
_PLAYER_IMAGE = re.compile(r'<img id="(_anim_img[0-9a-f]+)">')
_PLAYER_SLIDER = re.compile(r'(<input id="_anim_slider[0-9a-f]+" type="range")')


def self_contained(html: str) -> str:
    """``html`` of a matplotlib player without its CDN stylesheet: icons are Unicode symbols."""
    html = _STYLESHEET.sub("", html)
    for css_class, symbol in _ICONS.items():
        html = html.replace(f'<i class="{css_class}"></i>', symbol)
    if "http://" in html or "https://" in html:
        raise RuntimeError("the animation still refers to an external address")
    return html


def accessible(html: str, alt: str, width_px: int, text_px: float) -> str:
    """The player's frame with alt text and its 1x width (scaling down to narrow columns), and a
    label on its frame slider, for screen readers and keyboard users.

    The frame also carries its width and its smallest text (``text_px``, pixels at that width)
    as the CSS variables the site sizes a picture by (``_ext/static/cnnbook.css``).
    """
    html = _PLAYER_IMAGE.sub(
        lambda m: (f'<img id="{m.group(1)}" alt="{html_text.escape(alt)}" width="{width_px}" '
                   f'class="cnnbook-picture" style="--width: {width_px}px; --text: {text_px:g}; '
                   'max-width: 100%; height: auto">'), html)
    return _PLAYER_SLIDER.sub(r'\1 aria-label="Step of the animation"', html)


def animation_html(
    scene: Scene, steps: Sequence[int] | None = None, *, interval: int = 800
) -> str:
    """The HTML of ``scene`` played over ``steps`` (all of them by default)."""
    steps = list(range(scene.n_steps)) if steps is None else list(steps)
    if not steps:
        raise ValueError("an animation needs at least one step")
    fig = scene.figure(steps[0])
    animation = FuncAnimation(
        fig, lambda k: scene.draw(fig, steps[k]), frames=len(steps), interval=interval,
        repeat=False,
    )
    fig.set_dpi(scene.dpi)
    # What ``to_jshtml`` does, with one change: the PNG frames carry the book's PNG metadata
    # (no "Software: matplotlib x.y" tag), like every other picture the book stores.
    writer = HTMLWriter(fps=1000 / interval, embed_frames=True, default_mode="once")
    with TemporaryDirectory() as folder:
        path = Path(folder, "animation.html")
        animation.save(str(path), writer=writer, dpi=DENSITY * scene.dpi,
                       savefig_kwargs={"metadata": PNG_METADATA})
        html = self_contained(path.read_text())
    scene.draw(fig, steps[0])
    return accessible(html, scene.alt_text(), round(fig.get_figwidth() * scene.dpi),
                      smallest_text_px(fig, scene.dpi))


def animate(scene: Scene, steps: Sequence[int] | None = None, *, interval: int = 800) -> HTML:
    """``scene`` as an animation with a player (play, step, speed) that runs in any browser."""
    return HTML(animation_html(scene, steps, interval=interval))
