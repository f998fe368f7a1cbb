"""The book's sample inputs: hand-made kernels, counting grids, the channel example, samples.

Every picture and explorer starts from one of these, so a reader can rebuild any of them in a
cell of their own. Each function returns a fresh tensor that the caller may modify.

* :func:`kernel` (and :func:`kernel_names`): the original article's 2x2 example kernel and
  classic image filters (edges, Sobel, blur, sharpen);
* :func:`counting_input`: the ``n x n`` grid ``0, 1, 2, ...`` that the scenes slide over;
* :func:`channel_example`: the original article's two-channel input and its kernels, grown to
  any size;
* :func:`interpolation_samples` and :func:`interpolation_path`: samples on a line, a grid or a
  volume, and a point wandering between them.
"""

from __future__ import annotations

import numpy as np
import torch

_KERNELS: dict[str, list[list[float]]] = {
    # The original article's running example.
    "example 2x2": [[0.0, 1.0], [2.0, 3.0]],
    # Responds where intensity changes from left to right (a vertical edge): 1 - (-1) ...
    "vertical edge": [[1.0, -1.0]],
    "horizontal edge": [[1.0], [-1.0]],
    "sobel x": [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
    "sobel y": [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]],
    "box blur 3x3": [[1 / 9] * 3] * 3,
    "sharpen": [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]],
    "identity 3x3": [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
}


def kernel_names() -> list[str]:
    """The names :func:`kernel` accepts."""
    return list(_KERNELS)


def kernel(name: str) -> torch.Tensor:
    """The named kernel as a float32 tensor of shape ``(k_h, k_w)``."""
    if name not in _KERNELS:
        raise ValueError(f"unknown kernel {name!r}: choose one of {', '.join(_KERNELS)}")
    return torch.tensor(_KERNELS[name], dtype=torch.float32)


def counting_input(size: int) -> torch.Tensor:
    """The ``size x size`` input holding ``0 .. size*size - 1`` that the explorers start from."""
    return torch.arange(float(size * size)).reshape(size, size)


def channel_example(
    size: int = 3, in_channels: int = 2, out_channels: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """The original article's channel example, grown to any size: ``(X, K)``.

    Input channel ``c`` holds ``c .. c + size*size - 1`` row by row; kernel channel ``c`` holds
    ``c .. c + 3`` (2x2), and output channel ``o`` uses those kernels plus ``o``. The defaults
    give the original article's ``X`` (2, 3, 3) and ``K = stack((K, K + 1, K + 2))``
    (3, 2, 2, 2).
    """
    for value, name in ((size, "size"), (in_channels, "in_channels"),
                        (out_channels, "out_channels")):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if size < 2:
        raise ValueError(f"size must be at least 2 to hold the 2x2 kernel, got {size}")
    X = torch.stack([counting_input(size) + c for c in range(in_channels)])
    base = torch.stack([counting_input(2) + c for c in range(in_channels)])
    K = torch.stack([base + o for o in range(out_channels)])
    return X, K


def _check_ndim(ndim: int) -> None:
    if ndim not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3 (line, grid, volume), got {ndim!r}")


def interpolation_samples(ndim: int, size: int = 4, seed: int = 0) -> torch.Tensor:
    """A line, grid or volume (``ndim`` = 1, 2, 3) of ``size`` samples per axis, small integers.

    The values are drawn from a seeded generator, so every picture of them is reproducible.
    """
    _check_ndim(ndim)
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 10, (size,) * ndim, generator=generator).float()


def interpolation_path(ndim: int, size: int = 4, n: int = 20) -> list[tuple[float, ...]]:
    """``n`` positions of a point wandering through ``size`` samples per axis (``ndim`` axes).

    On a line, a sweep from near the first sample to near the last; in 2-D and 3-D a smooth
    closed curve (a different slow sine per axis). Rounded to 2 decimals, so an animation shows
    the neighbours and weights changing as the point crosses cells.
    """
    _check_ndim(ndim)
    if ndim == 1:
        return [(round(float(v), 2),) for v in np.linspace(0.15, size - 1.15, n)]
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    centre, radius = (size - 1) / 2, (size - 1) / 2 - 0.15
    axes = [np.sin(t + 0.3), np.sin(2 * t), np.cos(t)][:ndim][::-1]  # (z, y, x) order
    return [tuple(round(float(centre + radius * a[k]), 2) for a in axes) for k in range(n)]
