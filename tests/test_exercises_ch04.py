"""Chapter 4's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

import torch

from cnnbook.conv import conv2d
from cnnbook.exercises import check


def test_hole_free_triples() -> None:
    assert check("4.1", (34, 17))
    unordered = check("4.1", (9, 17))  # sets of rates, not ordered triples
    assert not unordered and "ordered" in unordered.message
    holes = check("4.1", (34, 25))  # (4, 4, 4): the largest field, with holes
    assert not holes and "holes" in holes.message
    coprime = check("4.1", (55, 17))  # triples without a common factor
    assert not coprime and "common factor" in coprime.message
    off_by_one = check("4.1", (34, 16))
    assert not off_by_one and "off by one" in off_by_one.message
    for verdict in (unordered, holes, coprime, off_by_one):
        assert "34" not in verdict.message and "17" not in verdict.message


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def test_channel_shuffle() -> None:
    assert check("4.2", channel_shuffle)
    inverse = check("4.2", lambda x, g: channel_shuffle(x, x.shape[1] // g))
    assert not inverse and "inverse shuffle" in inverse.message
    identity = check("4.2", lambda x, g: x)
    assert not identity and "nothing moved" in identity.message
    assert not check("4.2", lambda x, g: x.flip(1))


def transposed_by_convolution(x, K, stride, padding, dilation, reach=None, flip=True):
    n_h, n_w = x.shape
    reach = dilation * (K.shape[0] - 1) if reach is None else reach
    spread = torch.zeros((n_h - 1) * stride + 1, (n_w - 1) * stride + 1)
    spread[::stride, ::stride] = x
    kernel = torch.flip(K, (0, 1)) if flip else K
    return conv2d(spread[None, None], kernel[None, None], padding=reach - padding,
                  dilation=dilation)[0, 0]


def test_transposed_by_convolution() -> None:
    assert check("4.3", transposed_by_convolution)
    undilated_padding = check("4.3", lambda x, K, s, p, d: transposed_by_convolution(
        x, K, s, p, d, reach=K.shape[0] - 1))
    assert not undilated_padding and "undilated" in undilated_padding.message
    not_rotated = check("4.3", lambda x, K, s, p, d: transposed_by_convolution(
        x, K, s, p, d, flip=False))
    assert not not_rotated and "not rotated" in not_rotated.message


def test_sizes_that_come_back() -> None:
    assert check("4.4", [9, 11, 13, 15])
    assert check("4.4", (15, 13, 11, 9))
    complement = check("4.4", [8, 10, 12, 14, 16])
    assert not complement and "do *not* come back" in complement.message
    every = check("4.4", list(range(8, 17)))
    assert not every and "not every size" in every.message
    assert not check("4.4", 4)
    for verdict in (complement, every):
        assert "9, 11" not in verdict.message


def test_missing_answers() -> None:
    for key in ("4.1", "4.2", "4.3", "4.4"):
        assert "no answer yet" in check(key, None).message
