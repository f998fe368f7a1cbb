"""Inside a trained network: one image's activations after every layer, one image per step.

:class:`InsideScene` draws, for each image of a batch (one step per image), the image, the
output of every layer of the network (the stacks of feature maps as rows of small images, the
vectors of the dense layers as strips) and the class scores as bars. The numbers are the ones
:func:`cnnbook.probes.activations` records with forward hooks, so the picture shows exactly what
the network computed; any ``nn.Sequential`` of the book works, nothing is wired to LeNet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from cnnbook.draw.primitives import as_array
from cnnbook.draw.scene import MIN_FONTSIZE, Scene
from cnnbook.probes import activations

#: Colour of the true class's bar, and of a wrong prediction's.
RIGHT, WRONG = "#2ca02c", "#d62728"


def mosaic(maps: torch.Tensor | np.ndarray, per_row: int = 16) -> np.ndarray:
    """Maps ``(C, h, w)`` tiled ``per_row`` to a row with a one-pixel gap (NaN) between them."""
    maps = as_array(maps)
    if maps.ndim != 3:
        raise ValueError(f"mosaic tiles maps (C, h, w), got shape {maps.shape}")
    C, h, w = maps.shape
    cols = min(C, per_row)
    rows = math.ceil(C / cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for c in range(C):
        r, k = divmod(c, cols)
        out[r * (h + 1) : r * (h + 1) + h, k * (w + 1) : k * (w + 1) + w] = maps[c]
    return out


def color_scale(values: torch.Tensor) -> dict[str, object]:
    """``imshow`` arguments for a layer's values: diverging around 0 if any is negative."""
    low, high = float(values.min()), float(values.max())
    if low < 0:
        bound = max(-low, high) or 1.0
        return {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    return {"cmap": "magma", "vmin": 0.0, "vmax": high or 1.0}


class InsideScene(Scene):
    """Step ``t``: image ``t``, every layer's output for it, and its class scores.

    ``images`` is ``(N, C, H, W)``; ``labels`` (optional) the true classes, whose bar is green
    (a wrong prediction's bar is red). Each layer keeps one colour scale over all the images of
    the scene, so that a map that is brighter for one image than for another really is larger.
    ``title`` names the network in the caption.
    """

    #: Inches per map pixel; rows of small maps get at least ``min_map_height`` inches.
    pixel: float = 0.018
    min_map_height: float = 0.34
    width: float = 10.0
    left_width: float = 2.6

    def __init__(self, net: nn.Sequential, images: torch.Tensor,
                 labels: torch.Tensor | Sequence[int] | None = None,
                 class_names: Sequence[str] | None = None, title: str = "network",
                 per_row: int = 16) -> None:
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) == 0:
            raise ValueError("images must be a non-empty batch (N, C, H, W)")
        self.images = images.detach().cpu()
        self.layers = activations(net, images)
        self.scores = self.layers[-1].output.cpu()
        if self.scores.dim() != 2:
            raise ValueError(f"the network's output must be scores (N, classes), got shape "
                             f"{tuple(self.scores.shape)}")
        classes = self.scores.shape[1]
        self.class_names = list(class_names or [f"class {k}" for k in range(classes)])
        if len(self.class_names) != classes:
            raise ValueError(f"{len(self.class_names)} class names for {classes} scores")
        self.labels = None if labels is None else torch.as_tensor(labels).cpu().long()
        if self.labels is not None and len(self.labels) != len(images):
            raise ValueError("labels must have one entry per image")
        self.predicted = self.scores.argmax(dim=1)
        self.title, self.per_row = title, per_row
        self.n_steps = len(images)
        self.scales = [color_scale(layer.output) for layer in self.layers]
        self.rows = [self._row_height(layer.output) for layer in self.layers]
        self.figsize = (self.width, max(sum(self.rows) + 0.55, 4.6))

    def _row_height(self, output: torch.Tensor) -> float:
        """Inches the drawing of a layer's output takes, its label included.

        A row of maps that would be wider than the room beside the input is drawn lower
        instead, so that every map keeps its shape.
        """
        if output.dim() == 4:
            C, h, w = output.shape[1:]
            cols = min(C, self.per_row)
            rows = math.ceil(C / cols)
            height = rows * max(h * self.pixel, self.min_map_height) + 0.04 * (rows - 1)
            tall, wide = rows * (h + 1) - 1, cols * (w + 1) - 1  # the mosaic, in map pixels
            return 0.2 + min(height, self.maps_width * tall / wide)
        return 0.2 + 0.18

    @property
    def maps_width(self) -> float:
        """Inches of room for the layers' maps, right of the input and the scores."""
        return self.width - self.left_width - 0.3

    def caption(self, step: int) -> str:
        """The network, the image's index and its true and predicted classes."""
        predicted = self.class_names[int(self.predicted[step])]
        text = f"{self.title}: image {step + 1} of {self.n_steps}"
        if self.labels is not None:
            text += f", a {self.class_names[int(self.labels[step])]}"
        return text + f"; predicted: {predicted}"

    def alt_text(self) -> str:
        """What an animation of this scene shows, in words."""
        return (f"Animation in {self.n_steps} steps: for one image per step, the {self.title}'s "
                f"output after each of its {len(self.layers)} layers, from the feature maps to "
                "the class scores")

    def draw_step(self, fig: Figure, step: int) -> None:
        W, H = self.figsize
        fig.text(0.01, 1 - 0.12 / H, self.caption(step), ha="left", va="top", fontsize=10)
        self._draw_input_and_scores(fig, step)
        x0 = W - 0.1 - self.maps_width
        top = H - 0.4
        for layer, scale, height in zip(self.layers, self.scales, self.rows, strict=True):
            output = layer.output[step].cpu()
            shape = " × ".join(str(s) for s in output.shape)
            if output.dim() == 3:
                picture = mosaic(output, self.per_row)
                h_in = height - 0.2
                w_in = picture.shape[1] * h_in / picture.shape[0]  # fits: see _row_height
            else:
                picture = as_array(output)[None]
                h_in = 0.18
                w_in = min(max(0.05 * picture.shape[1], 0.8), self.maps_width)
            ax = fig.add_axes((x0 / W, (top - height) / H, w_in / W, h_in / H))
            # "none" draws each map pixel as a block, like "nearest", and lets the site's copy
            # of the scene (cnnbook.draw.display_list) keep the map at its own resolution.
            ax.imshow(picture, aspect="auto", interpolation="none", **scale)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0, 1.02, f"{layer.name}: {shape}", transform=ax.transAxes, ha="left",
                    va="bottom", fontsize=MIN_FONTSIZE)
            top -= height

    def _draw_input_and_scores(self, fig: Figure, step: int) -> None:
        W, H = self.figsize
        image = self.images[step]
        ax = fig.add_axes((0.15 / W, (H - 0.55 - 2.0) / H, 2.0 / W, 2.0 / H))
        ax.imshow(as_array(image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)),
                  cmap="gray", vmin=0.0, vmax=1.0, interpolation="none")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("input " + " × ".join(str(s) for s in image.shape), fontsize=MIN_FONTSIZE)
        bars = fig.add_axes((1.15 / W, 0.4 / H, (self.left_width - 1.2) / W,
                             min(2.4, H - 3.3) / H))
        scores = as_array(self.scores[step])
        colors = ["#9ecae1"] * len(scores)
        predicted = int(self.predicted[step])
        if self.labels is not None and int(self.labels[step]) != predicted:
            colors[predicted] = WRONG
        if self.labels is not None:
            colors[int(self.labels[step])] = RIGHT
        positions = np.arange(len(scores))
        bars.barh(positions, scores, color=colors)
        bars.set_yticks(positions, self.class_names, fontsize=MIN_FONTSIZE)
        bars.invert_yaxis()
        bars.axvline(0, color="#555555", linewidth=0.6)
        bars.tick_params(axis="x", labelsize=MIN_FONTSIZE)
        bars.set_title("class scores", fontsize=MIN_FONTSIZE)
        _despine(bars)


def _despine(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
