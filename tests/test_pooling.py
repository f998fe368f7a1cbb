"""Tests of cnnbook.pooling against torch.nn.functional, on random shapes and arguments."""

from __future__ import annotations

import random
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from cnnbook.pooling import copy_unpool2d, max_unpool2d, pool2d, pool2d_loop, shift_tolerance

X44 = torch.arange(16, dtype=torch.float32).reshape(4, 4)


# --- the original article's examples ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kernel_size": 2}, [[5.0, 7.0], [13.0, 15.0]]),
        ({"kernel_size": 2, "mode": "avg"}, [[2.5, 4.5], [10.5, 12.5]]),
        ({"kernel_size": 3}, [[10.0]]),
        ({"kernel_size": 3, "padding": 1, "stride": 2}, [[5.0, 7.0], [13.0, 15.0]]),
        ({"kernel_size": (2, 3), "stride": (2, 3), "padding": (0, 1)}, [[5.0, 7.0], [13.0, 15.0]]),
    ],
)
def test_source_examples(kwargs: dict, expected: list) -> None:
    X = X44.reshape(1, 1, 4, 4)
    torch.testing.assert_close(pool2d(X, **kwargs), torch.tensor([[expected]]))
    torch.testing.assert_close(pool2d(X44, **kwargs), torch.tensor(expected))


def test_source_example_channels_pooled_separately() -> None:
    X = X44.reshape(1, 1, 4, 4)
    X2 = torch.cat((X, X + 1), 1)
    expected = torch.tensor([[[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]])
    torch.testing.assert_close(pool2d(X2, 3, padding=1, stride=2), expected)
    torch.testing.assert_close(pool2d(X2[0], 3, padding=1, stride=2), expected[0])


def test_loop_version_source_examples() -> None:
    torch.testing.assert_close(pool2d_loop(X44, 2), torch.tensor([[5.0, 7.0], [13.0, 15.0]]))
    torch.testing.assert_close(
        pool2d_loop(X44, (2, 2), "avg"), torch.tensor([[2.5, 4.5], [10.5, 12.5]])
    )
    torch.testing.assert_close(pool2d_loop(X44, 3), torch.tensor([[10.0]]))


# --- random cases against PyTorch --------------------------------------------------------------


def _random_input(rng: random.Random, gen: torch.Generator, shape: tuple, dtype: torch.dtype):
    kind = rng.choice(["normal", "ties", "special"]) if dtype.is_floating_point else "ints"
    if kind == "normal":
        x = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    elif kind == "ties":  # few distinct values: tie-breaking decides the indices
        x = torch.randint(0, 3, shape, generator=gen).to(dtype)
    elif kind == "special":  # NaN and -inf must be handled as PyTorch does
        x = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
        u = torch.rand(shape, generator=gen)
        x[u < 0.1] = float("-inf")
        x[u > 0.93] = float("nan")
    else:
        x = torch.randint(-5, 5, shape, generator=gen, dtype=dtype)
    if rng.random() < 0.25:  # a non-contiguous view
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    return x


def _random_pool_case(seed: int, mode: str) -> tuple[torch.Tensor, dict]:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    kh, kw = rng.randint(1, 5), rng.randint(1, 5)
    if rng.random() < 0.3:
        kw = kh
    kwargs: dict = {
        "kernel_size": (kh, kw) if rng.random() < 0.7 or kh != kw else kh,
        "padding": (rng.randint(0, kh // 2), rng.randint(0, kw // 2)),
        "ceil_mode": rng.random() < 0.5,
    }
    if rng.random() < 0.8:
        kwargs["stride"] = (rng.randint(1, 4), rng.randint(1, 4))
    if mode == "max":
        if rng.random() < 0.3:
            kwargs["dilation"] = (rng.randint(1, 3), rng.randint(1, 3))
        kwargs["return_indices"] = rng.random() < 0.6
        dtype = rng.choice([torch.float32, torch.float64, torch.int64])
    else:
        kwargs["count_include_pad"] = rng.random() < 0.5
        if rng.random() < 0.15:
            kwargs["divisor_override"] = rng.randint(1, 7)
        dtype = rng.choice([torch.float32, torch.float64])
    h, w = rng.randint(1, 14), rng.randint(1, 14)
    lead = rng.choice([(), (rng.randint(1, 3),), (rng.randint(1, 3), rng.randint(1, 3))])
    return _random_input(rng, gen, (*lead, h, w), dtype), kwargs


def _torch_pool(x: torch.Tensor, mode: str, kwargs: dict):
    """PyTorch's pooling; it takes (C, H, W) or (N, C, H, W), so a plane gets a channel dim."""
    plane = x.dim() == 2
    xt = x.unsqueeze(0) if plane else x
    kw = dict(kwargs)
    if mode == "max":
        out = F.max_pool2d(xt, **kw)
    else:
        out = F.avg_pool2d(xt, **kw)
    if plane:
        out = tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    return out


@pytest.mark.parametrize("seed", range(200))
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_matches_pytorch(seed: int, mode: str, one_thread: None) -> None:
    x, kwargs = _random_pool_case(seed, mode)
    try:
        expected = _torch_pool(x, mode, kwargs)
    except RuntimeError:
        # PyTorch refuses (window larger than the padded input): so must we, clearly.
        with pytest.raises(ValueError, match="larger than the padded input"):
            pool2d(x, mode=mode, **kwargs)
        return
    got = pool2d(x, mode=mode, **kwargs)
    if isinstance(expected, tuple):
        torch.testing.assert_close(got[0], expected[0], equal_nan=True)
        assert got[1].dtype == torch.int64
        torch.testing.assert_close(got[1], expected[1], rtol=0, atol=0)
    else:
        assert got.dtype == expected.dtype
        torch.testing.assert_close(got, expected, equal_nan=True)


@pytest.mark.parametrize("seed", range(40))
def test_pool2d_loop_matches_pytorch(seed: int, one_thread: None) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    h, w = rng.randint(1, 9), rng.randint(1, 9)
    p = (rng.randint(1, h), rng.randint(1, w))
    stride = rng.choice([None, 1, (rng.randint(1, 3), rng.randint(1, 3))])
    x = torch.randn(h, w, generator=gen)
    for mode, ref in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        expected = ref(x[None], p, stride=stride)[0]
        torch.testing.assert_close(pool2d_loop(x, p, mode, stride=stride), expected)
        torch.testing.assert_close(pool2d(x, p, stride=stride, mode=mode), expected)


def test_pool2d_half_precision_avg_sums_in_float() -> None:
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float16, torch.bfloat16):
        x = (torch.rand(2, 3, 11, 11, generator=gen) * 100).to(dtype)
        for kwargs in ({"kernel_size": 3}, {"kernel_size": 4, "stride": 2, "padding": 2}):
            got = pool2d(x, mode="avg", **kwargs)
            assert got.dtype == dtype
            torch.testing.assert_close(got, F.avg_pool2d(x, **kwargs))
            torch.testing.assert_close(pool2d(x, **kwargs), F.max_pool2d(x, **kwargs))


def test_pool2d_int64_avg_truncates_like_pytorch() -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.randint(-20, 20, (2, 3, 7, 8), generator=gen)
    for kwargs in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        {"kernel_size": (2, 3), "ceil_mode": True, "divisor_override": 4},
    ):
        got = pool2d(x, mode="avg", **kwargs)
        assert got.dtype == torch.int64
        torch.testing.assert_close(got, F.avg_pool2d(x, **kwargs), rtol=0, atol=0)


def test_ceil_mode_avg_divides_by_window_clipped_to_padded_input() -> None:
    # 6x6, window 3, stride 3, padding 1, ceil_mode: the last window starts at row 5 (inside the
    # input) and covers rows 5, 6, 7: row 6 is padding and row 7 lies past it. Clipped to the
    # padded input it counts 2 rows (1 without padding), so the corner averages X[5, 5] over
    # 2 * 2 = 4 elements with count_include_pad, over 1 without.
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    kwargs = {"kernel_size": 3, "stride": 3, "padding": 1, "ceil_mode": True, "mode": "avg"}
    with_pad = pool2d(x, **kwargs)
    without = pool2d(x, count_include_pad=False, **kwargs)
    assert with_pad.shape == (1, 1, 3, 3)
    assert with_pad[0, 0, 2, 2].item() == pytest.approx(35.0 / 4)
    assert without[0, 0, 2, 2].item() == pytest.approx(35.0)
    torch.testing.assert_close(with_pad, F.avg_pool2d(x, 3, 3, 1, ceil_mode=True))


def test_max_pool_indices_of_windows_holding_only_minus_inf() -> None:
    # Such a window keeps its first position inside the input (PyTorch's starting index), even
    # when the rows above it hold real values and the padding holds -inf too.
    x = torch.full((1, 1, 5, 6), float("-inf"))
    x[0, 0, 0] = torch.tensor([0.0, 3.0, 1.0, 2.0, 5.0, 4.0])
    for kwargs in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": (2, 3), "stride": 1, "padding": (1, 1), "dilation": 2},
    ):
        got = pool2d(x, return_indices=True, **kwargs)
        expected = F.max_pool2d(x, return_indices=True, **kwargs)
        torch.testing.assert_close(got[0], expected[0])
        torch.testing.assert_close(got[1], expected[1], rtol=0, atol=0)


# --- max-unpooling ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(80))
def test_max_unpool2d_inverts_pooling_like_pytorch(seed: int, one_thread: None) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    k = (rng.randint(1, 4), rng.randint(1, 4))
    s = (rng.randint(1, 4), rng.randint(1, 4))
    p = (rng.randint(0, k[0] // 2), rng.randint(0, k[1] // 2))
    batched = rng.random() < 0.7
    shape = (rng.randint(1, 3), rng.randint(1, 3)) if batched else (rng.randint(1, 3),)
    h = rng.randint(k[0] + 1, 13)
    w = rng.randint(k[1] + 1, 13)
    x = torch.randn(*shape, h, w, generator=gen)
    values, indices = F.max_pool2d(x, k, s, p, return_indices=True)
    choice = rng.choice(["default", "pair", "full"])
    if choice == "default":
        output_size = None
    elif choice == "pair":
        output_size = (h, w)
    else:
        output_size = tuple(x.shape)
    # PyTorch takes (H, W) or (N, C, H, W): give it the pair when the full shape is 3-D.
    torch_size = (
        output_size[-2:] if output_size is not None and len(output_size) == 3 else output_size
    )
    try:
        expected = F.max_unpool2d(values, indices, k, s, p, output_size=torch_size)
    except (RuntimeError, ValueError):
        # The default size can be smaller than the pooled input, so its indices do not fit.
        with pytest.raises(ValueError, match="indices must lie in"):
            max_unpool2d(values, indices, k, s, p, output_size=output_size)
        return
    got = max_unpool2d(values, indices, k, s, p, output_size=output_size)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    # Round trip: our pooling's indices drive our unpooling to the same result.
    ours_v, ours_i = pool2d(x, k, s, p, return_indices=True)
    torch.testing.assert_close(max_unpool2d(ours_v, ours_i, k, s, p, output_size), expected)


@pytest.mark.parametrize("seed", range(20))
def test_max_unpool2d_repeated_indices_last_writer_wins(seed: int, one_thread: None) -> None:
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(2, 3, 4, 4, generator=gen)
    indices = torch.randint(0, 9, (2, 3, 4, 4), generator=gen)  # many repeats
    expected = F.max_unpool2d(values, indices, 2, stride=1, padding=1, output_size=(3, 3))
    got = max_unpool2d(values, indices, 2, stride=1, padding=1, output_size=(3, 3))
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_max_unpool2d_plane_input() -> None:
    x = torch.tensor([[1.0, 5.0], [3.0, 2.0]])
    values, indices = pool2d(x, 2, return_indices=True)
    assert indices.tolist() == [[1]]
    torch.testing.assert_close(
        max_unpool2d(values, indices, 2), torch.tensor([[0.0, 5.0], [0.0, 0.0]])
    )


# --- copy-unpooling ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_copy_unpool2d_equals_nearest_upsampling(seed: int, one_thread: None) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    k = (rng.randint(1, 4), rng.randint(1, 4))
    x = torch.randn(
        rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 6), rng.randint(1, 6), generator=gen
    )
    expected = F.interpolate(x, scale_factor=k, mode="nearest")
    torch.testing.assert_close(copy_unpool2d(x, k), expected, rtol=0, atol=0)
    torch.testing.assert_close(copy_unpool2d(x[0], k), expected[0], rtol=0, atol=0)
    torch.testing.assert_close(copy_unpool2d(x[0, 0], k), expected[0, 0], rtol=0, atol=0)
    # Every window of the output holds one value: max- and avg-pooling it give that value back.
    torch.testing.assert_close(pool2d(copy_unpool2d(x, k), k), x)
    torch.testing.assert_close(pool2d(copy_unpool2d(x, k), k, mode="avg"), x)


# --- shift tolerance ----------------------------------------------------------------------------


def test_shift_tolerance_identity_and_constant() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 32, 32, generator=gen)
    assert shift_tolerance(x, lambda t: t) == 0.0  # continuous noise: every pixel changes
    assert shift_tolerance(torch.ones(3, 16, 16), lambda t: pool2d(t, 2, mode="avg")) == 1.0


def test_shift_tolerance_of_max_pooling_on_noise_matches_theory() -> None:
    # 2x2 windows, stride 2, shift right by one: the window and its shifted twin cover a 2x3
    # block and share its middle column, so the maximum survives iff it lies there: 2/6.
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(8, 64, 65, generator=gen)
    assert shift_tolerance(x, lambda t: pool2d(t, 2)) == pytest.approx(1 / 3, abs=0.02)
    # 3x3, stride 2, padding 1: a 3x4 block sharing two columns, 1/2 (1/3 in the two edge
    # columns of windows, which hold one real column less).
    frac = shift_tolerance(x, lambda t: pool2d(t, 3, stride=2, padding=1))
    assert frac == pytest.approx(0.5 - 2 / 32 / 6, abs=0.02)
    # Average pooling of noise almost never repeats exactly, but changes little.
    assert shift_tolerance(x, lambda t: pool2d(t, 2, mode="avg")) < 0.01
    assert shift_tolerance(x, lambda t: pool2d(t, 2, mode="avg"), atol=1.0) == 1.0


def test_shift_tolerance_compares_the_two_crops() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randint(0, 3, (1, 9, 10), generator=gen).float()

    def pool(t: torch.Tensor) -> torch.Tensor:
        return pool2d(t, 2, ceil_mode=True)

    for dy, dx in ((0, 1), (1, 0), (2, 3), (-1, 2)):
        a = x[..., max(-dy, 0) : 9 - max(dy, 0), max(-dx, 0) : 10 - max(dx, 0)]
        b = x[..., max(dy, 0) : 9 - max(-dy, 0), max(dx, 0) : 10 - max(-dx, 0)]
        expected = (pool(a) == pool(b)).float().mean().item()
        assert shift_tolerance(x, pool, dy, dx) == pytest.approx(expected)
        assert shift_tolerance(x, pool, -dy, -dx) == pytest.approx(expected)


# --- gradients, dtypes and layouts ----------------------------------------------------------


def _values_and_grads(fn, x: torch.Tensor, upstream_seed: int):
    """``fn(x)`` (a tensor, or a tuple whose first entry carries the gradient) and the gradient
    of that output, weighted by a random upstream gradient, with respect to ``x``."""
    x = x.detach().requires_grad_()
    out = fn(x)
    y = out[0] if isinstance(out, tuple) else out
    gen = torch.Generator().manual_seed(upstream_seed)
    upstream = torch.randn(y.shape, generator=gen, dtype=torch.float64).to(y.device, y.dtype)
    (grad,) = torch.autograd.grad(y, x, upstream)
    return out, grad


def _assert_pooling_matches(ours, theirs, grads, **tol) -> None:
    """Values (NaN where PyTorch's is NaN), indices exactly, and input gradients."""
    if isinstance(theirs, tuple):
        torch.testing.assert_close(ours[0], theirs[0], equal_nan=True, **tol)
        torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=0)
    else:
        assert ours.dtype == theirs.dtype
        torch.testing.assert_close(ours, theirs, equal_nan=True, **tol)
    torch.testing.assert_close(grads[0], grads[1], equal_nan=True, **tol)


def _has_window_without_input(x: torch.Tensor, kwargs: dict) -> bool:
    """Whether a dilated window holds padding only: PyTorch then returns an index past the
    input plane (as pool2d does), and its backward writes gradient there."""
    _, indices = _torch_pool(x, "max", {**kwargs, "return_indices": True})
    return bool((indices >= x.shape[-2] * x.shape[-1]).any())


@pytest.mark.parametrize("seed", range(100))
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_gradients_match_pytorch(seed: int, mode: str, one_thread: None) -> None:
    # The random cases of test_pool2d_matches_pytorch (other seeds), in floating point: ties,
    # NaN and -inf, ceil_mode, count_include_pad, dilation, return_indices, non-contiguous views.
    x, kwargs = _random_pool_case(10_000 + seed, mode)
    x = x if x.is_floating_point() else x.double()
    try:
        _torch_pool(x, mode, kwargs)
    except RuntimeError:
        return  # PyTorch refuses; test_pool2d_matches_pytorch checks that we do too
    if mode == "max" and _has_window_without_input(x, kwargs):
        return  # PyTorch's backward writes outside the input there (and may crash)
    ours, grad = _values_and_grads(lambda t: pool2d(t, mode=mode, **kwargs), x, seed)
    theirs, grad_t = _values_and_grads(lambda t: _torch_pool(t, mode, kwargs), x, seed)
    _assert_pooling_matches(ours, theirs, (grad, grad_t))


@pytest.mark.parametrize("seed", range(40))
def test_max_unpool2d_gradients_match_pytorch(seed: int, one_thread: None) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    k = (rng.randint(1, 4), rng.randint(1, 4))
    s = (rng.randint(1, 4), rng.randint(1, 4))
    p = (rng.randint(0, k[0] // 2), rng.randint(0, k[1] // 2))
    dtype = rng.choice([torch.float32, torch.float64])
    x = torch.randn(rng.randint(1, 3), rng.randint(1, 3), rng.randint(k[0] + 1, 12),
                    rng.randint(k[1] + 1, 12), generator=gen, dtype=dtype)  # fmt: skip
    pooled, indices = F.max_pool2d(x, k, s, p, return_indices=True)
    size = tuple(x.shape[-2:])  # the pooled input's size always holds every index
    ours, grad = _values_and_grads(lambda t: max_unpool2d(t, indices, k, s, p, size), pooled, seed)
    theirs, grad_t = _values_and_grads(
        lambda t: F.max_unpool2d(t, indices, k, s, p, output_size=size), pooled, seed
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    torch.testing.assert_close(grad, grad_t, rtol=0, atol=0)


@pytest.mark.parametrize("seed", range(20))
def test_pool2d_loop_and_copy_unpool2d_gradients_match_pytorch(seed: int, one_thread: None) -> None:
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    h, w = rng.randint(1, 8), rng.randint(1, 8)
    p = (rng.randint(1, h), rng.randint(1, w))
    stride = rng.choice([None, 1, (rng.randint(1, 3), rng.randint(1, 3))])
    x = torch.randn(h, w, generator=gen, dtype=torch.float64)  # no ties: one maximum per window
    for mode, ref in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        loop = partial(pool2d_loop, pool_size=p, mode=mode, stride=stride)
        ours, grad = _values_and_grads(loop, x, seed)
        theirs, grad_t = _values_and_grads(
            lambda t, ref=ref: ref(t[None], p, stride=stride)[0], x, seed
        )
        _assert_pooling_matches(ours, theirs, (grad, grad_t))
    k = (rng.randint(1, 3), rng.randint(1, 3))
    ours, grad = _values_and_grads(lambda t: copy_unpool2d(t, k), x, seed)
    theirs, grad_t = _values_and_grads(
        lambda t: F.interpolate(t[None, None], scale_factor=k, mode="nearest")[0, 0], x, seed
    )
    _assert_pooling_matches(ours, theirs, (grad, grad_t))


_POOL_ARGUMENTS = [
    ("max", {"kernel_size": 2}),
    ("max", {"kernel_size": 3, "stride": 2, "padding": 1, "return_indices": True}),
    ("max", {"kernel_size": (2, 3), "stride": 1, "dilation": 2, "ceil_mode": True,
             "return_indices": True}),
    ("avg", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg", {"kernel_size": (3, 2), "padding": (1, 0), "count_include_pad": False}),
]  # fmt: skip


@pytest.mark.parametrize(("mode", "kwargs"), _POOL_ARGUMENTS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_pool2d_dtypes_match_pytorch(dtype: torch.dtype, mode: str, kwargs: dict) -> None:
    gen = torch.Generator().manual_seed(3)
    x = (torch.randn(2, 3, 9, 10, generator=gen) * 10).to(dtype)
    x[0, 0, 2, 3] = float("nan")
    x[1, 2, :3, :4] = x[1, 2, 0, 0]  # ties
    ours, grad = _values_and_grads(lambda t: pool2d(t, mode=mode, **kwargs), x, 0)
    theirs, grad_t = _values_and_grads(lambda t: _torch_pool(t, mode, kwargs), x, 0)
    assert (ours[0] if isinstance(ours, tuple) else ours).dtype == grad.dtype == dtype
    # Gradients of overlapping windows are sums, added in another order than PyTorch's: in half
    # precision that moves the last bit or two (the gradients here are of order 1).
    tolerance = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float64: 1e-7}[dtype]
    _assert_pooling_matches(ours, theirs, (grad, grad_t), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(("mode", "kwargs"), _POOL_ARGUMENTS)
def test_pool2d_non_contiguous_inputs(mode: str, kwargs: dict) -> None:
    gen = torch.Generator().manual_seed(4)
    base = torch.randn(2, 3, 12, 11, generator=gen)
    for x in (
        base.transpose(-1, -2),  # columns as rows
        base[:, 1:, 2:11:2, 1:],  # a strided slice
        base[:, :, 1:, :].contiguous(memory_format=torch.channels_last),
        base[0, 1],  # a (H, W) plane of a batch
    ):
        assert not x.is_contiguous() or x.dim() == 2
        ours, grad = _values_and_grads(lambda t: pool2d(t, mode=mode, **kwargs), x, 1)
        theirs, grad_t = _values_and_grads(lambda t: _torch_pool(t, mode, kwargs), x, 1)
        _assert_pooling_matches(ours, theirs, (grad, grad_t))


def test_max_unpool2d_non_contiguous_inputs() -> None:
    base = torch.randn(2, 3, 12, 11, generator=torch.Generator().manual_seed(4))
    values, indices = F.max_pool2d(base, 2, return_indices=True)
    expected = F.max_unpool2d(values, indices, 2, output_size=(12, 11))
    values, indices = (
        t.transpose(-1, -2).contiguous().transpose(-1, -2) for t in (values, indices)
    )
    assert not values.is_contiguous() and not indices.is_contiguous()
    got = max_unpool2d(values, indices, 2, output_size=(12, 11))
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_ops_take_a_layer_output_that_requires_grad() -> None:
    # What a learner does first: pool the output of a layer, inside a network, and train it.
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 12, 12)
    pairs = [
        (lambda t: pool2d(t, 3, stride=2), lambda t: F.max_pool2d(t, 3, stride=2)),
        (lambda t: pool2d(t, 2, mode="avg"), lambda t: F.avg_pool2d(t, 2)),
        (lambda t: max_unpool2d(*pool2d(t, 2, return_indices=True), 2),
         lambda t: F.max_unpool2d(*F.max_pool2d(t, 2, return_indices=True), 2)),
        (lambda t: copy_unpool2d(pool2d(t, 2), 2),
         lambda t: F.interpolate(F.max_pool2d(t, 2), scale_factor=2, mode="nearest")),
    ]  # fmt: skip
    for ours, theirs in pairs:
        y, y_t = ours(conv(x)), theirs(conv(x))
        assert y.requires_grad
        torch.testing.assert_close(y, y_t)
        upstream = torch.randn_like(y)
        grads = torch.autograd.grad(y, list(conv.parameters()), upstream)
        grads_t = torch.autograd.grad(y_t, list(conv.parameters()), upstream)
        for g, g_t in zip(grads, grads_t, strict=True):
            torch.testing.assert_close(g, g_t)
    values, indices = pool2d(conv(x), 3, stride=2, return_indices=True)
    assert values.requires_grad and not indices.requires_grad and indices.dtype == torch.int64


def test_max_unpool2d_names_both_devices() -> None:
    values, indices = _pooled()
    with pytest.raises(ValueError, match="X is on cpu but indices is on meta"):
        max_unpool2d(values, indices.to("meta"), 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_pool2d_on_cuda_matches_pytorch() -> None:
    gen = torch.Generator().manual_seed(6)
    x = torch.randint(0, 3, (2, 3, 13, 12), generator=gen).float().cuda()  # ties
    x[0, 0, 5, 5] = float("nan")
    for mode, kwargs in _POOL_ARGUMENTS:
        ours, grad = _values_and_grads(partial(pool2d, mode=mode, **kwargs), x, 2)
        theirs, grad_t = _values_and_grads(partial(_torch_pool, mode=mode, kwargs=kwargs), x, 2)
        _assert_pooling_matches(ours, theirs, (grad, grad_t))
    values, indices = pool2d(x, 2, return_indices=True)
    torch.testing.assert_close(
        max_unpool2d(values, indices, 2), F.max_unpool2d(values, indices, 2), rtol=0, atol=0
    )


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((X44, 3), {"padding": 2}, "more than half the window"),
        ((X44, (2, 4)), {"padding": (1, 3)}, "more than half the window"),
        ((X44, 5), {}, "larger than the padded input"),
        ((X44, (1, 3)), {"dilation": 2}, "larger than the padded input"),
        ((X44, 2), {"mode": "min"}, "mode must be 'max' or 'avg'"),
        ((X44, 2), {"mode": "avg", "return_indices": True}, "return_indices=True needs"),
        ((X44, 2), {"mode": "avg", "dilation": 2}, "needs mode='max'"),
        ((X44, 2), {"divisor_override": 3}, "only apply to mode='avg'"),
        ((X44, 2), {"count_include_pad": False}, "only apply to mode='avg'"),
        ((X44, 2), {"mode": "avg", "divisor_override": 0}, "divisor_override must be"),
        ((X44, 0), {}, "kernel_size must be positive"),
        ((X44, 2), {"stride": 0}, "stride must be positive"),
        ((X44, 2), {"padding": -1}, "padding must be non-negative"),
        ((X44, (2, 2, 2)), {}, "kernel_size must be an int or a pair"),
        ((torch.zeros(4), 2), {}, "4 dimensions"),
        ((torch.zeros(1, 1, 1, 4, 4), 2), {}, "got shape"),
        ((X44.tolist(), 2), {}, "must be a torch.Tensor"),
        ((X44.int(), 2), {"mode": "avg"}, "floating-point"),
        ((X44 > 3, 2), {}, "real-valued"),
        ((X44.to(torch.complex64), 2), {}, "real-valued"),
    ],
)
def test_pool2d_errors(args: tuple, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pool2d(*args, **kwargs)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((X44, 5), "larger than the input"),
        ((X44, 2, "median"), "mode must be"),
        ((X44.long(), 2, "avg"), "floating-point"),
        ((X44[None], 2), "2 dimensions"),
        ((X44, 0), "pool_size must be positive"),
    ],
)
def test_pool2d_loop_errors(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pool2d_loop(*args)


def _pooled() -> tuple[torch.Tensor, torch.Tensor]:
    return pool2d(torch.arange(36.0).reshape(1, 1, 6, 6), 2, return_indices=True)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda v, i: max_unpool2d(v, i[..., :2], 2), "must have the shape of X"),
        (lambda v, i: max_unpool2d(v, i.float(), 2), "integer tensor"),
        (lambda v, i: max_unpool2d(v, i, 2, output_size=(4, 6)), "impossible"),
        (lambda v, i: max_unpool2d(v, i, 2, output_size=(6, 8)), "impossible"),
        (lambda v, i: max_unpool2d(v, i, 2, output_size=(1, 1, 6)), "output_size"),
        (lambda v, i: max_unpool2d(v, i, 2, output_size=(2, 1, 6, 6)), "leading dimensions"),
        (lambda v, i: max_unpool2d(v, i + 30, 2), r"indices must lie in \[0, 36\)"),
        (lambda v, i: max_unpool2d(v, i - 8, 2), "found -"),
        (lambda v, i: max_unpool2d(v, i, 2, padding=3), "not positive"),
        (lambda v, i: max_unpool2d(v, i, 0), "kernel_size must be positive"),
        (lambda v, i: max_unpool2d(v[0, 0, 0], i[0, 0, 0], 2), r"got shape \(3,\)"),
        (lambda v, i: max_unpool2d(v, i.tolist(), 2), "must be a torch.Tensor"),
    ],
)
def test_max_unpool2d_errors(make, match: str) -> None:
    values, indices = _pooled()
    with pytest.raises(ValueError, match=match):
        make(values, indices)


def test_max_unpool2d_output_size_zero() -> None:
    values, indices = pool2d(torch.ones(1, 1, 1, 1), 1, return_indices=True)
    with pytest.raises(ValueError, match="must be positive"):
        max_unpool2d(values, indices, 1, stride=2, output_size=(0, 1))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((X44, 0), "kernel_size must be positive"),
        ((X44, (1, 2, 3)), "kernel_size must be an int or a pair"),
        ((torch.zeros(3), 2), "got shape"),
    ],
)
def test_copy_unpool2d_errors(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        copy_unpool2d(*args)


def test_shift_tolerance_errors() -> None:
    def same(t: torch.Tensor) -> torch.Tensor:
        return t

    with pytest.raises(ValueError, match="dx must be an int"):
        shift_tolerance(X44, same, 0, 1.5)
    with pytest.raises(ValueError, match="dy must be an int"):
        shift_tolerance(X44, same, True, 1)
    with pytest.raises(ValueError, match="smaller than the input"):
        shift_tolerance(X44, same, 0, 4)
    with pytest.raises(ValueError, match="smaller than the input"):
        shift_tolerance(X44, same, -4, 0)
    with pytest.raises(ValueError, match="atol must be non-negative"):
        shift_tolerance(X44, same, atol=-1.0)
    with pytest.raises(ValueError, match="empty output"):
        shift_tolerance(X44, lambda t: t[..., :0])
    calls = []

    def growing(t: torch.Tensor) -> torch.Tensor:  # a "pool" whose shape depends on the call
        calls.append(1)
        return t[..., : len(calls)]

    with pytest.raises(ValueError, match="equal shapes"):
        shift_tolerance(X44, growing)
    with pytest.raises(ValueError, match="got shape"):
        shift_tolerance(torch.zeros(5), same)
