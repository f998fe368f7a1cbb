"""Chapter 6's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

import torch

from cnnbook.exercises import check
from cnnbook.interpolate import interpolate, linear_at, source_coordinates


def test_bilinear_midpoints() -> None:
    assert check("6.1", (0.25, 0.5))
    linear = check("6.1", (0.5, 0.5))  # as if bilinear were linear in the position
    assert not linear and "linear in the position" in linear.message
    assert not check("6.1", (0.25, 0.0))
    for verdict in (linear, check("6.1", (0.25, 0.0))):
        assert "0.25" not in verdict.message


def resize_linear(line, m):
    src = source_coordinates(line.shape[0], m, align_corners=False)
    return torch.stack([linear_at(line, float(s)) for s in src])


def test_resize_linear() -> None:
    assert check("6.2", resize_linear)
    corners = check("6.2", lambda line, m: torch.stack(
        [linear_at(line, float(s)) for s in source_coordinates(line.shape[0], m, True)]))
    assert not corners and "align_corners=True" in corners.message
    edges = check("6.2", lambda line, m: torch.stack(
        [linear_at(line, i * line.shape[0] / m) for i in range(m)]))
    assert not edges and "left edges" in edges.message
    nearest = check("6.2", lambda line, m: interpolate(line[None, None], size=m)[0, 0])
    assert not nearest and "nearest" in nearest.message


def test_stride_three_bilinear_kernel() -> None:
    k3 = torch.tensor([1 / 3, 2 / 3, 1.0, 2 / 3, 1 / 3])
    assert check("6.5", k3)
    assert check("6.5", (k3[:, None] * k3[None, :])[None, None])
    dark = check("6.5", k3 / 3)  # normalised to sum 1
    assert not dark and "too dark" in dark.message
    stride_two = check("6.5", [0.25, 0.75, 0.75, 0.25])  # the stride-2 kernel
    assert not stride_two and "3 times" in stride_two.message
    assert not check("6.5", [0.0, 0.5, 1.0, 0.5, 0.0])  # weights of a stride-2 spacing
    for verdict in (dark, stride_two):
        assert "2/3" not in verdict.message and "0.667" not in verdict.message


def test_pool_unpool_pool() -> None:
    zeros = [[0, 0], [0, 0]]
    assert check("6.6", ([[9, 6], [7, 8]], zeros))
    same = check("6.6", ([[9, 6], [7, 8]], [[-2, -1], [-1, -3]]))  # the identity assumed
    assert not same and "not the identity" in same.message
    assert "[[0" not in same.message and "zero" not in same.message
    assert not check("6.6", ([[9, 6], [7, 7]], zeros))


def test_upsampling_costs() -> None:
    right = ((65_600, 51_380_224), (36_928, 115_605_504))
    assert check("6.7", right)
    per_output = check("6.7", ((65_600, 4 * 51_380_224), right[1]))
    assert not per_output and "per input pixel" in per_output.message
    no_bias = check("6.7", ((65_536, 51_380_224), (36_864, 115_605_504)))
    assert not no_bias and "bias" in no_bias.message
    small = check("6.7", (right[0], (36_928, 115_605_504 // 4)))  # conv on the 28x28 map
    assert not small and "after the resize" in small.message
    for verdict in (per_output, no_bias, small):
        assert "51380224" not in verdict.message and "115605504" not in verdict.message


def test_missing_answers() -> None:
    for key in ("6.1", "6.2", "6.5", "6.6", "6.7"):
        assert "no answer yet" in check(key, None).message
