"""Static figures of what :mod:`cnnbook.probes` measures in a trained network.

* :func:`kernels_figure`: learned kernels as grids of their values, each above the hand-made
  kernel it resembles most, with the cosine similarity;
* :func:`patches_figure`: for each channel, the input patches that excite it most;
* :func:`evidence_figure`: images with their occlusion and saliency maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from cnnbook.draw.inside_scene import mosaic
from cnnbook.draw.primitives import as_array, draw_grid, finish_axes, new_figure, shade_cells
from cnnbook.probes import KernelMatch, TopPatches


def _signed_colors(values: np.ndarray, bound: float) -> np.ndarray:
    """Light blue for negative, light red for positive cells, by ``|value| / bound``."""
    negative = shade_cells(np.abs(values), bound, "Blues", light=0.0, span=0.6)
    positive = shade_cells(np.abs(values), bound, "Reds", light=0.0, span=0.6)
    return np.where(values < 0, negative, positive)


def kernels_figure(learned: torch.Tensor, matches: Sequence[KernelMatch],
                   references: Mapping[str, torch.Tensor], *, cols: int = 4,
                   title: str | None = None) -> Figure:
    """Each learned kernel (``(C, k, k)``, values printed) above its nearest hand-made kernel.

    The hand-made kernel is drawn where it fits best inside the learned one (its ``offset``),
    with the sign the match found; the label gives its name and the cosine similarity.
    """
    kernels = as_array(learned)
    C, kh, kw = kernels.shape
    if len(matches) != C:
        raise ValueError(f"{len(matches)} matches for {C} kernels")
    cols = min(cols, C)
    rows = -(-C // cols)
    block_w, block_h = kw + 1.2, 2 * kh + 2.6
    # Cells just wide enough for a value such as -0.25 at 8 points.
    cell = 0.36
    fig = new_figure(cell * cols * block_w, cell * rows * block_h + 0.3 * (title is not None))
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.95 if title else 1.0))
    bound = float(np.abs(kernels).max()) or 1.0
    for c, (kernel, match) in enumerate(zip(kernels, matches, strict=True)):
        r, k = divmod(c, cols)
        x0, y0 = k * block_w, r * block_h + 0.6
        draw_grid(ax, np.round(kernel, 2), x0=x0, y0=y0, fontsize=8,
                  cell_colors=_signed_colors(kernel, bound), title=f"kernel {c}")
        reference = as_array(references[match.name]) * np.sign(match.cosine or 1.0)
        placed = np.full((kh, kw), np.nan)
        i, j = match.offset
        placed[i : i + reference.shape[0], j : j + reference.shape[1]] = reference
        colors = _signed_colors(np.nan_to_num(placed), float(np.abs(reference).max()) or 1.0)
        colors[np.isnan(placed)] = "#ffffff"
        sign = "−" if match.cosine < 0 else ""
        draw_grid(ax, np.round(placed, 2), x0=x0, y0=y0 + kh + 1.4, fontsize=8,
                  cell_colors=colors, title=f"{sign}{match.name}: cos {match.cosine:+.2f}")
    finish_axes(ax, cols * block_w - 1.2, rows * block_h)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def patches_figure(top: TopPatches, *, channels: Sequence[int] | None = None,
                   title: str | None = None, scale: float = 0.06) -> Figure:
    """One row per channel: its top patches, most exciting first (grey, black = 0)."""
    channels = list(range(top.patches.shape[0])) if channels is None else list(channels)
    k, h, w = top.patches.shape[1], *top.patches.shape[-2:]
    fig = new_figure(0.9 + scale * k * (w + 1), 0.35 + scale * len(channels) * (h + 1) +
                     0.3 * (title is not None))
    ax = fig.add_axes((0.08, 0.02, 0.9, 0.9 if title else 0.96))
    rows = [mosaic(top.patches[c, :, 0], per_row=k) for c in channels]
    gap = np.full((1, rows[0].shape[1]), np.nan)
    picture = np.concatenate([part for row in rows for part in (row, gap)][:-1])
    ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([(h + 1) * r + h / 2 for r in range(len(channels))],
                  [f"channel {c}" for c in channels], fontsize=9)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def evidence_figure(images: Sequence[torch.Tensor], occlusion: Sequence[torch.Tensor],
                    saliency: Sequence[torch.Tensor], titles: Sequence[str],
                    *, scale: float = 1.15) -> Figure:
    """One column per image: the image, its occlusion map and its saliency map.

    The occlusion map is diverging (red: hiding it lowers the class's score, blue: raises it);
    the saliency map is ``|gradient|``, dark to bright.
    """
    n = len(images)
    if not n == len(occlusion) == len(saliency) == len(titles):
        raise ValueError("give one image, occlusion map, saliency map and title per column")
    fig = new_figure(0.6 + scale * n, 0.5 + 3 * scale)
    for k in range(n):
        heat, grad = as_array(occlusion[k]), as_array(saliency[k])
        bound = float(np.abs(heat).max()) or 1.0
        panels = [(as_array(images[k]).squeeze(), {"cmap": "gray", "vmin": 0, "vmax": 1}),
                  (heat, {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}),
                  (grad, {"cmap": "magma", "vmin": 0})]
        for r, (picture, style) in enumerate(panels):
            ax = fig.add_subplot(3, n, r * n + k + 1)
            ax.imshow(picture, interpolation="nearest", **style)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[k], fontsize=9)
            if k == 0:
                ax.set_ylabel(["image", "occlusion", "saliency"][r], fontsize=9)
    fig.tight_layout(pad=0.3)
    return fig
