"""Checkers for chapter 2 (padding and stride)."""

from __future__ import annotations

from typing import Any

from cnnbook.exercises.checking import as_ints, exercise, run_answer
from cnnbook.shapes import conv_output_shape


def _halving_combinations() -> set[tuple[int, int, int]]:
    """Every (kernel, padding per side, stride) with k <= 7, padding <= 3, stride <= 3: 28 -> 14."""
    found = set()
    for k in range(1, 8):
        for pad in range(4):
            for s in range(1, 4):
                fits = 28 + 2 * pad >= k
                if fits and conv_output_shape(28, k, stride=s, padding=pad) == (14, 14):
                    found.add((k, pad, s))
    return found


@exercise("2.1", "predict", "a list of (kernel, padding per side, stride) triples")
def halving_combinations(answer: Any) -> str | None:
    given = {as_ints(triple, 3) for triple in answer}
    right = _halving_combinations()
    if given == right:
        return None
    extra, missing = given - right, right - given
    if extra and all(conv_output_shape(28, k, stride=s, padding=0) == (14, 14)
                     or (28 + p - k) // s + 1 == 14 for k, p, s in extra):
        return ("some of your triples give 14 only if the padding is the total of both sides; "
                "PyTorch's padding is per side (p rows on top and p at the bottom)")
    if extra:
        return (f"{len(extra)} of your triples do not give 14×14: check them with "
                "conv_output_shape")
    if any(s != 2 for _, _, s in missing):
        return "you are missing triples; every stride from 1 to 3 deserves a look"
    return (f"you are missing {len(missing)} triple(s): try every kernel size from 1 to 7, "
            "including the smallest")


@exercise("2.2", "predict", "(rows, columns) of the output")
def stride_two_shape(answer: Any) -> str | None:
    rows, cols = as_ints(answer, 2)
    right = tuple(conv_output_shape(9, 3, stride=2, padding=1))
    if (rows, cols) == right:
        return None
    if (rows, cols) == tuple(conv_output_shape(9, 3, stride=1, padding=1)):
        return "that is the shape with stride 1: a stride of 2 starts a window on every other row"
    if rows == (9 + 1 - 3) // 2 + 1:  # no padding, or one row of it in all
        return ("padding=1 puts one row of zeros on top *and* one at the bottom: the padded input "
                "has 11 rows")
    if rows == -(-(9 + 2 - 3 + 1) // 2) + 1:  # rounded up instead of down
        return "the number of windows rounds down: a window that does not fit is not computed"
    return "count the windows along one axis: how many start positions 0, 2, 4, ... fit in 11 rows?"


def _reads(n: int, k: int, padding: int, i: int, j: int) -> int:
    """How many windows of a k x k kernel (stride 1) read input pixel (i, j): by brute force."""
    starts = range(n + 2 * padding - k + 1)  # window starts in padded coordinates

    def along(position: int) -> int:
        return sum(start <= position + padding < start + k for start in starts)

    return along(i) * along(j)


@exercise("2.3", "write", "the function reads(n, k, padding, i, j)")
def window_reads(answer: Any) -> str | None:
    cases = [(10, 5, 2, 0, 0), (7, 3, 1, 3, 0), (9, 4, 0, 8, 4), (12, 5, 1, 1, 11), (6, 6, 2, 2, 3),
             (11, 3, 0, 5, 5), (8, 7, 3, 0, 7), (5, 2, 1, 4, 2)]
    for n, k, pad, i, j in cases:
        where = f"n={n}, k={k}, padding={pad}, pixel ({i}, {j})"
        got, hint = run_answer(answer, (n, k, pad, i, j), where)
        if hint is not None:
            return hint
        right = _reads(n, k, pad, i, j)
        if int(got) != right:
            if int(got) == k * k:
                return (f"on {where} your count is k², the count of a pixel far from the border; "
                        "near the border fewer windows fit")
            return (f"on {where} your count is wrong: count along rows and along columns "
                    "separately, then multiply")
    return None


@exercise("2.4", "write", "the function dilated_output_size(n, k, padding, stride, dilation)")
def dilated_output_size(answer: Any) -> str | None:
    cases = [(8, 3, 0, 1, 2), (10, 3, 2, 2, 2), (9, 2, 1, 3, 3), (15, 4, 1, 2, 3), (7, 3, 3, 1, 4),
             (12, 5, 0, 3, 2), (6, 1, 0, 2, 5)]
    for n, k, pad, s, d in cases:
        where = f"n={n}, k={k}, padding={pad}, stride={s}, dilation={d}"
        got, hint = run_answer(answer, (n, k, pad, s, d), where)
        if hint is not None:
            return hint
        right = conv_output_shape(n, k, stride=s, padding=pad, dilation=d).height
        if int(got) != right:
            if int(got) == conv_output_shape(n, k, stride=s, padding=pad).height:
                return f"on {where} your function ignores the dilation"
            if int(got) == (n + 2 * pad - d * k) // s + 1:
                return (f"on {where} your dilated kernel is d·k wide; its k taps are d apart, "
                        "so it spans d(k - 1) + 1")
            return f"on {where} your size is wrong"
    return None
