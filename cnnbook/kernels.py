"""Named 2-D kernels the book uses: the source's example kernel and classic image filters."""

from __future__ import annotations

import torch

#: Each entry is a function so that every call returns a fresh tensor the caller may modify.
_KERNELS: dict[str, list[list[float]]] = {
    # The source's running example.
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
