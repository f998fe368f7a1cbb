"""Checkers for chapter 4 (dilated, grouped, depthwise-separable and transposed convolution)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import product
from typing import Any

import torch
import torch.nn.functional as F

from cnnbook.conv import conv2d, dilated_stack_paths
from cnnbook.exercises.checking import as_ints, exercise, first_mismatch
from cnnbook.shapes import conv_output_shape, conv_transpose_output_shape
from cnnbook.transposed import conv_transpose2d, insert_zeros

# Exercise 4.1 ------------------------------------------------------------------------------

RATES = range(1, 5)


def _has_no_holes(rates: tuple[int, ...]) -> bool:
    return bool((dilated_stack_paths(rates) > 0).all())


@exercise("4.1", "predict",
          "(how many of the 64 triples have no holes, the side of the largest such field)")
def hole_free_triples(answer: Any) -> str | None:
    count, side = as_ints(answer, 2)
    triples = list(product(RATES, repeat=3))
    no_holes = [rates for rates in triples if _has_no_holes(rates)]
    fields = {rates: dilated_stack_paths(rates).shape[0] for rates in triples}
    right = (len(no_holes), max(fields[rates] for rates in no_holes))
    if (count, side) == right:
        return None
    hints = []
    if count != right[0]:
        unordered = len({tuple(sorted(rates)) for rates in no_holes})
        coprime = sum(math.gcd(*rates) == 1 for rates in triples)
        if count == unordered:
            hints.append("you counted each set of rates once, but the 64 triples are ordered: "
                         "(1, 2, 3) and (3, 2, 1) are two stacks (with the same holes)")
        elif count == coprime:
            hints.append("that counts the triples without a common factor; no common factor "
                         "is not enough: (1, 4, 4) has holes")
        else:
            hints.append("the count of hole-free triples is off: test each triple with "
                         "dilated_stack_paths (every count > 0)")
    if side != right[1]:
        if side in {fields[rates] for rates in triples if rates not in no_holes}:
            hints.append("the largest field you give belongs to a stack with holes")
        elif side + 1 == right[1] or side - 1 == right[1]:
            hints.append("the field's side is off by one: it counts pixels, 1 + Σ d_l (k - 1)")
        else:
            hints.append("the field's side is off: 1 + Σ d_l (k - 1) over the hole-free stacks")
    return "; ".join(hints)


# Exercise 4.2 ------------------------------------------------------------------------------

def _shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: channels as (g, c/g), transposed, flattened."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def _shuffle_cases() -> list[tuple[torch.Tensor, int]]:
    generator = torch.Generator().manual_seed(402)
    return [(torch.randn(shape, generator=generator), g)
            for shape, g in (((2, 6, 3, 3), 3), ((1, 6, 2, 2), 2), ((1, 12, 2, 1), 4),
                             ((3, 8, 1, 2), 2))]


@exercise("4.2", "write", "the function channel_shuffle(x, groups)")
def channel_shuffle(answer: Any) -> str | None:
    cases = _shuffle_cases()
    hint = first_mismatch(answer, _shuffle, cases,
                          lambda x, g: f"{x.shape[1]} channels in {g} groups")
    if hint is None:
        return None
    for x, g in cases:
        try:
            got = answer(x.clone(), g)
        except Exception:  # the generic hint says what went wrong
            return hint
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            return hint
        if torch.equal(got, x):
            return "nothing moved: the shuffle must reorder the channels"
        if not torch.allclose(got, _shuffle(x, g)) and torch.allclose(
                got, _shuffle(x, x.shape[1] // g)):
            return (f"on {x.shape[1]} channels in {g} groups you wrote the inverse shuffle: the "
                    "channels are laid out as (groups, channels per group) before transposing")
    return hint


# Exercise 4.3 ------------------------------------------------------------------------------

def _reference(x: torch.Tensor, K: torch.Tensor, stride: int, padding: int,
               dilation: int) -> torch.Tensor:
    return conv_transpose2d(x[None, None], K[None, None], stride=stride, padding=padding,
                            dilation=dilation)[0, 0]


def _variant(x: torch.Tensor, K: torch.Tensor, stride: int, pad: int, dilation: int,
             flip: bool = True) -> torch.Tensor:
    """Zeros, padding ``pad``, a convolution with (or without) the flipped kernel."""
    spread = F.pad(insert_zeros(x[None, None], (stride, stride)), (pad,) * 4)
    kernel = K.flip(0, 1) if flip else K
    return conv2d(spread, kernel[None, None], dilation=dilation)[0, 0]


def _transposed_cases() -> list[tuple[torch.Tensor, torch.Tensor, int, int, int]]:
    generator = torch.Generator().manual_seed(403)
    cases = []
    for n, k, s, p, d in ((4, 3, 2, 1, 2), (3, 2, 3, 0, 2), (5, 3, 2, 2, 3), (3, 3, 1, 0, 2)):
        cases.append((torch.randn(n, n + 1, generator=generator),
                      torch.randn(k, k, generator=generator), s, p, d))
    return cases


@exercise("4.3", "write",
          "the function transposed_by_convolution(x, K, stride, padding, dilation)")
def transposed_by_convolution(answer: Any) -> str | None:
    cases = _transposed_cases()
    hint = first_mismatch(answer, _reference, cases,
                          lambda x, K, s, p, d: f"a {x.shape[0]}×{x.shape[1]} input, a {K.shape[0]}"
                                                f"×{K.shape[1]} kernel, stride {s}, padding {p}, "
                                                f"dilation {d}")
    if hint is None:
        return None
    for x, K, s, p, d in cases:
        k = K.shape[0]
        try:
            got = answer(x.clone(), K.clone(), s, p, d)
        except Exception:
            return hint
        if not isinstance(got, torch.Tensor):
            return hint
        expected_shape = conv_transpose_output_shape(tuple(x.shape), k, s, p, dilation=d)
        if tuple(got.shape) != tuple(expected_shape) and k - 1 - p >= 0:
            try:
                undilated_pad = _variant(x, K, s, k - 1 - p, d)
            except ValueError:
                undilated_pad = None
            if undilated_pad is not None and got.shape == undilated_pad.shape:
                return (f"{hint}. The padding is the one for an undilated kernel: with taps d "
                        "apart the kernel reaches further than k - 1 rows")
            return (f"{hint}. Check the padding (it depends on the dilation), the stride, and "
                    "that the convolution is dilated too")
        if got.shape != expected_shape:
            return hint
        if torch.allclose(got, _variant(x, K, s, d * (k - 1) - p, d, flip=False), atol=1e-5):
            return f"{hint}: the kernel is not rotated by 180°"
    return f"{hint}: spread with s - 1 zeros, pad, then a dilated convolution"


# Exercise 4.4 ------------------------------------------------------------------------------

SIZES = range(8, 17)


def _comes_back(n: int) -> bool:
    middle = conv_output_shape(n, 3, stride=2, padding=1)
    return conv_transpose_output_shape(middle, 3, stride=2, padding=1)[0] == n


@exercise("4.4", "predict", "the input sizes n (8 ≤ n ≤ 16) that come back, as a list")
def sizes_that_come_back(answer: Any) -> str | None:
    if isinstance(answer, int) or not isinstance(answer, Iterable):
        return "give the list of sizes, such as [8, 10] (all of them, not a count)"
    got = set(as_ints(answer))
    right = {n for n in SIZES if _comes_back(n)}
    if got == right:
        return None
    if got - set(SIZES):
        return "the exercise asks about 8 ≤ n ≤ 16 only"
    if got == set(SIZES) - right:
        return ("those are exactly the sizes that do *not* come back (they need "
                "output_padding): recheck when s divides n + 2p - k")
    if got == set(SIZES):
        return ("not every size comes back: the convolution's floor maps two sizes to one "
                "output, and the transposed convolution returns only one of them")
    return ("some sizes are wrong: a size comes back exactly when the stride fits evenly, "
            "s divides n + 2p - k")
