"""Checkers for chapter 5 (pooling)."""

from __future__ import annotations

from typing import Any

import torch

from cnnbook.exercises.checking import agrees, as_ints, exercise, first_mismatch
from cnnbook.pooling import pool2d, shift_tolerance
from cnnbook.shapes import conv_params, pool_output_shape

# Exercise 5.1: nn.MaxPool2d(3) on a 10x8 input, with and without ceil_mode.
_SHAPE_INPUT, _SHAPE_WINDOW = (10, 8), 3


def _pair_of_shapes(answer: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    floor_shape, ceil_shape = answer
    return as_ints(floor_shape, 2), as_ints(ceil_shape, 2)


@exercise("5.1", "predict",
          "((rows, columns) without ceil_mode, (rows, columns) with ceil_mode=True)")
def pooled_shapes(answer: Any) -> str | None:
    floor_got, ceil_got = _pair_of_shapes(answer)
    floor_right = tuple(pool_output_shape(_SHAPE_INPUT, _SHAPE_WINDOW))
    ceil_right = tuple(pool_output_shape(_SHAPE_INPUT, _SHAPE_WINDOW, ceil_mode=True))
    if (floor_got, ceil_got) == (floor_right, ceil_right):
        return None
    stride_one = tuple(pool_output_shape(_SHAPE_INPUT, _SHAPE_WINDOW, stride=1))
    if stride_one in (floor_got, ceil_got):
        return ("that is the size for stride 1: a pooling layer's stride defaults to its window, "
                "so nn.MaxPool2d(3) moves 3 rows (columns) at a time")
    if (floor_got, ceil_got) == (ceil_right, floor_right):
        return ("your two shapes are swapped: the default rounds the number of window moves "
                "down (floor), ceil_mode=True rounds it up")
    if floor_got == ceil_got:
        return ("your two shapes are equal, but here the last window hangs over the edge on both "
                "axes: ceil_mode=True keeps it, the default drops it")
    if floor_got == floor_right:
        return ("the first shape is right; with ceil_mode=True the floor in "
                "⌊(n + 2q - k)/s⌋ + 1 becomes a ceiling (and nothing else changes)")
    if any(g == r - 1 for g, r in zip(floor_got + ceil_got, floor_right + ceil_right, strict=True)):
        return ("off by one: (n - k)/s counts the *moves* of the window; the number of windows "
                "is one more (the first window needs no move)")
    return ("count window positions along each axis: a 3-row window starts at rows 0, 3, … and "
            "must fit inside the 10 rows (without ceil_mode)")


def _min_pool_reference(X: torch.Tensor, kernel_size: Any, stride: Any = None,
                        padding: Any = 0) -> torch.Tensor:
    return -pool2d(-X, kernel_size, stride, padding)


def _min_pool_cases() -> list[tuple]:
    generator = torch.Generator().manual_seed(505)
    positive = lambda *shape: torch.rand(shape, generator=generator) + 1.0  # noqa: E731
    return [
        (positive(6, 6), 2, None, 0),          # stride defaults to the window
        (positive(7, 7), 3, 2, 1),             # padding: all values positive, zeros would win
        (torch.randn(1, 2, 5, 8, generator=generator), (2, 3), (1, 2), (1, 1)),
        (torch.randn(9, 5, generator=generator), 3, None, 0),
    ]


def _describe_pool_case(X: torch.Tensor, kernel_size: Any, stride: Any, padding: Any) -> str:
    size = "×".join(str(n) for n in X.shape)
    return f"a {size} input, kernel_size={kernel_size}, stride={stride}, padding={padding}"


@exercise("5.3", "write", "the function min_pool(X, kernel_size, stride=None, padding=0)")
def min_pooling(answer: Any) -> str | None:
    cases = _min_pool_cases()
    hint = first_mismatch(answer, _min_pool_reference, cases, _describe_pool_case)
    if hint is None:
        return None
    X, k, _, _ = cases[0]
    if agrees(answer, lambda X, k, s, p: pool2d(X, k, s, p), cases[0]):
        return "your function takes the maximum, not the minimum"
    if agrees(answer, lambda X, k, s, p: _min_pool_reference(X, k, 1, p), cases[0]):
        return ("with stride=None your windows move by 1; pooling's stride defaults to the "
                "window size (kernel_size)")
    X, k, s, p = cases[1]
    zero_padded = lambda X, k, s, p: _min_pool_reference(  # noqa: E731
        torch.nn.functional.pad(X, (p, p, p, p)), k, s, 0)
    if agrees(answer, zero_padded, cases[1]):
        return ("your border windows report 0, a value the input does not hold: padding with "
                "zeros wins every border window of a positive input. Pad with +∞ (or pool -X)")
    return hint


def _avg_by_conv_cases() -> list[tuple]:
    generator = torch.Generator().manual_seed(506)
    return [
        (torch.randn(1, 1, 7, 7, generator=generator), 3, 2, 0),
        (torch.randn(2, 3, 6, 8, generator=generator), 2, 2, 1),
        (torch.randn(1, 2, 9, 9, generator=generator), 3, 3, 1),
    ]


def _avg_reference(X: torch.Tensor, k: int, s: int, p: int,
                   include: bool = True) -> torch.Tensor:
    return pool2d(X, k, s, p, mode="avg", count_include_pad=include)


@exercise("5.4", "write", "the function avg_pool_by_conv(X, kernel_size, stride, padding)")
def average_pooling_as_convolution(answer: Any) -> str | None:
    cases = _avg_by_conv_cases()
    hint = first_mismatch(answer, _avg_reference, cases, _describe_pool_case)
    if hint is None:
        return None
    X, k, s, p = cases[0]
    if agrees(answer, lambda X, k, s, p: _avg_reference(X, k, s, p) * k * k, cases[0]):
        return "your outputs are the window sums: a mean divides by the k·k cells of the window"
    if agrees(answer, lambda X, k, s, p: _avg_reference(X, k, 1, p), cases[0]):
        return ("your output is too large: a convolution's stride defaults to 1, a pooling "
                "layer's to its window; pass the stride on to conv2d")
    if agrees(answer, _avg_reference, cases[0]) and not agrees(answer, _avg_reference, cases[1]):
        if agrees(answer, lambda X, k, s, p: _avg_reference(X, k, s, p, include=False),
                   cases[1]):
            return ("with padding, your border averages divide by the real cells only "
                    "(count_include_pad=False); the convolution counts the padded zeros, as "
                    "nn.AvgPool2d does by default")
        return ("right on one channel without padding, wrong on several channels: pooling "
                "averages each channel on its own, so each output channel may read only its own "
                "input channel (a diagonal weight, or groups)")
    return hint


# Exercise 5.5: a 16x28x28 map, 3x3 window, stride 2, no padding.
_COST_CHANNELS, _COST_SIZE, _COST_WINDOW, _COST_STRIDE = 16, (28, 28), 3, 2


@exercise("5.5", "predict",
          "(comparisons made by max pooling, multiply-adds made by the convolution)")
def pooling_cost(answer: Any) -> str | None:
    comparisons, macs = as_ints(answer, 2)
    c, k = _COST_CHANNELS, _COST_WINDOW
    h, w = pool_output_shape(_COST_SIZE, k, _COST_STRIDE)
    per_position_conv = conv_params(c, c, k, bias=False)  # one weight, one multiply-add
    right = ((k * k - 1) * c * h * w, per_position_conv * h * w)
    if (comparisons, macs) == right:
        return None
    halved = (_COST_SIZE[0] // _COST_STRIDE) * (_COST_SIZE[1] // _COST_STRIDE)
    if comparisons in ((k * k - 1) * c * halved, k * k * c * halved) or (
            macs == per_position_conv * halved):
        return ("the output is not 28/2 per axis: a 3×3 window at stride 2 without padding "
                "fits fewer times; use the output-size formula")
    if comparisons == k * k * c * h * w:
        return ("the maximum of k·k numbers takes k·k - 1 comparisons (the first element needs "
                "none)")
    if comparisons != right[0]:
        return ("count per output element and channel: the comparisons needed for the maximum "
                "of one window, times the number of windows, times the channels")
    if macs == k * k * c * h * w:
        return ("each output channel of a convolution sums over all input channels: there is a "
                "factor missing")
    return ("count per output element: one multiply-add per weight of one output channel's "
            "kernel, for each output channel")


@exercise("5.7", "write",
          "a 2-D tensor (at least 4×4) on which 2×2 max pooling with stride 1 keeps no output "
          "unchanged after a one-pixel shift to the right", wants_function=False)
def intolerant_input(answer: Any) -> str | None:
    X = torch.as_tensor(answer, dtype=torch.float32)
    if X.dim() != 2:
        return f"the exercise asks for a 2-D tensor (rows, columns); yours has {X.dim()} dims"
    if min(X.shape) < 4:
        return f"make it at least 4×4 so that there is something to pool; yours is {tuple(X.shape)}"
    unchanged = shift_tolerance(X, lambda t: pool2d(t, 2, stride=1))
    if unchanged == 0.0:
        return None
    return (f"{unchanged:.0%} of the pooled outputs are unchanged after the shift: wherever the "
            "maximum of a window stays in the shifted window too (a peak, a flat region) the "
            "output does not change. Make every window's maximum leave with the shift")
