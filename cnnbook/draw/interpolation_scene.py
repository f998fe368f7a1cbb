"""A point moving between samples: its neighbours, their weights and the interpolated value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnbook.draw.primitives import COLORS, format_value
from cnnbook.draw.scene import MIN_FONTSIZE, Scene
from cnnbook.interpolate import (
    bilinear_at,
    bilinear_weights,
    interpolate,
    linear_at,
    linear_weights,
    trilinear_at,
    trilinear_weights,
)

#: One colour per corner of a bilinear cell (top-left, top-right, bottom-left, bottom-right).
CORNER_COLORS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")


def cube_edges(
    ks: tuple[int, int], is_: tuple[int, int], js: tuple[int, int]
) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """The 12 edges of the box ``ks`` x ``is_`` x ``js``, as pairs of ``(k, i, j)`` corners."""
    (k0, k1), (i0, i1), (j0, j1) = ks, is_, js
    along_j = [((k, i, j0), (k, i, j1)) for k in ks for i in is_]
    along_i = [((k, i0, j), (k, i1, j)) for k in ks for j in js]
    along_k = [((k0, i, j), (k1, i, j)) for i in is_ for j in js]
    return along_j + along_i + along_k


class InterpolationScene(Scene):
    """A point moving between samples: its neighbours, their weights and the interpolated value.

    ``samples`` is a line ``(L,)`` (linear interpolation: 2 neighbours), a grid ``(H, W)``
    (bilinear: 4) or a volume ``(D, H, W)`` (trilinear: 8, drawn as a cube in 3-D). ``path``
    lists the point's positions, in the order ``(x,)``, ``(y, x)`` or ``(z, y, x)`` in sample
    index units; step ``t`` shows ``path[t]``. The neighbours and weights come from
    :func:`~cnnbook.interpolate.linear_weights` (and its 2-D, 3-D versions), the value from
    :func:`~cnnbook.interpolate.linear_at` (and ``bilinear_at``, ``trilinear_at``).
    """

    MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}

    def __init__(self, samples: torch.Tensor, path: Sequence[Sequence[float]]) -> None:
        if samples.dim() not in self.MODES:
            raise ValueError(
                f"samples must be a line (L,), a grid (H, W) or a volume (D, H, W), got shape "
                f"{tuple(samples.shape)}"
            )
        self.samples = samples.detach().float().cpu()
        self.mode = self.MODES[samples.dim()]
        points = [tuple(float(c) for c in p) for p in path]
        if not points or any(len(p) != samples.dim() for p in points):
            raise ValueError(
                f"path must hold at least one position of {samples.dim()} coordinate(s) "
                f"({self.mode} interpolation of samples of shape {tuple(samples.shape)}), "
                f"got {list(path)!r}"
            )
        for p in points:
            for coordinate, size in zip(p, samples.shape, strict=True):
                if not 0 <= coordinate <= size - 1:
                    raise ValueError(
                        f"position {p} lies outside the samples of shape "
                        f"{tuple(samples.shape)}: each coordinate must lie in [0, size - 1]"
                    )
        self.path = points
        self.n_steps = len(points)
        # Small frames: an animation embeds one PNG per step (the notebooks must stay light).
        self.figsize = (6.2, 4.3) if self.mode == "trilinear" else (5.8, 3.7)

    def weights(self, step: int) -> list[tuple[tuple[int, ...], float]]:
        """The neighbouring samples (index tuples) and their weights at ``step``."""
        p = self.path[step]
        if self.mode == "linear":
            return [((i,), w) for i, w in linear_weights(p[0], self.samples.shape[0])]
        if self.mode == "bilinear":
            return bilinear_weights(*p, tuple(self.samples.shape))
        return trilinear_weights(*p, tuple(self.samples.shape))

    def value(self, step: int) -> float:
        """The interpolated value at ``step``, from the point functions."""
        p = self.path[step]
        if self.mode == "linear":
            return float(linear_at(self.samples, p[0]))
        if self.mode == "bilinear":
            return float(bilinear_at(self.samples, *p))
        return float(trilinear_at(self.samples, *p))

    def equation(self, step: int) -> str:
        """``f(position) = w·f(neighbour) + ... = value`` for ``step``."""
        p = ", ".join(f"{c:.2f}" for c in self.path[step])
        terms = [f"{w:.2f}×{format_value(float(self.samples[idx]))}"
                 for idx, w in self.weights(step)]
        lines = [" + ".join(terms[k : k + 4]) for k in range(0, len(terms), 4)]
        return f"f({p}) = " + "\n   + ".join(lines) + f" = {self.value(step):.3f}"

    def draw_step(self, fig: Figure, step: int) -> None:
        {"linear": self._draw_line, "bilinear": self._draw_grid,
         "trilinear": self._draw_cube}[self.mode](fig, step)
        fig.text(0.5, 0.015, self.equation(step), ha="center", va="bottom", fontsize=MIN_FONTSIZE,
                 family="monospace")

    def _draw_line(self, fig: Figure, step: int) -> None:
        ax = fig.add_axes((0.09, 0.24, 0.88, 0.68))
        values = self.samples.numpy()
        positions = np.arange(len(values))
        ax.plot(positions, values, color=COLORS["muted"], linewidth=1, linestyle="--")
        ax.vlines(positions, 0, values, color=COLORS["muted"], linewidth=1)
        ax.scatter(positions, values, color="#555555", zorder=3, s=25)
        (x,) = self.path[step]
        for (i,), w in self.weights(step):
            ax.scatter([i], [values[i]], color=COLORS["window"], s=90, zorder=4)
            ax.annotate(f"w = {w:.2f}", (i, values[i]), textcoords="offset points",
                        xytext=(0, 9), ha="center", fontsize=9, color=COLORS["window"])
        value = self.value(step)
        ax.scatter([x], [value], color=COLORS["current"], s=80, zorder=5, marker="D")
        ax.axvline(x, color=COLORS["current"], linewidth=0.8, alpha=0.6)
        ax.set_xticks(positions)
        ax.set_ylim(0, max(float(values.max()), 1.0) * 1.25)
        ax.set_xlabel("x (sample index)")
        ax.set_title(f"linear interpolation at x = {x:.2f}: value {value:.3f}", fontsize=10)

    def _draw_grid(self, fig: Figure, step: int) -> None:
        ax = fig.add_axes((0.06, 0.2, 0.7, 0.72))
        h, w = self.samples.shape
        # Background: the bilinear interpolant of the samples, by cnnbook.interpolate with
        # align_corners=True (which puts output corners exactly on the corner samples).
        fine = interpolate(self.samples[None, None], size=(8 * (h - 1) + 1, 8 * (w - 1) + 1),
                           mode="bilinear", align_corners=True)[0, 0]
        ax.imshow(fine.numpy(), extent=(-0.5 / 8, w - 1 + 0.5 / 8, h - 1 + 0.5 / 8, -0.5 / 8),
                  cmap="Greys", vmin=-2, vmax=float(self.samples.max()) + 6, alpha=0.55)
        for i in range(h):
            for j in range(w):
                ax.scatter([j], [i], color="#555555", s=18, zorder=3)
                # Each sample's value straight below it: the four diagonals hold the weights.
                ax.annotate(format_value(float(self.samples[i, j])), (j, i),
                            textcoords="offset points", xytext=(0, -6), ha="center", va="top",
                            fontsize=MIN_FONTSIZE, color="#333333", zorder=4)
        y, x = self.path[step]
        corners = self.weights(step)
        i0, j0 = corners[0][0]
        i1, j1 = corners[-1][0]
        # Each corner's weight is the area of the rectangle opposite it: shade that rectangle
        # in the corner's colour.
        for k, ((i, j), weight) in enumerate(corners):
            ci, cj = (i1 if i == i0 else i0), (j1 if j == j0 else j0)
            top, bottom = sorted((y, float(ci)))
            left, right = sorted((x, float(cj)))
            color = CORNER_COLORS[k if len(corners) == 4 else 0]
            ax.add_patch(Rectangle((left, top), right - left, bottom - top, facecolor=color,
                                   alpha=0.25, edgecolor="none"))
            ax.scatter([j], [i], color=color, s=110, zorder=5, edgecolor="white")
            ax.annotate(f"{weight:.2f}", (j, i), textcoords="offset points",
                        xytext=(-17 if j == j0 else 17, 11 if i == i0 else -11),
                        ha="center", va="center", fontsize=9, color=color, weight="bold")
        ax.scatter([x], [y], color=COLORS["current"], s=80, marker="D", zorder=6)
        ax.set_xlim(-0.4, w - 0.6)
        ax.set_ylim(h - 0.6, -0.4)
        ax.set_xticks(range(w))
        ax.set_yticks(range(h))
        ax.set_xlabel("x (column)")
        ax.set_ylabel("y (row)")
        ax.set_title(f"bilinear at (y, x) = ({y:.2f}, {x:.2f}): {self.value(step):.3f}",
                     fontsize=10)
        fig.text(0.79, 0.85, "weight of a corner\n= area of the\nrectangle opposite\nit "
                 "(same colour)", fontsize=MIN_FONTSIZE, va="top")

    def _label_corners(self, ax: Axes, corners: list[tuple[tuple[int, ...], float]]) -> None:
        """Write each corner's value and weight outside the cube, away from its projected centre.

        Labels written at the corners themselves overlap where two corners project close to
        each other; pushed outwards along the line from the centre of the projected cube, with
        the text on the far side of its corner, they do not.
        """
        from mpl_toolkits.mplot3d import proj3d

        projected = {}
        for (k, i, j), _ in corners:
            px, py, _depth = proj3d.proj_transform(j, i, k, ax.get_proj())
            projected[(k, i, j)] = np.array(ax.transData.transform((px, py)))
        centre = np.mean(list(projected.values()), axis=0)
        for (k, i, j), weight in corners:
            direction = projected[(k, i, j)] - centre
            direction = direction / (np.linalg.norm(direction) or 1.0)
            ax.annotate(
                f"{format_value(float(self.samples[k, i, j]))} ({weight:.2f})",
                xy=ax.transData.inverted().transform(projected[(k, i, j)]), xycoords="data",
                xytext=tuple(12 * direction), textcoords="offset points",
                ha="left" if direction[0] >= 0 else "right",
                va="bottom" if direction[1] >= 0 else "top",
                fontsize=9.5, color=COLORS["text"])

    def _draw_cube(self, fig: Figure, step: int) -> None:
        import mpl_toolkits.mplot3d  # noqa: F401  (registers the 3-D projection)

        ax = fig.add_axes((0.0, 0.15, 0.78, 0.76), projection="3d")
        z, y, x = self.path[step]
        corners = self.weights(step)
        ks = sorted({c[0][0] for c in corners})
        is_ = sorted({c[0][1] for c in corners})
        js = sorted({c[0][2] for c in corners})
        k0, k1, i0, i1, j0, j1 = ks[0], ks[-1], is_[0], is_[-1], js[0], js[-1]
        # All samples faintly, then the cube around the point (x, y, z drawn as X, Y, Z axes).
        d, h, w = self.samples.shape
        grid = np.stack(np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij"))
        near = ((abs(grid[0] - z) < 1.3) & (abs(grid[1] - y) < 1.3)
                & (abs(grid[2] - x) < 1.3)).ravel()
        ax.scatter(grid[2].ravel()[near], grid[1].ravel()[near], grid[0].ravel()[near],
                   color="#bbbbbb", s=4)
        for a, b in cube_edges((k0, k1), (i0, i1), (j0, j1)):
            ax.plot([a[2], b[2]], [a[1], b[1]], [a[0], b[0]], color="#777777", linewidth=0.8)
        for (k, i, j), weight in corners:
            ax.scatter([j], [i], [k], color=COLORS["window"], s=20 + 200 * weight,
                       depthshade=False)
        # The seven lerps: four along x (on the cube's edges), two along y (one per face z),
        # one along z between the two faces.
        edge_points = [(k, i, x) for k in (k0, k1) for i in (i0, i1)]
        ax.scatter([p[2] for p in edge_points], [p[1] for p in edge_points],
                   [p[0] for p in edge_points], color="#1f77b4", s=14, depthshade=False)
        ax.plot([x, x], [y, y], [k0, k1], color=COLORS["current"], linewidth=1.2)
        for k in (k0, k1):
            ax.plot([x, x], [i0, i1], [k, k], color="#1f77b4", linewidth=0.9, linestyle="--")
        ax.scatter([x], [y], [z], color=COLORS["current"], s=60, marker="D", depthshade=False)
        ax.set_xlabel("x", fontsize=10, labelpad=-12)
        ax.set_ylabel("y", fontsize=10, labelpad=-12)
        ax.set_zlabel("z", fontsize=10, labelpad=-12)
        # No tick numbers: too small to read, and they collide with the corner labels; the
        # corners' values and weights carry the numbers.
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_ticklabels([])
        # Plain panes without grid lines: clearer, and much smaller PNG frames.
        ax.grid(False)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.pane.set_facecolor("white")
            axis.pane.set_edgecolor("#cccccc")
        # Zoom on the cube around the point: the rest of the volume is context only.
        ax.set_xlim(j0 - 0.35, j1 + 0.35)
        ax.set_ylim(i0 - 0.35, i1 + 0.35)
        ax.set_zlim(k0 - 0.35, k1 + 0.35)
        ax.view_init(elev=22, azim=-58)
        self._label_corners(ax, corners)
        fig.text(0.5, 0.97, f"trilinear at (z, y, x) = ({z:.2f}, {y:.2f}, {x:.2f}): "
                 f"{self.value(step):.3f}", ha="center", va="top", fontsize=10)
        fig.text(0.76, 0.8, "red: the 8 corners\n(size ~ weight)\nblue: 4 lerps along x,\n"
                 "dashed: 2 along y,\ngreen: 1 along z", fontsize=MIN_FONTSIZE, va="top")
