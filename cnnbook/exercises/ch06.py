"""Checkers for chapter 6 (down- and up-sampling)."""

from __future__ import annotations

from typing import Any

import torch

from cnnbook.exercises.checking import agrees, as_ints, close, exercise, first_mismatch
from cnnbook.interpolate import bilinear_at, interpolate
from cnnbook.pooling import max_unpool2d, pool2d
from cnnbook.shapes import conv_output_shape, conv_params, conv_transpose_output_shape
from cnnbook.transposed import conv_transpose2d

# Exercise 6.1: the grid with one bright corner, and two midpoints.
_CORNER_GRID = torch.tensor([[0.0, 0.0], [0.0, 1.0]])


@exercise("6.1", "predict",
          "(bilinear value at (y, x) = (0.5, 0.5), bilinear value at (1.0, 0.5))")
def bilinear_midpoints(answer: Any) -> str | None:
    diagonal, axis = (float(v) for v in answer)
    right_diagonal = float(bilinear_at(_CORNER_GRID, 0.5, 0.5))
    right_axis = float(bilinear_at(_CORNER_GRID, 1.0, 0.5))
    if close(diagonal, right_diagonal) and close(axis, right_axis):
        return None
    ends_mean = (float(_CORNER_GRID[0, 0]) + float(_CORNER_GRID[1, 1])) / 2
    if not close(diagonal, right_diagonal) and close(diagonal, ends_mean):
        return ("your first value is the mean of the diagonal's two ends, which would be right if "
                "bilinear interpolation were linear in the position. Weight each corner by the "
                "area of the rectangle opposite it: (1 - t_y)(1 - t_x), (1 - t_y) t_x, …")
    if not close(diagonal, right_diagonal):
        return ("at (0.5, 0.5) the four corners weigh the same; how many of them are nonzero, "
                "and what do the four weights sum to?")
    return ("the point (1.0, 0.5) lies on the bottom row, between its two samples: there "
            "bilinear is plain linear interpolation along x")


def _resize_reference(line: torch.Tensor, m: int, align_corners: bool = False) -> torch.Tensor:
    return interpolate(line[None, None], size=m, mode="linear",
                       align_corners=align_corners)[0, 0]


def _left_edge_reference(line: torch.Tensor, m: int) -> torch.Tensor:
    """The typical slip: source coordinate i * n / m (left edges matched, not centres)."""
    n = line.shape[-1]
    positions = torch.arange(m, dtype=torch.float64) * n / m
    low = positions.floor().long().clamp(max=n - 1)
    high = (low + 1).clamp(max=n - 1)
    t = (positions - low).to(line.dtype)
    return (1 - t) * line[low] + t * line[high]


def _resize_cases() -> list[tuple[torch.Tensor, int]]:
    generator = torch.Generator().manual_seed(606)
    sizes = [(4, 7), (5, 12), (6, 4), (3, 3), (2, 9)]
    return [(torch.randn(n, generator=generator), m) for n, m in sizes]


@exercise("6.2", "write",
          "the function resize_linear(line, m): a 1-D tensor resized to m samples, "
          "align_corners=False")
def resize_linear(answer: Any) -> str | None:
    cases = _resize_cases()
    hint = first_mismatch(answer, _resize_reference, cases,
                          lambda line, m: f"a line of {line.shape[0]} samples resized to {m}")
    if hint is None:
        return None
    wrong_ones = [
        (lambda line, m: _resize_reference(line, m, align_corners=True),
         "you pinned the corner samples together: that is align_corners=True. The default "
         "matches pixel centres: src = (i + ½)·n/m - ½, clamped at 0"),
        (_left_edge_reference,
         "your coordinates match the pixels' left edges (src = i·n/m), so the result is shifted "
         "by a fraction of a pixel: add half a pixel before scaling and take it off after"),
        (lambda line, m: interpolate(line[None, None], size=m)[0, 0],
         "you copied samples (nearest neighbour): interpolate between the two neighbours of "
         "each source coordinate with linear_at"),
    ]
    for reference, wrong_hint in wrong_ones:
        if all(agrees(answer, reference, case) for case in cases[:2]):
            return wrong_hint
    return hint


def _as_bilinear_kernel(answer: Any) -> torch.Tensor:
    K = torch.as_tensor(answer, dtype=torch.float32)
    if K.dim() == 1:
        K = K[:, None] * K[None, :]  # a separable kernel given by its 1-D factor
    while K.dim() > 2 and K.shape[0] == 1:
        K = K[0]
    if K.dim() != 2:
        raise TypeError("give the kernel as a 1-D tensor (one axis) or a 2-D one (rows, columns)")
    return K


_UP, _PAD = 3, 1  # exercise 6.5: stride 3, padding 1


@exercise("6.5", "write",
          "the kernel (1-D factor or 2-D tensor) of a stride-3, padding-1 transposed convolution "
          "that up-samples bilinearly", wants_function=False)
def stride_three_bilinear_kernel(answer: Any) -> str | None:
    K = _as_bilinear_kernel(answer)
    generator = torch.Generator().manual_seed(607)
    for h, w in ((6, 5), (4, 7)):
        X = torch.rand(1, 1, h, w, generator=generator)
        want = interpolate(X, scale_factor=_UP, mode="bilinear")
        if tuple(conv_transpose_output_shape((h, w), tuple(K.shape), _UP, _PAD)) != (_UP * h,
                                                                                     _UP * w):
            return (f"a {K.shape[0]}×{K.shape[1]} kernel at stride 3 and padding 1 does not give "
                    "an output 3 times the input: input pixel k must reach the outputs from "
                    "3k - 1 to 3k + 3 (work out which outputs read it)")
        got = conv_transpose2d(X, K[None, None], stride=_UP, padding=_PAD)
        inner = (..., slice(2, -2), slice(2, -2))  # the border clamps, a convolution cannot
        if torch.allclose(got[inner], want[inner], atol=1e-5):
            continue
        if torch.allclose(got[inner] * _UP**2, want[inner], atol=1e-4):
            return ("the shape of your kernel is right but the output is 9 times too dark: each "
                    "input pixel spreads over 3 output pixels per axis, so the 1-D weights sum "
                    "to 3, not 1")
        if not torch.allclose(K, K.flip(0).flip(1)):
            return ("your kernel is not symmetric: input pixel k lies as far from output 3k - 1 "
                    "as from output 3k + 3")
        return ("the weights are off: output 3k + 1 reads input k exactly; outputs 3k and 3k + 2 "
                "read one third of a pixel before and after it (align_corners=False)")
    return None


# Exercise 6.6: the 4x4 input of section 6.5.
_UNPOOL_INPUT = torch.tensor([[1.0, 2.0, 6.0, 3.0], [3.0, 9.0, 0.0, 1.0], [4.0, 0.0, 5.0, 2.0],
                              [7.0, 1.0, 8.0, 8.0]])


def _pool_unpool_pool(X: torch.Tensor) -> torch.Tensor:
    pooled, where = pool2d(X, 2, return_indices=True)
    return pool2d(max_unpool2d(pooled, where, 2), 2)


@exercise("6.6", "predict",
          "(the 2×2 result for X, the 2×2 result for N = -X - 1), each as nested lists")
def pool_unpool_pool(answer: Any) -> str | None:
    for_x, for_n = (torch.as_tensor(a, dtype=torch.float32) for a in answer)
    if for_x.shape != (2, 2) or for_n.shape != (2, 2):
        return "each answer is a 2×2 tensor (or nested list): 2×2 max pooling of a 4×4 input"
    N = -_UNPOOL_INPUT - 1
    right_x, right_n = _pool_unpool_pool(_UNPOOL_INPUT), _pool_unpool_pool(N)
    if not torch.equal(for_x, right_x):
        return ("for X: after unpooling, each window holds its maximum at the same place; what "
                "does max pooling pick from it?")
    if torch.equal(for_n, right_n):
        return None
    if torch.equal(for_n, pool2d(N, 2)):
        return ("for N the round trip is not the identity: unpooling does not give back N. What "
                "fills the other three cells of each window, and is it larger or smaller than "
                "N's values?")
    return ("write down the unpooled 4×4 image of N first (values only where the maxima were), "
            "then pool it again")


# Exercise 6.7: 64 -> 64 channels on a 28x28 map, up-sampled by 2.
_CHANNELS, _SIZE = 64, (28, 28)


def _costs() -> tuple[tuple[int, int], tuple[int, int]]:
    c = _CHANNELS
    # Transposed convolution, kernel 4, stride 2, padding 1: every input pixel multiplies one
    # c_out x k x k patch per input channel, so one multiply-add per weight per *input* pixel.
    transposed = (conv_params(c, c, 4), conv_params(c, c, 4, bias=False) * _SIZE[0] * _SIZE[1])
    resized = tuple(conv_transpose_output_shape(_SIZE, 4, 2, 1))
    # Resize-then-convolve: a 3x3 convolution, padding 1, on the resized 56x56 map.
    out_h, out_w = conv_output_shape(resized, 3, padding=1)
    resize_conv = (conv_params(c, c, 3), conv_params(c, c, 3, bias=False) * out_h * out_w)
    return transposed, resize_conv


@exercise("6.7", "predict",
          "((parameters, multiply-adds) of the transposed convolution, "
          "(parameters, multiply-adds) of resize-then-conv)")
def upsampling_costs(answer: Any) -> str | None:
    transposed_got, resize_got = (as_ints(a, 2) for a in answer)
    transposed, resize_conv = _costs()
    if (transposed_got, resize_got) == (transposed, resize_conv):
        return None
    c = _CHANNELS
    if transposed_got[0] == transposed[0] - c or resize_got[0] == resize_conv[0] - c:
        return "both layers have a bias: one per output channel"
    if transposed_got[0] != transposed[0] or resize_got[0] != resize_conv[0]:
        return ("parameters: c_in · c_out · k · k weights plus the biases; a transposed "
                "convolution has as many as a convolution of the same kernel size")
    if transposed_got[1] == transposed[1] * 4:
        return ("you counted all 16 taps at every output position; at stride 2 each output "
                "position receives only (4/2)² of them. Count per input pixel instead: each one "
                "multiplies the whole kernel once")
    if transposed_got[1] != transposed[1]:
        return ("transposed convolution: each input pixel (of each input channel) multiplies a "
                "c_out × 4 × 4 patch once")
    if resize_got[1] * 4 == resize_conv[1]:
        return ("the convolution runs after the resize: on the up-sampled map, not on the 28×28 "
                "input")
    return "resize-then-conv: one multiply-add per weight (without bias) per output position"
