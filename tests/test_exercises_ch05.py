"""Chapter 5's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnbook.conv import conv2d
from cnnbook.exercises import check
from cnnbook.pooling import pool2d


def test_pooled_shapes() -> None:
    assert check("5.1", ((3, 2), (4, 3)))
    assert check("5.1", (torch.Size([3, 2]), [4, 3]))
    stride_one = check("5.1", ((8, 6), (8, 6)))  # the convolution's default stride
    assert not stride_one and "stride" in stride_one.message
    swapped = check("5.1", ((4, 3), (3, 2)))
    assert not swapped and "swapped" in swapped.message
    same = check("5.1", ((3, 2), (3, 2)))  # ceil_mode forgotten
    assert not same and "ceil_mode" in same.message
    off_by_one = check("5.1", ((2, 1), (3, 2)))  # the +1 forgotten
    assert not off_by_one and "off by one" in off_by_one.message
    for verdict in (stride_one, swapped, same, off_by_one):
        assert "(3, 2)" not in verdict.message and "(4, 3)" not in verdict.message


def min_pool(X, kernel_size, stride=None, padding=0):
    return -pool2d(-X, kernel_size, stride, padding)


def test_min_pooling() -> None:
    assert check("5.3", min_pool)
    as_max = check("5.3", lambda X, k, s=None, p=0: pool2d(X, k, s, p))
    assert not as_max and "maximum" in as_max.message
    stride_one = check("5.3", lambda X, k, s=None, p=0: min_pool(X, k, 1 if s is None else s, p))
    assert not stride_one and "stride" in stride_one.message

    def zero_padded(X, k, s=None, p=0):
        pairs = (p, p, p, p) if isinstance(p, int) else (p[1], p[1], p[0], p[0])
        return min_pool(F.pad(X, pairs), k, s, 0)

    zeros = check("5.3", zero_padded)
    assert not zeros and "+∞" in zeros.message
    assert "returned None" in check("5.3", lambda X, k, s=None, p=0: None).message


def avg_pool_by_conv(X, kernel_size, stride, padding):
    c = X.shape[1]
    weight = torch.full((c, 1, kernel_size, kernel_size), 1 / kernel_size**2)
    return conv2d(X, weight, stride=stride, padding=padding, groups=c)


def test_average_pooling_as_convolution() -> None:
    assert check("5.4", avg_pool_by_conv)
    sums = check("5.4", lambda X, k, s, p: avg_pool_by_conv(X, k, s, p) * k * k)
    assert not sums and "sums" in sums.message
    stride_one = check("5.4", lambda X, k, s, p: avg_pool_by_conv(X, k, 1, p))
    assert not stride_one and "stride" in stride_one.message
    exclude = check("5.4", lambda X, k, s, p: pool2d(X, k, s, p, mode="avg",
                                                     count_include_pad=False))
    assert not exclude and "count_include_pad" in exclude.message

    def mixes_channels(X, k, s, p):
        c = X.shape[1]
        weight = torch.full((c, c, k, k), 1 / k**2)
        return conv2d(X, weight, stride=s, padding=p)

    mixed = check("5.4", mixes_channels)
    assert not mixed and "channel" in mixed.message


def test_pooling_cost() -> None:
    assert check("5.5", (21_632, 389_376))
    halved = check("5.5", (16 * 14 * 14 * 8, 9 * 16 * 16 * 14 * 14))  # 28 / 2 positions
    assert not halved and "formula" in halved.message
    nine = check("5.5", (9 * 16 * 169, 389_376))  # k^2 comparisons instead of k^2 - 1
    assert not nine and "k·k - 1" in nine.message
    no_c_in = check("5.5", (21_632, 9 * 16 * 169))  # the sum over input channels forgotten
    assert not no_c_in and "input channels" in no_c_in.message
    for verdict in (halved, nine, no_c_in):
        assert "21632" not in verdict.message and "389376" not in verdict.message


def test_intolerant_input() -> None:
    assert check("5.7", torch.arange(36.0).reshape(6, 6))
    flat = check("5.7", torch.ones(5, 5))
    assert not flat and "100%" in flat.message
    assert not check("5.7", torch.arange(9.0).reshape(3, 3))  # too small
    assert not check("5.7", torch.arange(4.0))  # not 2-D


def test_missing_answers() -> None:
    for key in ("5.1", "5.3", "5.4", "5.5", "5.7"):
        assert "no answer yet" in check(key, None).message
