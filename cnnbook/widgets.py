"""Live explorers: a scene from :mod:`cnnbook.draw` plus sliders (needs a running kernel).

An :class:`Explorer` redraws its scene into an ``ipywidgets.Image`` whenever a control moves.
Drawing to PNG bytes (instead of showing a figure through an ``Output`` widget) keeps every
figure inside the widget, works the same in JupyterLab and Colab, and lets tests drive the
controls headless and time each redraw.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence

import ipywidgets as W
import torch

from cnnbook.draw.inside_scene import InsideScene
from cnnbook.draw.interpolation_scene import InterpolationScene
from cnnbook.draw.multi_channel_scene import MultiChannelScene
from cnnbook.draw.pooling_scene import PoolingWindowScene
from cnnbook.draw.scene import Scene
from cnnbook.draw.sliding_window_scene import SlidingWindowScene
from cnnbook.draw.transposed_scene import TransposedConvScene
from cnnbook.examples import (
    channel_example,
    counting_input,
    interpolation_samples,
    kernel,
    kernel_names,
)


class Explorer(W.VBox):
    """Controls on top, the scene's picture below, a step slider with a play button.

    ``make_scene(**values)`` builds the scene from the current values of ``controls``; the
    step slider walks through its steps. Invalid combinations (e.g. a kernel larger than the
    padded input) show the error's message instead of a picture.

    ``site`` bounds the values a control takes on the book's site, where every state is drawn
    ahead of time (:mod:`cnnbook.explorer_export`); a control not named there offers all the
    values it has.
    """

    #: How many drawn pictures an explorer keeps (about 10 kB each).
    kept_pictures = 256

    def __init__(
        self, make_scene: Callable[..., Scene], controls: dict[str, W.ValueWidget],
        *, interval_ms: int = 700,
        acting: Callable[[dict[str, object]], set[str]] | None = None,
        site: dict[str, Sequence[object]] | None = None,
    ) -> None:
        self.make_scene = make_scene
        self.controls = controls
        self.interval_ms = interval_ms
        self.site = dict(site or {})
        unknown = set(self.site) - set(controls)
        if unknown:
            raise ValueError(f"site values for controls the explorer lacks: {sorted(unknown)}")
        # Which controls act for the current values (e.g. no y slider for a 1-D interpolation):
        # the others are hidden, so that every control shown changes the picture.
        self.acting = acting
        self.step = W.IntSlider(value=0, min=0, max=0, description="step",
                                continuous_update=True)
        self.play = W.Play(value=0, min=0, max=0, interval=interval_ms, description="play")
        W.jslink((self.play, "value"), (self.step, "value"))
        self.image = W.Image(format="png")
        self.message = W.HTML()
        self.render_ms: list[float] = []
        # Pictures already drawn, by (scene, step); the lock serialises drawing with the
        # background thread that draws the neighbouring steps ahead of the reader.
        self._pictures: dict[tuple[int, int], bytes] = {}
        self._drawing = threading.Lock()
        self._scene_number = 0
        self.scene: Scene | None = None
        for control in controls.values():
            control.observe(self._rebuild, names="value")
        self.step.observe(self._redraw, names="value")
        self.stepper = W.HBox([self.play, self.step])
        super().__init__([
            W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")),
            self.stepper,
            self.message,
            self.image,
        ])
        self._rebuild()

    def values(self) -> dict[str, object]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def site_values(self, name: str) -> list[object]:
        """The values control ``name`` takes on the site: its ``site`` range, else all."""
        if name in self.site:
            return list(self.site[name])
        control = self.controls[name]
        if hasattr(control, "options"):
            return list(control.options)
        if isinstance(control, W.IntSlider):
            return list(range(control.min, control.max + 1, control.step))
        raise ValueError(f"control {name!r} needs site values: a float slider has too many")

    def _rebuild(self, change: object = None) -> None:
        if self.acting is not None:
            acting = self.acting(self.values())
            for name, control in self.controls.items():
                control.layout.display = None if name in acting else "none"
        try:
            self.scene = self.make_scene(**self.values())
            self._scene_number += 1
        except ValueError as error:
            # The message takes the picture's place: no blank space where the picture was.
            self.scene = None
            self.message.value = f"<b style='color:#b00'>{error}</b>"
            self.image.layout.display = "none"
            return
        self.message.value = ""
        self.image.layout.display = None
        # Shown at the size it is drawn at (not stretched to the cell's width, which blurs it),
        # and narrower only where the notebook is narrower.
        self.image.layout.width = f"{round(self.scene.figsize[0] * self.scene.dpi)}px"
        self.image.layout.max_width = "100%"
        last = self.scene.n_steps - 1
        # A scene of one step has nothing to step through or play.
        self.stepper.layout.display = "none" if last == 0 else None
        # Moving the slider's bounds may or may not fire a change; draw explicitly once.
        with self.step.hold_trait_notifications():
            self.step.max = self.play.max = last
            self.step.value = min(self.step.value, last)
        self._redraw()

    def _redraw(self, change: object = None) -> None:
        if self.scene is None:
            return
        start = time.perf_counter()
        scene, number, step = self.scene, self._scene_number, self.step.value
        self.image.value = self._picture(scene, number, step)
        self.render_ms.append(1000 * (time.perf_counter() - start))
        # While the reader looks, draw the next step (and the one before) in the background:
        # a key press or the play button then finds its picture ready.
        ahead = [s for s in (step + 1, step - 1) if 0 <= s < scene.n_steps
                 and (number, s) not in self._pictures]
        if ahead:
            threading.Thread(target=self._draw_ahead, args=(scene, number, ahead),
                             daemon=True).start()

    def _picture(self, scene: Scene, number: int, step: int) -> bytes:
        """Step ``step`` of ``scene`` (the explorer's scene number ``number``) as PNG bytes,
        drawn once and then kept (the last :attr:`kept_pictures` of them)."""
        key = (number, step)
        with self._drawing:  # matplotlib's fonts are not safe to use from two threads at once
            if key not in self._pictures:
                if len(self._pictures) >= self.kept_pictures:
                    self._pictures.pop(next(iter(self._pictures)))  # the oldest goes
                self._pictures[key] = scene.png(step)
            return self._pictures[key]

    def _draw_ahead(self, scene: Scene, number: int, steps: list[int]) -> None:
        for step in steps:
            if number != self._scene_number:
                return  # the reader moved on to another scene
            self._picture(scene, number, step)

    def median_render_ms(self) -> float:
        """Median time of the redraws so far, in milliseconds."""
        return statistics.median(self.render_ms)


def input_controls(X: torch.Tensor | None, default: int, largest: int) -> dict[str, W.ValueWidget]:
    """A size slider for a counting input, or no control when the caller fixed the input ``X``."""
    if X is not None:
        return {}
    return {"size": W.IntSlider(value=default, min=2, max=largest, description="input size")}


def sliding_window_explorer(X: torch.Tensor | None = None) -> Explorer:
    """Slide a chosen kernel over an input with live padding, stride and dilation.

    With ``X`` given, the input is ``X``; otherwise a size slider picks an ``n x n`` input
    holding ``0 .. n*n - 1`` (default 5x5). The picture's caption gives the output shape and the
    rows/columns a stride that does not divide drops.
    """
    controls = input_controls(X, default=5, largest=9) | {
        "kernel_name": W.Dropdown(options=kernel_names(), value="example 2x2",
                                  description="kernel"),
        "padding": W.IntSlider(value=0, min=0, max=3, description="padding"),
        "stride": W.IntSlider(value=1, min=1, max=4, description="stride"),
        "dilation": W.IntSlider(value=1, min=1, max=3, description="dilation"),
    }

    def make_scene(kernel_name: str, padding: int, stride: int, dilation: int,
                   size: int | None = None) -> SlidingWindowScene:
        image = X if size is None else counting_input(size)
        return SlidingWindowScene(image, kernel(kernel_name), padding=padding, stride=stride,
                                  dilation=dilation)

    return Explorer(make_scene, controls, site={
        "size": range(3, 8), "padding": range(0, 3), "stride": range(1, 4),
        "dilation": range(1, 3)} if X is None else {
        "padding": range(0, 3), "stride": range(1, 4), "dilation": range(1, 3)})


def pooling_explorer(X: torch.Tensor | None = None) -> Explorer:
    """Slide a max or average pooling window over an input with live window, padding, stride.

    With ``X`` given (2-D), the input is ``X``; otherwise a size slider picks an ``n x n`` input
    holding ``0 .. n*n - 1`` (default 4x4, the original article's example). Max pooling marks
    the element each window picks and pads with -inf; impossible combinations (padding more
    than half the window, a window larger than the padded input) show pooling's own error
    message.
    """
    controls = input_controls(X, default=4, largest=8) | {
        "mode": W.Dropdown(options=["max", "avg"], value="max", description="mode"),
        "window": W.IntSlider(value=2, min=1, max=4, description="window"),
        "padding": W.IntSlider(value=0, min=0, max=2, description="padding"),
        "stride": W.IntSlider(value=2, min=1, max=4, description="stride"),
    }

    def make_scene(mode: str, window: int, padding: int, stride: int,
                   size: int | None = None) -> PoolingWindowScene:
        image = X if size is None else counting_input(size)
        return PoolingWindowScene(image, window, mode=mode, stride=stride, padding=padding)

    return Explorer(make_scene, controls, site={
        "size": range(3, 7), "padding": range(0, 3), "stride": range(1, 4)} if X is None else {
        "padding": range(0, 3), "stride": range(1, 4)})


def interpolation_explorer(size: int = 4, seed: int = 0) -> Explorer:
    """Move a point between samples and see its neighbours, their weights and its value.

    ``mode`` picks linear (a line of ``size`` samples: 2 neighbours), bilinear (a ``size x
    size`` grid: 4) or trilinear (a ``size``-cube volume: 8, drawn in 3-D); the sliders ``x``,
    ``y``, ``z`` place the point in sample index units (a mode uses the axes it has). The
    samples are :func:`cnnbook.examples.interpolation_samples` of ``seed``.
    """
    top = float(size - 1)
    slider = lambda name, value: W.FloatSlider(  # noqa: E731
        value=value, min=0.0, max=top, step=0.05, description=name, readout_format=".2f")
    controls: dict[str, W.ValueWidget] = {
        "mode": W.Dropdown(options=["linear", "bilinear", "trilinear"], value="bilinear",
                           description="mode"),
        "x": slider("x", min(0.6, top)),
        "y": slider("y", min(1.3, top)),
        "z": slider("z", min(1.3, top)),
    }
    samples = {ndim: interpolation_samples(ndim, size, seed) for ndim in (1, 2, 3)}

    def make_scene(mode: str, x: float, y: float, z: float) -> InterpolationScene:
        ndim = {"linear": 1, "bilinear": 2, "trilinear": 3}[mode]
        position = (z, y, x)[3 - ndim :]
        return InterpolationScene(samples[ndim], [position])

    def acting(values: dict[str, object]) -> set[str]:
        ndim = {"linear": 1, "bilinear": 2, "trilinear": 3}[str(values["mode"])]
        return {"mode", *("x", "y", "z")[:ndim]}

    # On the site: x and y every quarter of a sample, z every half (a 3-D state takes longest).
    quarter = [k / 4 for k in range(int(4 * top) + 1)]
    return Explorer(make_scene, controls, acting=acting,
                    site={"x": quarter, "y": quarter, "z": quarter[::2]})


def multi_channel_explorer() -> Explorer:
    """Sum per-channel cross-correlations into output channels, live.

    Sliders set the input size, the input and output channels (of
    :func:`cnnbook.examples.channel_example`), padding and stride; ``watch`` walks all output
    channels or only one. The defaults are the original article's example: 2 input channels,
    3 output channels, a 3x3 input and 2x2 kernels.
    """
    controls: dict[str, W.ValueWidget] = {
        "size": W.IntSlider(value=3, min=2, max=5, description="input size"),
        "in_channels": W.IntSlider(value=2, min=1, max=3, description="in channels"),
        "out_channels": W.IntSlider(value=3, min=1, max=3, description="out channels"),
        "padding": W.IntSlider(value=0, min=0, max=2, description="padding"),
        "stride": W.IntSlider(value=1, min=1, max=3, description="stride"),
        "watch": W.Dropdown(options=["all", "0", "1", "2"], value="all",
                            description="out channel"),
    }

    def make_scene(size: int, in_channels: int, out_channels: int, padding: int, stride: int,
                   watch: str) -> MultiChannelScene:
        X, K = channel_example(size, in_channels, out_channels)
        return MultiChannelScene(X, K, stride=stride, padding=padding,
                                 out_channel=None if watch == "all" else int(watch))

    return Explorer(make_scene, controls, site={
        "size": range(2, 5), "padding": range(0, 2), "stride": range(1, 3)})


def transposed_conv_explorer(K: torch.Tensor | None = None) -> Explorer:
    """Scatter-add transposed convolution with live input size, stride and padding.

    The input is ``n x n`` holding ``0 .. n*n - 1`` (a size slider, default 2: the original
    article's ``[[0, 1], [2, 3]]``); the kernel is ``K``, by default that same 2x2 matrix. The
    step slider walks through the input elements, each adding its scaled copy of the kernel; a
    padding that crops the whole output shows :func:`cnnbook.transposed.trans_conv`'s own
    message.
    """
    kernel_ = kernel("example 2x2") if K is None else K
    controls: dict[str, W.ValueWidget] = {
        "size": W.IntSlider(value=2, min=1, max=4, description="input size"),
        "stride": W.IntSlider(value=1, min=1, max=3, description="stride"),
        "padding": W.IntSlider(value=0, min=0, max=2, description="padding"),
    }

    def make_scene(size: int, stride: int, padding: int) -> TransposedConvScene:
        X = counting_input(size)
        return TransposedConvScene(X, kernel_, stride=stride, padding=padding)

    return Explorer(make_scene, controls)


def inside_explorer(nets: dict[str, torch.nn.Sequential], images: torch.Tensor,
                    labels: torch.Tensor, class_names: list[str] | tuple[str, ...],
                    per_class: int = 10) -> Explorer:
    """Pick a network and a class; the step slider walks through that class's images.

    Every panel of :class:`~cnnbook.draw.inside_scene.InsideScene` follows: the image, every
    layer's output and the class scores. ``images`` and ``labels`` are a test set; the class
    ``"one of each"`` (the default) shows the first image of every class, in class order, the
    same images as the chapter's animation. Drawing an image of your own needs a canvas that
    ipywidgets does not have; pass it as ``images`` (with any label) instead.
    """
    labels = labels.cpu()
    choices = ["one of each", *class_names]
    controls: dict[str, W.ValueWidget] = {
        "network": W.Dropdown(options=list(nets), value=next(iter(nets)), description="network"),
        "shown": W.Dropdown(options=choices, value=choices[0], description="class"),
    }

    def make_scene(network: str, shown: str) -> InsideScene:
        if shown == "one of each":
            index = torch.stack([(labels == c).nonzero()[0, 0] for c in range(len(class_names))
                                 if (labels == c).any()])
        else:
            index = (labels == class_names.index(shown)).nonzero()[:per_class, 0]
        if len(index) == 0:
            raise ValueError(f"no image of class {shown!r} among the images given")
        return InsideScene(nets[network], images[index.to(images.device)], labels[index],
                           class_names, title=network)

    return Explorer(make_scene, controls, interval_ms=1200)
