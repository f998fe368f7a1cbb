"""Property tests of cnnbook.conv.conv2d against PyTorch, and tests of the teaching versions."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.conv import (
    conv1x1_matmul,
    conv2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    depthwise_separable_conv2d,
    dilate_kernel,
    grouped_conv2d,
)
from cnnbook.shapes import conv_params

SEEDS = range(60)
TORCH_ERRORS = (RuntimeError, ValueError)


# Tiny tensors: one intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def randn(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def random_int_or_pair(rng: random.Random, low: int, high: int) -> int | tuple[int, int]:
    if rng.random() < 0.5:
        return rng.randint(low, high)
    return (rng.randint(low, high), rng.randint(low, high))


def random_conv_case(rng: random.Random, generator: torch.Generator) -> tuple[list, dict]:
    """Random input, weight and arguments for conv2d: any groups, stride, padding, dilation."""
    groups = rng.randint(1, 3)
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    batch = rng.choice([(), (1,), (rng.randint(2, 3),)])  # () is unbatched
    x = randn(generator, *batch, c_in, rng.randint(1, 10), rng.randint(1, 10))
    if rng.random() < 0.2:  # a non-contiguous input must work too
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    weight = randn(generator, c_out, c_in // groups, kh, kw)
    bias = randn(generator, c_out) if rng.random() < 0.5 else None
    padding = rng.choice(["same", "valid", rng.randint(0, 3), random_int_or_pair(rng, 0, 3)])
    stride = 1 if padding == "same" and rng.random() < 0.9 else random_int_or_pair(rng, 1, 3)
    kwargs = dict(
        stride=stride,
        padding=padding,
        dilation=random_int_or_pair(rng, 1, 3),
        groups=groups,
    )
    return [x, weight, bias], kwargs


# --- conv2d against PyTorch ---------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_matches_pytorch(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    compared = 0
    for _ in range(12):
        args, kwargs = random_conv_case(rng, generator)
        try:
            expected = F.conv2d(*args, **kwargs)
        except TORCH_ERRORS:
            with pytest.raises(ValueError):
                conv2d(*args, **kwargs)
            continue
        torch.testing.assert_close(conv2d(*args, **kwargs), expected)
        compared += 1
    assert compared >= 4  # most random cases are legal ones


@pytest.mark.parametrize("seed", range(10))
def test_conv2d_float32_and_gradients_match_pytorch(seed: int) -> None:
    rng, generator = random.Random(100 + seed), torch.Generator().manual_seed(seed)
    while True:
        (x, weight, bias), kwargs = random_conv_case(rng, generator)
        try:
            F.conv2d(x, weight, bias, **kwargs)
            break
        except TORCH_ERRORS:
            continue
    # float32 forward.
    args32 = [t.float() if t is not None else None for t in (x, weight, bias)]
    torch.testing.assert_close(conv2d(*args32, **kwargs), F.conv2d(*args32, **kwargs))
    # Gradients with respect to input, weight and bias (float64).
    leaves = [t.clone().requires_grad_() if t is not None else None for t in (x, weight, bias)]
    ours = torch.autograd.grad(
        conv2d(*leaves, **kwargs).square().sum(), [t for t in leaves if t is not None]
    )
    theirs = torch.autograd.grad(
        F.conv2d(*leaves, **kwargs).square().sum(), [t for t in leaves if t is not None]
    )
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, reference)


# --- multiple input and output channels ---------------------------------------------------------

SOURCE_X = torch.tensor(
    [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
     [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]
)  # fmt: skip
SOURCE_K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])


def test_source_example_multi_in() -> None:
    expected = torch.tensor([[56.0, 72.0], [104.0, 120.0]])
    torch.testing.assert_close(corr2d_multi_in(SOURCE_X, SOURCE_K), expected)


def test_source_example_multi_in_out() -> None:
    K = torch.stack((SOURCE_K, SOURCE_K + 1, SOURCE_K + 2))
    assert K.shape == (3, 2, 2, 2)
    expected = torch.tensor(
        [[[56.0, 72.0], [104.0, 120.0]],
         [[76.0, 100.0], [148.0, 172.0]],
         [[96.0, 128.0], [192.0, 224.0]]]
    )  # fmt: skip
    torch.testing.assert_close(corr2d_multi_in_out(SOURCE_X, K), expected)
    # nn.Conv2d adds one bias per output channel on top (the source's numbers are these plus a
    # random bias); with the bias set explicitly the two agree.
    layer = nn.Conv2d(2, 3, kernel_size=2)
    with torch.no_grad():
        layer.weight.copy_(K)
        layer.bias.copy_(torch.tensor([0.25, -0.5, 1.0]))
        torch.testing.assert_close(layer(SOURCE_X), expected + layer.bias.reshape(3, 1, 1))


@pytest.mark.parametrize("seed", range(20))
def test_multi_channel_loops_match_pytorch(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    c_in, c_out = rng.randint(1, 4), rng.randint(1, 4)
    kh, kw = rng.randint(1, 3), rng.randint(1, 3)
    X = randn(generator, c_in, rng.randint(kh, 6), rng.randint(kw, 6))
    K = randn(generator, c_out, c_in, kh, kw)
    torch.testing.assert_close(corr2d_multi_in(X, K[0]), F.conv2d(X, K[:1])[0])
    torch.testing.assert_close(corr2d_multi_in_out(X, K), F.conv2d(X, K))


# --- 1x1 convolution ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_conv1x1_matmul_matches_conv2d_layer(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    c_in, c_out = rng.randint(1, 5), rng.randint(1, 5)
    X = randn(generator, c_in, rng.randint(1, 6), rng.randint(1, 6))
    layer = nn.Conv2d(c_in, c_out, kernel_size=1).double()
    with torch.no_grad():
        expected = layer(X)
        torch.testing.assert_close(conv1x1_matmul(X, layer.weight, layer.bias), expected)
        flat = layer.weight.reshape(c_out, c_in)
        torch.testing.assert_close(conv1x1_matmul(X, flat, layer.bias), expected)
        torch.testing.assert_close(conv1x1_matmul(X, flat), F.conv2d(X, layer.weight))
    params = sum(p.numel() for p in layer.parameters())
    assert params == c_out * c_in + c_out == conv_params(c_in, c_out, 1)


def test_conv1x1_is_a_fully_connected_layer_at_every_pixel() -> None:
    generator = torch.Generator().manual_seed(0)
    X, K = randn(generator, 3, 4, 5), randn(generator, 2, 3)
    Y = conv1x1_matmul(X, K)
    for i in range(4):
        for j in range(5):
            torch.testing.assert_close(Y[:, i, j], K @ X[:, i, j])


# --- dilation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_dilated_kernel_gives_the_dilated_convolution(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    dilation = random_int_or_pair(rng, 1, 4)
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    W = randn(generator, 2, 3, kh, kw)
    big = dilate_kernel(W, dilation)
    assert big.shape == (2, 3, dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    torch.testing.assert_close(big[..., ::dh, ::dw], W)
    assert big.count_nonzero() == W.count_nonzero()  # the rest are holes
    X = randn(generator, 3, big.shape[2] + rng.randint(0, 4), big.shape[3] + rng.randint(0, 4))
    torch.testing.assert_close(conv2d(X, big), F.conv2d(X, W, dilation=dilation))


def test_dilate_kernel_example() -> None:
    K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    expected = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    torch.testing.assert_close(dilate_kernel(K, 2), expected)
    torch.testing.assert_close(dilate_kernel(K, 1), K)


# --- grouped and depthwise-separable convolution ------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_grouped_conv2d_matches_pytorch(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    while True:
        (x, weight, bias), kwargs = random_conv_case(rng, generator)
        try:
            expected = F.conv2d(x, weight, bias, **kwargs)
            break
        except TORCH_ERRORS:
            continue
    groups = kwargs.pop("groups")
    torch.testing.assert_close(grouped_conv2d(x, weight, groups, bias, **kwargs), expected)


def test_grouped_conv2d_uses_each_slice_separately() -> None:
    # With 2 groups, output channels 0-1 depend only on input channels 0-1.
    generator = torch.Generator().manual_seed(0)
    x, weight = randn(generator, 4, 5, 5), randn(generator, 4, 2, 3, 3)
    y = grouped_conv2d(x, weight, 2)
    x2 = x.clone()
    x2[2:] = 0
    torch.testing.assert_close(grouped_conv2d(x2, weight, 2)[:2], y[:2])
    assert (grouped_conv2d(x2, weight, 2)[2:] == 0).all()


@pytest.mark.parametrize("seed", range(20))
def test_depthwise_separable_matches_two_pytorch_convolutions(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    c_in, multiplier, c_out = rng.randint(1, 4), rng.randint(1, 2), rng.randint(1, 5)
    k = rng.randint(1, 3)
    batch = rng.choice([(), (2,)])
    x = randn(generator, *batch, c_in, rng.randint(k, 8), rng.randint(k, 8))
    depthwise = randn(generator, c_in * multiplier, 1, k, k)
    pointwise = randn(generator, c_out, c_in * multiplier, 1, 1)
    biases = [randn(generator, c_in * multiplier), randn(generator, c_out)]
    if rng.random() < 0.5:
        biases = [None, None]
    kwargs = dict(stride=rng.randint(1, 2), padding=rng.randint(0, 1), dilation=1)
    expected = F.conv2d(
        F.conv2d(x, depthwise, biases[0], groups=c_in, **kwargs), pointwise, biases[1]
    )
    ours = depthwise_separable_conv2d(x, depthwise, pointwise, *biases, **kwargs)
    torch.testing.assert_close(ours, expected)


def test_depthwise_separable_parameter_counts_on_real_layers() -> None:
    k, m, n = 3, 16, 32
    depthwise = nn.Conv2d(m, m, k, groups=m, bias=False)
    pointwise = nn.Conv2d(m, n, 1, bias=False)
    ordinary = nn.Conv2d(m, n, k, bias=False)
    separable = sum(p.numel() for p in (*depthwise.parameters(), *pointwise.parameters()))
    assert separable == k * k * m + m * n == 656
    assert sum(p.numel() for p in ordinary.parameters()) == k * k * m * n == 4608
    grouped = nn.Conv2d(m, n, k, groups=4, bias=False)
    assert sum(p.numel() for p in grouped.parameters()) * 4 == k * k * m * n


# --- errors -------------------------------------------------------------------------------------

X3 = torch.zeros(2, 5, 5)
X4 = torch.zeros(1, 4, 5, 5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: corr2d_multi_in(X3, torch.zeros(3, 2, 2)), "X has 2 channels but K has 3"),
        (lambda: corr2d_multi_in(X3[0], torch.zeros(2, 2)), "X must have shape"),
        (lambda: corr2d_multi_in(X3, torch.zeros(2, 6, 2)), "larger than the input"),
        (lambda: corr2d_multi_in_out(X3, torch.zeros(3, 2, 2)), "K must have shape"),
        (lambda: corr2d_multi_in_out(X3, torch.zeros(3, 4, 2, 2)), "each kernel in K has 4"),
        (lambda: conv1x1_matmul(X3, torch.zeros(3, 2, 3, 3)), "is not a 1x1 kernel"),
        (lambda: conv1x1_matmul(X3, torch.zeros(3, 4)), "X has 2 channels but K expects 4"),
        (lambda: conv1x1_matmul(X3, torch.zeros(3)), "K must have shape"),
        (lambda: conv1x1_matmul(X3, torch.zeros(3, 2), torch.zeros(2)), "bias has 2 entries"),
        (lambda: conv1x1_matmul(X4, torch.zeros(3, 4)), "X must have shape"),
        (lambda: dilate_kernel(torch.zeros(3), 2), r"K must be a tensor of shape \(\.\.\., k_h"),
        (lambda: dilate_kernel([[1.0]], 2), "K must be a tensor"),
        (lambda: dilate_kernel(torch.zeros(2, 2), 0), "dilation must be positive"),
        (lambda: grouped_conv2d(X4, torch.zeros(6, 2, 3, 3), 3), "groups=3 must divide"),
        (lambda: grouped_conv2d(X4, torch.zeros(6, 1, 3, 3), 2), "expects 2"),
        (lambda: grouped_conv2d(X4, torch.zeros(6, 2, 3, 3), 0), "groups must be a positive"),
        (
            lambda: grouped_conv2d(X4, torch.zeros(6, 2, 3, 3), 2, torch.zeros(4)),
            "bias has 4 entries",
        ),
        (lambda: grouped_conv2d(X4, torch.zeros(4, 2, 6, 6), 2), "larger than the padded input"),
        (
            lambda: depthwise_separable_conv2d(
                X4, torch.zeros(4, 2, 3, 3), torch.zeros(8, 4, 1, 1)
            ),
            "depthwise_weight of shape",
        ),
        (
            lambda: depthwise_separable_conv2d(
                X4, torch.zeros(6, 1, 3, 3), torch.zeros(8, 6, 1, 1)
            ),
            "depthwise_weight of shape",
        ),
        (
            lambda: depthwise_separable_conv2d(
                X4, torch.zeros(8, 1, 3, 3), torch.zeros(8, 4, 1, 1)
            ),
            r"must be \(C_out, 8, 1, 1\)",
        ),
        (
            lambda: depthwise_separable_conv2d(
                X4, torch.zeros(4, 1, 3, 3), torch.zeros(8, 4, 3, 3)
            ),
            "pointwise_weight of shape",
        ),
        (
            lambda: depthwise_separable_conv2d(X4, torch.zeros(4, 1, 3, 3), torch.zeros(8, 4)),
            "pointwise_weight must have shape",
        ),
    ],
)
def test_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
