"""Checkers for chapter 8 (inside LeNet: receptive fields, shifts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cnnbook.exercises.checking import as_ints, exercise, first_mismatch
from cnnbook.models import lenet
from cnnbook.probes import shift
from cnnbook.shapes import ReceptiveField, receptive_field


def _lenet_fields() -> list[ReceptiveField]:
    """Receptive fields of LeNet's convolution and pooling layers (the layers before Flatten)."""
    layers = list(lenet())
    return receptive_field(layers[: [type(x).__name__ for x in layers].index("Flatten")])


@exercise("8.1", "predict", "(rows, columns) of input that one output of LeNet's second "
          "pooling layer sees")
def second_pool_field(answer: Any) -> str | None:
    rows, cols = as_ints(answer, 2)
    right = _lenet_fields()[-1].size
    if (rows, cols) == right:
        return None
    second_conv = _lenet_fields()[2].size
    if (rows, cols) == second_conv:
        return ("that is the second convolution's field; the pooling after it adds one more "
                "window, whose two outputs are two input pixels apart")
    if rows == cols and rows < second_conv[0]:
        return ("a layer's window adds (k - 1) times the distance between neighbouring outputs "
                "of the layer before it, and that distance doubles at every pooling: it is not "
                "the sum of the kernel sizes")
    return ("follow one output back layer by layer: size_out = size_in + (k - 1) * jump_in, and "
            "a stride multiplies the jump")


@exercise("8.2", "predict", "(columns moved by the first convolution's maps, the first pooling's "
          "maps, the second convolution's maps) for an input moved 4 pixels right")
def shifted_maps(answer: Any) -> str | None:
    moved = as_ints(answer, 3)
    jumps = [field.jump[1] for field in _lenet_fields()[:3]]
    right = tuple(4 // jump for jump in jumps)
    if moved == right:
        return None
    if moved[0] != right[0]:
        return ("the first convolution has stride 1 and keeps the map's size: its map moves "
                "as the image does")
    if moved[1] == right[0]:
        return ("a pooling window with stride 2 puts neighbouring outputs two input pixels "
                "apart: measured in its own columns, the move is smaller")
    if moved[2] < moved[1]:
        return "the second convolution has stride 1: it does not shrink the move any further"
    return "measure each move in the columns of that layer's own map, not the input's"


def _reference_shift(X: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    return shift(X, dy, dx)


def _describe(X: torch.Tensor, dy: int, dx: int) -> str:
    return f"a {X.shape[-2]}×{X.shape[-1]} image shifted by (dy, dx) = ({dy}, {dx})"


@exercise("8.3", "write", "a function shift_image(X, dy, dx) that moves X down by dy and right "
          "by dx, filling with 0")
def shift_image(function: Callable[..., Any]) -> str | None:
    generator = torch.Generator().manual_seed(8)
    cases = [(torch.rand(6, 7, generator=generator) + 1, dy, dx)
             for dy, dx in ((0, 2), (1, 0), (-2, 1), (3, -3), (0, 0))]
    cases.append((torch.rand(2, 1, 5, 5, generator=generator) + 1, 1, -1))
    hint = first_mismatch(function, _reference_shift, cases, _describe)
    if hint is None:
        return None
    X = cases[0][0]
    try:
        got = torch.as_tensor(function(X.clone(), 0, 2))
    except Exception:  # the mismatch message already says what went wrong
        return hint
    if got.shape == X.shape and torch.equal(got, torch.roll(X, 2, dims=-1)):
        return (hint + ": the pixels that leave on one side come back on the other (as with "
                "torch.roll); a shifted image loses them and gets zeros instead")
    if got.shape == X.shape and torch.equal(got, shift(X, 0, -2)):
        return hint + ": your image moves the other way (a positive dx moves it right)"
    return hint
