"""Scenes as animations that play on a static page (no kernel needed).

A scene from :mod:`cnnbook.draw` over its steps becomes a matplotlib animation rendered to
self-contained HTML (``to_jshtml``: the frames are embedded PNGs and the player is inline
JavaScript), which the site shows where the notebook offers a live widget.
"""

from __future__ import annotations

from collections.abc import Sequence

from IPython.display import HTML
from matplotlib.animation import FuncAnimation

from cnnbook.draw import Scene


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
    return animation.to_jshtml(fps=1000 / interval, default_mode="once")


def animate(scene: Scene, steps: Sequence[int] | None = None, *, interval: int = 800) -> HTML:
    """``scene`` as an animation with a player (play, step, speed) that runs in any browser."""
    return HTML(animation_html(scene, steps, interval=interval))
