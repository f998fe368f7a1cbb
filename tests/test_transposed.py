"""Tests of cnnbook.transposed against PyTorch's transposed convolution."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.conv import conv2d
from cnnbook.shapes import conv_output_shape, conv_transpose_output_shape, inverse_output_padding
from cnnbook.transposed import (
    conv_matrix,
    conv_transpose2d,
    flip_kernel,
    insert_zeros,
    trans_conv,
)

SEEDS = range(60)
TORCH_ERRORS = (RuntimeError, ValueError)


# Tiny tensors: one intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def randn(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


# --- the original article's examples -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (dict(), [[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]]),
        (dict(padding=1), [[4.0]]),
        (
            dict(stride=2),
            [
                [0.0, 0.0, 0.0, 1.0],
                [0.0, 0.0, 2.0, 3.0],
                [0.0, 2.0, 0.0, 3.0],
                [4.0, 6.0, 6.0, 9.0],
            ],
        ),
    ],
)
def test_original_article_examples(kwargs: dict, expected: list) -> None:
    expected = torch.tensor(expected)
    torch.testing.assert_close(trans_conv(X, K, **kwargs), expected)
    torch.testing.assert_close(
        conv_transpose2d(X[None, None], K[None, None], **kwargs)[0, 0], expected
    )
    layer = nn.ConvTranspose2d(1, 1, kernel_size=2, bias=False, **kwargs)
    with torch.no_grad():
        layer.weight.copy_(K[None, None])
        torch.testing.assert_close(layer(X[None, None])[0, 0], expected)


def test_original_article_shape_inverse() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 10, 16, 16, generator=generator)
    conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3)
    tconv = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
    with torch.no_grad():
        y = conv2d(x, conv.weight, conv.bias, stride=3, padding=2)
        assert y.shape == (1, 20, 6, 6)
        back = conv_transpose2d(y, tconv.weight, tconv.bias, stride=3, padding=2)
        assert back.shape == x.shape
        torch.testing.assert_close(back, tconv(conv(x)))


# --- trans_conv ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_trans_conv_matches_pytorch(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    x = randn(generator, rng.randint(1, 5), rng.randint(1, 5))
    k = randn(generator, rng.randint(1, 4), rng.randint(1, 4))
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    full = [(x.shape[a] - 1) * stride[a] + k.shape[a] for a in (0, 1)]
    padding = (rng.randint(0, (full[0] - 1) // 2), rng.randint(0, (full[1] - 1) // 2))
    expected = F.conv_transpose2d(x[None, None], k[None, None], stride=stride, padding=padding)
    torch.testing.assert_close(trans_conv(x, k, stride, padding), expected[0, 0])


# --- conv_transpose2d against PyTorch -----------------------------------------------------------


def random_transpose_case(rng: random.Random, generator: torch.Generator) -> tuple[list, dict]:
    """Random input, weight and arguments for conv_transpose2d, legal or not."""
    groups = rng.randint(1, 3)
    c_in, c_out_per_group = groups * rng.randint(1, 3), rng.randint(1, 3)
    kernel = (rng.randint(1, 4), rng.randint(1, 4))
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    dilation = (rng.randint(1, 3), rng.randint(1, 3))
    batch = rng.choice([(), (1,), (rng.randint(2, 3),)])
    x = randn(generator, *batch, c_in, rng.randint(1, 6), rng.randint(1, 6))
    if rng.random() < 0.2:  # a non-contiguous input must work too
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    weight = randn(generator, c_in, c_out_per_group, *kernel)
    bias = randn(generator, c_out_per_group * groups) if rng.random() < 0.5 else None
    kwargs = dict(
        stride=rng.choice([stride, stride[0]]),
        padding=rng.choice([(rng.randint(0, 3), rng.randint(0, 3)), rng.randint(0, 2)]),
        # Mostly legal output paddings (smaller than stride or dilation), some illegal ones.
        output_padding=tuple(
            rng.randint(0, max(s, d) - (rng.random() < 0.9))
            for s, d in zip(stride, dilation, strict=True)
        ),
        groups=groups,
        dilation=rng.choice([dilation, dilation[0]]),
    )
    return [x, weight, bias], kwargs


def pytorch_or_none(args: list, kwargs: dict) -> torch.Tensor | None:
    """PyTorch's transposed convolution, or None where it refuses (or returns an empty output,
    which its reference kernel refuses and cnnbook always does)."""
    try:
        result = F.conv_transpose2d(*args, **kwargs)
    except TORCH_ERRORS:
        return None
    return None if result.numel() == 0 else result


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_transpose2d_matches_pytorch(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    compared = 0
    while compared < 5:
        args, kwargs = random_transpose_case(rng, generator)
        expected = pytorch_or_none(args, kwargs)
        if expected is None:
            with pytest.raises(ValueError):
                conv_transpose2d(*args, **kwargs)
            continue
        torch.testing.assert_close(conv_transpose2d(*args, **kwargs), expected)
        compared += 1


@pytest.mark.parametrize("seed", range(10))
def test_conv_transpose2d_float32_and_gradients_match_pytorch(seed: int) -> None:
    rng, generator = random.Random(100 + seed), torch.Generator().manual_seed(seed)
    while True:
        args, kwargs = random_transpose_case(rng, generator)
        if pytorch_or_none(args, kwargs) is not None:
            break
    args32 = [t.float() if t is not None else None for t in args]
    torch.testing.assert_close(
        conv_transpose2d(*args32, **kwargs), F.conv_transpose2d(*args32, **kwargs)
    )
    leaves = [t.clone().requires_grad_() if t is not None else None for t in args]
    inputs = [t for t in leaves if t is not None]
    ours = torch.autograd.grad(conv_transpose2d(*leaves, **kwargs).square().sum(), inputs)
    theirs = torch.autograd.grad(F.conv_transpose2d(*leaves, **kwargs).square().sum(), inputs)
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, reference)


@pytest.mark.parametrize("seed", range(10))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(seed: int) -> None:
    # <conv2d(x), y> == <x, conv_transpose2d(y)> for the same weight and arguments, given the
    # output_padding that restores x's size: the transposed convolution is the transpose.
    rng, generator = random.Random(200 + seed), torch.Generator().manual_seed(seed)
    groups = rng.randint(1, 2)
    x = randn(generator, 2, 2 * groups, rng.randint(4, 9), rng.randint(4, 9))
    weight = randn(generator, 3 * groups, 2, rng.randint(1, 3), rng.randint(1, 3))
    kwargs = dict(stride=(rng.randint(1, 3), rng.randint(1, 3)), padding=rng.randint(0, 1))
    y = conv2d(x, weight, groups=groups, **kwargs)
    extra = inverse_output_padding(x.shape[2:], weight.shape[2:], **kwargs)
    probe = randn(generator, *y.shape)
    back = conv_transpose2d(probe, weight, groups=groups, output_padding=extra, **kwargs)
    assert back.shape == x.shape
    torch.testing.assert_close((y * probe).sum(), (x * back).sum())


@pytest.mark.parametrize("seed", range(30))
def test_conv_transpose2d_gradients_match_pytorch(seed: int) -> None:
    # A random upstream gradient dL/dy, and the gradients it gives input, weight and bias.
    rng, generator = random.Random(300 + seed), torch.Generator().manual_seed(seed)
    while True:
        args, kwargs = random_transpose_case(rng, generator)
        if pytorch_or_none(args, kwargs) is not None:
            break
    leaves = [t.clone().requires_grad_() if t is not None else None for t in args]
    inputs = [t for t in leaves if t is not None]
    ours = conv_transpose2d(*leaves, **kwargs)
    theirs = F.conv_transpose2d(*leaves, **kwargs)
    geometry = {name: value for name, value in kwargs.items() if name != "groups"}
    assert ours.shape[-2:] == conv_transpose_output_shape(args[0].shape[-2:], args[1].shape[2:],
                                                          **geometry)  # fmt: skip
    upstream = randn(generator, *theirs.shape)
    for mine, reference in zip(
        torch.autograd.grad(ours, inputs, upstream),
        torch.autograd.grad(theirs, inputs, upstream),
        strict=True,
    ):
        torch.testing.assert_close(mine, reference)


# Reduced precision: ours and PyTorch's each round differently; both must lie within a few units
# of the dtype's precision (relative to the largest output) of the exact result.
PRECISION = {torch.float16: 4e-3, torch.bfloat16: 3e-2, torch.float32: 1e-5}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("seed", range(4))
def test_conv_transpose2d_in_reduced_precision(dtype: torch.dtype, seed: int) -> None:
    rng, generator = random.Random(400 + seed), torch.Generator().manual_seed(seed)
    while True:
        args, kwargs = random_transpose_case(rng, generator)
        if pytorch_or_none(args, kwargs) is not None:
            break
    low = [t.to(dtype) if t is not None else None for t in args]
    exact = F.conv_transpose2d(*[t.double() if t is not None else None for t in low], **kwargs)
    ours = conv_transpose2d(*low, **kwargs)
    theirs = F.conv_transpose2d(*low, **kwargs)
    assert ours.dtype == theirs.dtype == dtype and ours.shape == theirs.shape
    atol = PRECISION[dtype] * (1 + exact.abs().max().item())
    for result in (ours, theirs):
        torch.testing.assert_close(result.double(), exact, rtol=0, atol=atol)


def test_conv_transpose2d_non_contiguous_arguments() -> None:
    generator = torch.Generator().manual_seed(5)
    x = randn(generator, 2, 5, 4, 3).permute(0, 3, 2, 1)  # (2, 3, 4, 5), strides permuted
    weight = randn(generator, 2, 3, 3, 6)[..., ::2].transpose(0, 1)  # (3, 2, 3, 3), a view
    bias = randn(generator, 4)[::2]
    assert not (x.is_contiguous() or weight.is_contiguous() or bias.is_contiguous())
    kwargs = dict(stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(
        conv_transpose2d(x, weight, bias, **kwargs), F.conv_transpose2d(x, weight, bias, **kwargs)
    )


def test_conv_transpose2d_after_a_conv_layer() -> None:
    # The first thing a learner does: pass a layer's output (it requires grad) and backpropagate
    # into the layer's parameters.
    torch.manual_seed(0)
    encoder = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 9, 9)
    weight = torch.randn(4, 3, 3, 3, requires_grad=True)
    grads = []
    for op in (conv_transpose2d, F.conv_transpose2d):
        hidden = encoder(x)
        assert hidden.requires_grad
        out = op(hidden, weight, stride=2, padding=1)
        grads.append(torch.autograd.grad(out.square().sum(), [encoder.weight, weight]))
    for mine, reference in zip(*grads, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-4)


def test_mixed_arguments_name_both() -> None:
    x, w = torch.zeros(1, 2, 3, 3), torch.zeros(2, 1, 2, 2)
    with pytest.raises(ValueError, match=r"input is torch.float32 but bias is torch.float64"):
        conv_transpose2d(x, w, torch.zeros(1, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"input is on cpu but weight is on meta"):
        conv_transpose2d(x, w.to("meta"))


def test_zero_insertion_and_flipped_kernel() -> None:
    # The three steps of conv_transpose2d, by hand on the original article's example (stride 2).
    spread = insert_zeros(X, (2, 2))
    assert spread.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [2.0, 0.0, 3.0]]
    flipped = flip_kernel(K[None, None], groups=1)[0, 0]
    assert flipped.tolist() == [[3.0, 2.0], [1.0, 0.0]]
    padded = F.pad(spread, (1, 1, 1, 1))  # d(k - 1) - p = 1 on each side
    by_hand = conv2d(padded[None, None], flipped[None, None])[0, 0]
    torch.testing.assert_close(by_hand, trans_conv(X, K, stride=2))
    # Channels: (C_in, C_out / g) per group becomes (C_out, C_in / g), groups kept apart.
    weight = torch.arange(2 * 4 * 3 * 1 * 1.0).reshape(8, 3, 1, 1)  # C_in 8, 2 groups, C_out 6
    swapped = flip_kernel(weight, groups=2)
    assert swapped.shape == (6, 4, 1, 1)
    # Group 1 holds outputs 3..5 and inputs 4..7: its output 1 and input 2 meet at one weight.
    assert swapped[3 + 1, 2, 0, 0] == weight[4 + 2, 1, 0, 0]


# --- the matrix view ----------------------------------------------------------------------------


def test_conv_matrix_of_the_original_article_kernel() -> None:
    # A 2x2 kernel on a 3x3 input: 4 outputs, 9 inputs; each row holds the kernel's 4 weights.
    W = conv_matrix(K, (3, 3))
    expected = torch.tensor(
        [[0.0, 1.0, 0.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0],
         [0.0, 0.0, 1.0, 0.0, 2.0, 3.0, 0.0, 0.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2.0, 3.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2.0, 3.0]]
    )  # fmt: skip
    torch.testing.assert_close(W, expected)
    # W.T maps the 2x2 X back onto the 3x3 grid: the original article's transposed convolution.
    torch.testing.assert_close((W.T @ X.flatten()).reshape(3, 3), trans_conv(X, K))


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_matrix_and_its_transpose_match_pytorch(seed: int) -> None:
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    while True:
        k = randn(generator, rng.randint(1, 4), rng.randint(1, 4))
        hw = (rng.randint(1, 8), rng.randint(1, 8))
        kwargs = dict(
            stride=(rng.randint(1, 3), rng.randint(1, 3)),
            padding=(rng.randint(0, 2), rng.randint(0, 2)),
            dilation=(rng.randint(1, 2), rng.randint(1, 2)),
        )
        try:
            out = conv_output_shape(hw, k.shape, **kwargs)
            break
        except ValueError:
            continue
    W = conv_matrix(k, hw, **kwargs)
    assert W.shape == (out[0] * out[1], hw[0] * hw[1])
    x = randn(generator, *hw)
    expected = F.conv2d(x[None, None], k[None, None], **kwargs)
    torch.testing.assert_close(W @ x.flatten(), expected.flatten())
    torch.testing.assert_close(W @ x.flatten(), conv2d(x[None], k[None, None], **kwargs).flatten())
    # The transpose: a transposed convolution back to the input grid, with the output_padding
    # that picks the original size among those the strided convolution maps onto `out`.
    y = randn(generator, *out)
    extra = inverse_output_padding(hw, k.shape, **kwargs)
    back = F.conv_transpose2d(y[None, None], k[None, None], output_padding=extra, **kwargs)
    torch.testing.assert_close((W.T @ y.flatten()).reshape(hw), back[0, 0])
    ours = conv_transpose2d(y[None], k[None, None], output_padding=extra, **kwargs)
    torch.testing.assert_close((W.T @ y.flatten()).reshape(hw), ours[0])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv_matrix_same_padding() -> None:
    generator = torch.Generator().manual_seed(0)
    k, x = randn(generator, 2, 3), randn(generator, 5, 4)
    W = conv_matrix(k, (5, 4), padding="same")
    expected = F.conv2d(x[None, None], k[None, None], padding="same")
    torch.testing.assert_close(W @ x.flatten(), expected.flatten())


# --- errors -------------------------------------------------------------------------------------

X4 = torch.zeros(1, 4, 5, 5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: trans_conv(X, K, padding=2), "removes every row or column"),
        (lambda: trans_conv(X, K, stride=0), "stride must be positive"),
        (lambda: trans_conv(X, K, padding=-1), "padding must be non-negative"),
        (lambda: trans_conv(X[None], K), "X must have shape"),
        (lambda: trans_conv(X, K[None]), "K must have shape"),
        (lambda: conv_transpose2d(X4, torch.zeros(3, 2, 3, 3)), "input has 4 channels but"),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 3, 3), groups=3), "groups=3 must divide"),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 3, 3), groups=0), "groups must be a"),
        (
            lambda: conv_transpose2d(X4, torch.zeros(4, 2, 3, 3), torch.zeros(2), groups=2),
            "bias has 2 entries but the transposed convolution has 4",
        ),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 3, 3), torch.zeros(2, 1)), "bias must"),
        (
            lambda: conv_transpose2d(X4, torch.zeros(4, 2, 3, 3), stride=2, output_padding=2),
            "output_padding",
        ),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 2, 2), padding=3), "crops away"),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 2, 2), padding="same"), "padding must"),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 2, 2), dilation=0), "dilation must be"),
        (
            lambda: conv_transpose2d(X4, torch.zeros(4, 2, 2, 2).double()),
            "input is torch.float32 but weight is torch.float64",
        ),
        (lambda: conv_transpose2d(X4[0, 0], torch.zeros(4, 2, 2, 2)), "input must have shape"),
        (lambda: conv_transpose2d(X4, torch.zeros(4, 2, 2)), "weight must have shape"),
        (lambda: conv_matrix(K, 1), "larger than the padded input"),
        (lambda: conv_matrix(K[None], 3), "K must have shape"),
        (lambda: conv_matrix(K, 3, stride=2, padding="same"), "needs stride 1"),
        (lambda: conv_matrix(K, 0), "input_hw must be positive"),
    ],
)
def test_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
