"""Tests of cnnbook.interpolate against torch.nn.functional.interpolate."""

from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F

from cnnbook.interpolate import (
    bilinear_at,
    bilinear_weights,
    interpolate,
    lerp,
    linear_at,
    linear_weights,
    nearest_indices,
    source_coordinates,
    trilinear_at,
    trilinear_weights,
)

LINEAR_MODE = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _random_resize(rng: random.Random, in_sizes: list[int]) -> dict:
    """size or scale_factor: up and down, integer and fractional, one value or one per axis."""
    spatial = len(in_sizes)
    kind = rng.choice(["size", "size", "int_factor", "factor", "factor"])
    if kind == "size":
        sizes = [rng.randint(1, 2 * n + 3) for n in in_sizes]
        return {"size": sizes[0] if rng.random() < 0.2 else tuple(sizes)}
    if kind == "int_factor":
        factors = [rng.randint(1, 3) for _ in in_sizes]
    else:
        # Down to 1/3 and up to 3x, avoiding factors that give an empty output.
        factors = [
            round(rng.uniform(max(1.0 / n, 0.34) + 1e-3, 3.0), rng.choice([1, 2, 3]))
            for n in in_sizes
        ]
        factors = [max(f, 1.0 / n + 1e-3) for f, n in zip(factors, in_sizes, strict=True)]
    if rng.random() < 0.3 and len(set(in_sizes)) == 1:
        return {"scale_factor": factors[0]}
    return {"scale_factor": tuple(factors) if spatial > 1 else factors[0]}


def _random_case(seed: int) -> tuple[torch.Tensor, dict]:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    dims = rng.choice([3, 4, 5])
    in_sizes = [rng.randint(1, 9 if dims < 5 else 5) for _ in range(dims - 2)]
    shape = (rng.randint(1, 2), rng.randint(1, 3), *in_sizes)
    kwargs = _random_resize(rng, in_sizes)
    mode = rng.choice(["nearest", LINEAR_MODE[dims]])
    kwargs["mode"] = mode
    if mode != "nearest":
        kwargs["align_corners"] = rng.choice([None, False, True])
    dtype = rng.choice([torch.float32, torch.float32, torch.float64])
    x = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    if rng.random() < 0.2:  # a non-contiguous view
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    return x, kwargs


@pytest.mark.parametrize("seed", range(300))
def test_interpolate_matches_pytorch(seed: int) -> None:
    x, kwargs = _random_case(seed)
    expected = F.interpolate(x, **kwargs)
    got = interpolate(x, **kwargs)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if kwargs["mode"] == "nearest":
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    else:
        torch.testing.assert_close(got, expected)


@pytest.mark.parametrize(
    "scale_factor", [2, 3, 0.5, 1.5, 1.7, 0.3, 0.37, 1.01, 2.9999, (1.25, 0.8), 0.999]
)
@pytest.mark.parametrize("mode", ["nearest", "bilinear-false", "bilinear-true"])
def test_interpolate_chosen_factors(scale_factor, mode: str) -> None:
    x = torch.randn(2, 3, 17, 20, generator=torch.Generator().manual_seed(3))
    kwargs = {"scale_factor": scale_factor, "mode": mode.split("-")[0]}
    if mode != "nearest":
        kwargs["align_corners"] = mode.endswith("true")
    torch.testing.assert_close(interpolate(x, **kwargs), F.interpolate(x, **kwargs))


def test_interpolate_nearest_small_integer_and_reduced_precision() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randint(0, 256, (2, 3, 7, 5), generator=gen).to(torch.uint8)
    for size in ((11, 3), (14, 10), (7, 5), (3, 2)):
        assert torch.equal(interpolate(x, size=size), F.interpolate(x, size=size))
    for dtype in (torch.float16, torch.bfloat16):
        y = torch.randn(2, 3, 7, 5, generator=gen).to(dtype)
        for kwargs in ({"size": (11, 4)}, {"scale_factor": 1.5, "align_corners": True}):
            expected = F.interpolate(y, mode="bilinear", **kwargs)
            torch.testing.assert_close(interpolate(y, mode="bilinear", **kwargs), expected)


@pytest.mark.parametrize("seed", range(12))
def test_interpolate_many_planes(seed: int) -> None:
    # Many (N, C) planes at once: every plane goes through the same gathers and blends.
    x, kwargs = _random_case(1000 + seed)
    x = torch.cat([x] * 4)
    expected = F.interpolate(x, **kwargs)
    torch.testing.assert_close(interpolate(x, **kwargs), expected, rtol=1.3e-6, atol=1e-5)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("seed", range(40))
def test_interpolate_gradients_match_pytorch(seed: int) -> None:
    # A random upstream gradient dL/dy, and the gradient it gives the input.
    x, kwargs = _random_case(2000 + seed)
    x = x.double().requires_grad_()
    ours, theirs = interpolate(x, **kwargs), F.interpolate(x, **kwargs)
    upstream = torch.randn(theirs.shape, generator=torch.Generator().manual_seed(seed),
                           dtype=torch.float64)  # fmt: skip
    (mine,) = torch.autograd.grad(ours, x, upstream)
    (reference,) = torch.autograd.grad(theirs, x, upstream)
    torch.testing.assert_close(mine, reference)


# Reduced precision: the linear modes compute in float32 and round once, as PyTorch does.
TOLERANCE = {torch.float16: 1e-3, torch.bfloat16: 8e-3, torch.float32: 1.3e-6, torch.float64: 1e-7}


@pytest.mark.parametrize("dtype", list(TOLERANCE))
@pytest.mark.parametrize("mode", ["nearest", "linear", "bilinear", "trilinear"])
def test_interpolate_dtypes_and_non_contiguous_inputs(dtype: torch.dtype, mode: str) -> None:
    gen = torch.Generator().manual_seed(6)
    dims = {"linear": 3, "bilinear": 4, "trilinear": 5}.get(mode, 4)
    x = torch.randn(3, 2, *[5] * (dims - 2), generator=gen).to(dtype).transpose(0, 1)
    assert not x.is_contiguous()
    extra = {} if mode == "nearest" else {"align_corners": False}
    for kwargs in ({"size": 7}, {"scale_factor": 0.6}):
        expected = F.interpolate(x, mode=mode, **kwargs, **extra)
        got = interpolate(x, mode=mode, **kwargs, **extra)
        assert got.dtype == dtype and got.shape == expected.shape
        tol = 0 if mode == "nearest" else TOLERANCE[dtype]
        torch.testing.assert_close(got, expected, rtol=tol, atol=tol)


def test_interpolate_after_a_conv_layer() -> None:
    # The first thing a learner does: resize a layer's output (it requires grad) and
    # backpropagate into the layer's parameters.
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 9, 9)
    for kwargs in ({"scale_factor": 2}, {"size": (5, 11), "mode": "bilinear"}):
        grads = []
        for op in (interpolate, F.interpolate):
            hidden = layer(x)
            assert hidden.requires_grad
            out = op(hidden, **kwargs)
            grads.append(torch.autograd.grad(out.square().sum(), [layer.weight, layer.bias]))
        for mine, reference in zip(*grads, strict=True):
            torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-4)


def test_equal_size_is_a_copy_whatever_the_factor() -> None:
    # floor(3 * 1.2) = 3: PyTorch copies the axis instead of applying 1 / 1.2.
    x = torch.arange(3.0).reshape(1, 1, 3)
    got = interpolate(x, scale_factor=1.2, mode="linear")
    torch.testing.assert_close(got, x)
    torch.testing.assert_close(got, F.interpolate(x, scale_factor=1.2, mode="linear"))
    assert got.data_ptr() != x.data_ptr()


# --- the building blocks ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_nearest_indices_are_what_pytorch_copies(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    if rng.random() < 0.5:
        factor, out = None, rng.randint(1, 3 * n)
        ramp = F.interpolate(torch.arange(float(n)).reshape(1, 1, n), size=out)
    else:
        factor = round(rng.uniform(1.0 / n + 0.01, 3.5), 3)
        out = math.floor(n * factor)
        ramp = F.interpolate(torch.arange(float(n)).reshape(1, 1, n), scale_factor=factor)
    assert nearest_indices(n, out, factor).tolist() == ramp.flatten().long().tolist()
    # The 2-D kernel (4-D input) copies equal sizes and halves doubled ones, whatever the factor.
    kwargs = {"size": (1, out)} if factor is None else {"scale_factor": (1.0, factor)}
    ramp2d = F.interpolate(torch.arange(float(n)).reshape(1, 1, 1, n), **kwargs)
    expected = ramp2d.flatten().long().tolist()
    assert nearest_indices(n, out, factor, shortcuts=True).tolist() == expected


def test_nearest_shortcuts() -> None:
    assert nearest_indices(3, 3, 1.2).tolist() == [0, 0, 1]
    assert nearest_indices(3, 3, 1.2, shortcuts=True).tolist() == [0, 1, 2]
    assert nearest_indices(2, 4, 2.4).tolist() == [0, 0, 0, 1]
    assert nearest_indices(2, 4, 2.4, shortcuts=True).tolist() == [0, 0, 1, 1]
    for x in (torch.arange(3.0).reshape(1, 1, 3), torch.arange(3.0).reshape(1, 1, 1, 1, 3)):
        assert interpolate(x, scale_factor=1.2).flatten().tolist() == [0.0, 0.0, 1.0]
    x = torch.arange(3.0).reshape(1, 1, 1, 3)
    assert interpolate(x, scale_factor=1.2).flatten().tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("align_corners", [False, True])
def test_source_coordinates_are_where_pytorch_reads(seed: int, align_corners: bool) -> None:
    # Linear interpolation of the ramp 0, 1, ..., n-1 returns the position it reads at (clamped
    # to the last sample), so the ramp shows PyTorch's source coordinates.
    rng = random.Random(seed)
    n = rng.randint(1, 30)
    if rng.random() < 0.5:
        factor, out = None, rng.randint(1, 3 * n)
        kwargs = {"size": out}
    else:
        factor = round(rng.uniform(1.0 / n + 0.01, 3.5), 3)
        out = math.floor(n * factor)
        kwargs = {"scale_factor": factor}
    ramp = torch.arange(float(n), dtype=torch.float64).reshape(1, 1, n)
    expected = F.interpolate(ramp, mode="linear", align_corners=align_corners, **kwargs)
    src = source_coordinates(n, out, align_corners, factor, dtype=torch.float64)
    torch.testing.assert_close(src.clamp(max=n - 1), expected.flatten())
    assert src.min() >= 0


def test_source_coordinates_conventions() -> None:
    # 4 -> 8 without align_corners: centres (i + 0.5) / 2 - 0.5 = -0.25 (clamped), 0.25, 0.75...
    torch.testing.assert_close(
        source_coordinates(4, 8), torch.tensor([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25])
    )
    # with align_corners the corner samples map to each other: i * 3 / 7.
    torch.testing.assert_close(
        source_coordinates(4, 8, align_corners=True), torch.arange(8.0) * (3 / 7)
    )
    # a scale factor sets the coordinates even when the sizes alone would say otherwise
    torch.testing.assert_close(
        source_coordinates(5, 8, scale_factor=1.7)[1], torch.tensor(0.3824), atol=1e-4, rtol=0
    )


def test_lerp() -> None:
    assert lerp(2.0, 6.0, 0.0) == 2.0
    assert lerp(2.0, 6.0, 1.0) == 6.0
    assert lerp(2.0, 6.0, 0.25) == 3.0
    torch.testing.assert_close(
        lerp(torch.tensor([0.0, 10.0]), torch.tensor([4.0, 20.0]), 0.5), torch.tensor([2.0, 15.0])
    )


def test_weights() -> None:
    assert linear_weights(1.25, 4) == [(1, 0.75), (2, 0.25)]
    assert linear_weights(3.0, 4) == [(3, 1.0)]
    assert linear_weights(7.5, 4) == [(3, 1.0)]  # beyond the last sample: the edge value
    assert linear_weights(-2.0, 4) == [(0, 1.0), (1, 0.0)]
    assert linear_weights(0.0, 1) == [(0, 1.0)]
    weights = bilinear_weights(0.5, 1.25, (3, 4))
    assert weights == [((0, 1), 0.375), ((0, 2), 0.125), ((1, 1), 0.375), ((1, 2), 0.125)]
    assert len(trilinear_weights(0.5, 0.5, 0.5, (2, 2, 2))) == 8
    assert len(trilinear_weights(1.0, 0.5, 0.5, (2, 2, 2))) == 4  # on the far face


@pytest.mark.parametrize("seed", range(30))
def test_weights_sum_to_one_and_reproduce_the_point_functions(seed: int) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    shape = (rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 6))
    z, y, x = (rng.uniform(-1.0, s) for s in shape)
    volume = torch.randn(shape, generator=gen, dtype=torch.float64)
    w3 = trilinear_weights(z, y, x, shape)
    assert sum(w for _, w in w3) == pytest.approx(1.0)
    assert all(w >= 0 for _, w in w3)
    torch.testing.assert_close(trilinear_at(volume, z, y, x), sum(w * volume[idx] for idx, w in w3))
    grid = volume[0]
    w2 = bilinear_weights(y, x, shape[1:])
    assert sum(w for _, w in w2) == pytest.approx(1.0)
    value = sum(w * grid[idx] for idx, w in w2)
    torch.testing.assert_close(bilinear_at(grid, y, x), value)
    torch.testing.assert_close(bilinear_at(grid, y, x, first="y"), value)
    line = grid[0]
    w1 = linear_weights(x, shape[2])
    torch.testing.assert_close(linear_at(line, x), sum(w * line[i] for i, w in w1))


# --- the point functions on the output grid of interpolate ------------------------------------


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("align_corners", [False, True])
def test_point_functions_match_interpolate(seed: int, align_corners: bool) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    d, h, w = rng.randint(1, 4), rng.randint(1, 6), rng.randint(1, 6)
    factor = rng.choice([None, round(rng.uniform(1.1, 2.6), 2)])
    if factor is None:
        od, oh, ow = rng.randint(1, 7), rng.randint(1, 9), rng.randint(1, 9)
        kwargs = {"size": (od, oh, ow)}
    else:
        od, oh, ow = (math.floor(n * factor) for n in (d, h, w))
        kwargs = {"scale_factor": factor}
    volume = torch.randn(1, 2, d, h, w, generator=gen)
    sz = source_coordinates(d, od, align_corners, factor)
    sy = source_coordinates(h, oh, align_corners, factor)
    sx = source_coordinates(w, ow, align_corners, factor)
    tri = interpolate(volume, mode="trilinear", align_corners=align_corners, **kwargs)
    bi = interpolate(
        volume[:, :, 0],
        mode="bilinear",
        align_corners=align_corners,
        **{k: v[1:] if isinstance(v, tuple) else v for k, v in kwargs.items()},
    )
    lin = interpolate(
        volume[:, :, 0, 0],
        mode="linear",
        align_corners=align_corners,
        **{k: v[2:] if isinstance(v, tuple) else v for k, v in kwargs.items()},
    )
    for _ in range(6):
        k, i, j = rng.randrange(od), rng.randrange(oh), rng.randrange(ow)
        # Leading (batch, channel) dimensions ride along.
        torch.testing.assert_close(trilinear_at(volume[0], sz[k], sy[i], sx[j]), tri[0, :, k, i, j])
        for first in ("x", "y"):
            torch.testing.assert_close(
                bilinear_at(volume[0, :, 0], sy[i], sx[j], first=first), bi[0, :, i, j]
            )
        torch.testing.assert_close(linear_at(volume[0, 0, 0, 0], sx[j]), lin[0, 0, j])


@pytest.mark.parametrize("seed", range(15))
def test_bilinear_is_linear_along_one_axis_then_the_other(seed: int) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    n, c, h, w = 2, 3, rng.randint(1, 8), rng.randint(1, 8)
    oh, ow = rng.randint(1, 15), rng.randint(1, 15)
    align = rng.choice([False, True])
    x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)

    def along_width(t: torch.Tensor, size: int) -> torch.Tensor:  # (n, c, rows, cols)
        rows = t.shape[2]
        flat = t.permute(0, 2, 1, 3).reshape(n * rows, c, t.shape[3])
        out = interpolate(flat, size=size, mode="linear", align_corners=align)
        return out.reshape(n, rows, c, size).permute(0, 2, 1, 3)

    def along_height(t: torch.Tensor, size: int) -> torch.Tensor:
        return along_width(t.transpose(2, 3), size).transpose(2, 3)

    expected = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=align)
    torch.testing.assert_close(along_height(along_width(x, ow), oh), expected)
    torch.testing.assert_close(along_width(along_height(x, oh), ow), expected)


# --- errors ------------------------------------------------------------------------------------

X4 = torch.zeros(1, 1, 4, 4)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((X4,), {"size": 8, "scale_factor": 2}, "exactly one of size and scale_factor, got both"),
        ((X4,), {}, "exactly one of size and scale_factor, got neither"),
        ((X4, 8), {"mode": "bicubic"}, "mode must be one of"),
        ((X4, 8), {"mode": "linear"}, "mode='linear' needs a 3-D input"),
        ((X4, 8), {"mode": "trilinear"}, "use mode='bilinear'"),
        ((torch.zeros(1, 1, 4), 8), {"mode": "bilinear"}, "needs a 4-D input"),
        ((torch.zeros(1, 1, 2, 2, 2), 8), {"mode": "bilinear"}, "use mode='trilinear'"),
        ((X4, 8), {"align_corners": True}, "align_corners only applies"),
        ((X4, 8), {"align_corners": False}, "align_corners only applies"),
        ((X4, 8), {"mode": "bilinear", "align_corners": 1}, "align_corners must be"),
        ((X4, (8, 8, 8)), {}, "size must be a positive int or 2 positive ints"),
        ((X4, 0), {}, "size must be a positive"),
        ((X4, (8, -1)), {}, "size must be a positive"),
        ((X4, 2.5), {}, "size must be a positive"),
        ((X4, (8, True)), {}, "size must be a positive"),
        ((X4,), {"scale_factor": 0}, "scale_factor must be a positive"),
        ((X4,), {"scale_factor": -2.0}, "scale_factor must be a positive"),
        ((X4,), {"scale_factor": float("nan")}, "scale_factor must be a positive"),
        ((X4,), {"scale_factor": float("inf")}, "scale_factor must be a positive"),
        ((X4,), {"scale_factor": (2, 2, 2)}, "scale_factor must be a positive"),
        ((X4,), {"scale_factor": "2"}, "scale_factor must be a positive"),
        ((X4,), {"scale_factor": 0.2}, "every output size must be at least 1"),
        ((torch.zeros(4, 4), 8), {}, "got shape"),
        ((torch.zeros(1, 1, 1, 1, 1, 1), 8), {}, "got shape"),
        ((X4.tolist(), 8), {}, "must be a torch.Tensor"),
        ((X4.long(), 8), {"mode": "bilinear"}, "floating-point"),
        ((torch.zeros(1, 1, 0, 4), 8), {}, "non-empty spatial"),
    ],
)
def test_interpolate_errors(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        interpolate(*args, **kwargs)


def test_point_function_errors() -> None:
    grid = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="x must be a finite number"):
        bilinear_at(grid, 0.5, float("nan"))
    with pytest.raises(ValueError, match="y must be a finite number"):
        bilinear_at(grid, "1", 0.5)
    with pytest.raises(ValueError, match="y must be a finite number"):
        bilinear_at(grid, True, 0.5)
    with pytest.raises(ValueError, match="first must be 'x' or 'y'"):
        bilinear_at(grid, 0.5, 0.5, first="z")
    with pytest.raises(ValueError, match="got shape"):
        bilinear_at(torch.zeros(4), 0.5, 0.5)
    with pytest.raises(ValueError, match="got shape"):
        trilinear_at(grid, 0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="z must be a finite number"):
        trilinear_at(torch.zeros(2, 2, 2), float("inf"), 0.5, 0.5)
    with pytest.raises(ValueError, match="got shape"):
        linear_at(torch.zeros(1, 1, 1, 3), 0.5)
    with pytest.raises(ValueError, match="length must be a positive int"):
        linear_weights(0.5, 0)
    with pytest.raises(ValueError, match="shape must be 2 positive ints"):
        bilinear_weights(0.5, 0.5, (3, 0))
    with pytest.raises(ValueError, match="shape must be 3 positive ints"):
        trilinear_weights(0.5, 0.5, 0.5, (3, 3))
