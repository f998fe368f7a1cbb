"""corr2d and conv2d against PyTorch, and every error case of conv2d."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnbook.conv import conv2d, corr2d


def test_corr2d_source_example() -> None:
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.arange(4.0).reshape(2, 2)
    assert corr2d(X, K).tolist() == [[19.0, 25.0], [37.0, 43.0]]


@pytest.mark.parametrize("seed", range(20))
def test_corr2d_matches_torch(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    h, w = torch.randint(1, 9, (2,), generator=g).tolist()
    kh, kw = random.Random(seed).randint(1, h), random.Random(seed + 1).randint(1, w)
    X, K = torch.randn(h, w, generator=g), torch.randn(kh, kw, generator=g)
    torch.testing.assert_close(corr2d(X, K), F.conv2d(X[None, None], K[None, None])[0, 0])


def test_corr2d_is_not_convolution() -> None:
    """Cross-correlation with K equals true convolution with K flipped (and differs from it)."""
    X = torch.arange(16.0).reshape(4, 4)
    K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    flipped = torch.flip(K, (0, 1))
    true_conv = torch.zeros(3, 3)
    for i in range(3):
        for j in range(3):
            # Convolution: Y[i, j] = sum X[i + a, j + b] K[k_h - 1 - a, k_w - 1 - b]
            true_conv[i, j] = sum(
                X[i + a, j + b] * K[1 - a, 1 - b] for a in range(2) for b in range(2)
            )
    torch.testing.assert_close(corr2d(X, flipped), true_conv)
    assert not torch.equal(corr2d(X, K), true_conv)


def random_case(rng: random.Random) -> dict:
    """A random valid conv2d call: shapes, groups, stride, padding, dilation, bias, batching."""
    groups = rng.choice([1, 1, 2, 3])
    c_in = groups * rng.randint(1, 3)
    c_out = groups * rng.randint(1, 3)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    dh, dw = rng.randint(1, 3), rng.randint(1, 3)
    padding = rng.choice([0, 1, (rng.randint(0, 2), rng.randint(0, 2)), "same", "valid"])
    stride = 1 if padding == "same" else rng.choice([1, 2, (rng.randint(1, 3), rng.randint(1, 3))])
    ph, pw = (0, 0) if isinstance(padding, str) else (
        (padding, padding) if isinstance(padding, int) else padding)
    h = rng.randint(max(1, dh * (kh - 1) + 1 - 2 * ph), 12)
    w = rng.randint(max(1, dw * (kw - 1) + 1 - 2 * pw), 12)
    batched = rng.random() < 0.7
    shape = (rng.randint(1, 3), c_in, h, w) if batched else (c_in, h, w)
    return {
        "input": torch.randn(shape),
        "weight": torch.randn(c_out, c_in // groups, kh, kw),
        "bias": torch.randn(c_out) if rng.random() < 0.5 else None,
        "stride": stride, "padding": padding, "dilation": (dh, dw), "groups": groups,
    }


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's own note on its copy
@pytest.mark.parametrize("seed", range(200))
def test_conv2d_matches_torch(seed: int) -> None:
    torch.manual_seed(seed)
    case = random_case(random.Random(seed))
    expected = F.conv2d(**case)
    actual = conv2d(**case)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_conv2d_gradients_match_torch() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 7, 6, requires_grad=True)
    w = torch.randn(6, 2, 3, 3, requires_grad=True)
    conv2d(x, w, stride=2, padding=1, groups=2).square().sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    F.conv2d(x, w, stride=2, padding=1, groups=2).square().sum().backward()
    torch.testing.assert_close(gx, x.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(gw, w.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input": torch.zeros(3, 3)}, r"input must have shape .* got shape \(3, 3\)"),
        ({"weight": torch.zeros(1, 1, 2)}, r"weight must have shape .* got shape \(1, 1, 2\)"),
        ({"input": torch.zeros(1, 3, 5, 5)}, r"input has 3 channels but weight .* expects 2"),
        ({"groups": 3}, r"groups=3 must divide both the input channels \(2\)"),
        ({"groups": 0}, r"groups must be a positive int"),
        ({"stride": 0}, r"stride must be positive"),
        ({"stride": (1, -1)}, r"stride must be positive"),
        ({"padding": -1}, r"padding must be non-negative"),
        ({"padding": "full"}, r"padding must be 'same', 'valid'"),
        ({"padding": "same", "stride": 2}, r"padding='same' needs stride 1"),
        ({"dilation": 0}, r"dilation must be positive"),
        ({"weight": torch.zeros(4, 2, 6, 2)}, r"larger than the padded input of size \(5, 5\)"),
        ({"dilation": 3}, r"effective\) size \(7, 7\) is larger than the padded input"),
        ({"bias": torch.zeros(3)}, r"bias has 3 entries but the convolution has 4 output"),
        ({"stride": (1, 2, 3)}, r"stride must be an int or a pair"),
    ],
)
def test_conv2d_errors(kwargs: dict, message: str) -> None:
    call = {"input": torch.zeros(1, 2, 5, 5), "weight": torch.zeros(4, 2, 3, 3)} | kwargs
    with pytest.raises(ValueError, match=message):
        conv2d(**call)


def test_corr2d_errors() -> None:
    with pytest.raises(ValueError, match=r"kernel of shape \(3, 3\) is larger than the input"):
        corr2d(torch.zeros(2, 5), torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"X must have shape \(height, width\)"):
        corr2d(torch.zeros(1, 2, 5), torch.zeros(3, 3))


def test_conv2d_mixed_dtypes_name_both_arguments() -> None:
    x = torch.ones(1, 1, 4, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"input is torch.float64 but weight is torch.float32"):
        conv2d(x, torch.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"input is torch.float32 but bias is torch.float64"):
        conv2d(x.float(), torch.ones(1, 1, 2, 2), bias=torch.zeros(1, dtype=torch.float64))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("seed", range(40))
def test_conv2d_gradients_match_torch_on_random_geometry(seed: int, one_thread: None) -> None:
    torch.manual_seed(seed)
    case = random_case(random.Random(seed))
    tensors = {name: case[name] for name in ("input", "weight", "bias") if case[name] is not None}
    for t in tensors.values():
        t.requires_grad_(True)
    ours = conv2d(**case)
    upstream = torch.randn_like(ours)
    grads = torch.autograd.grad(ours, list(tensors.values()), upstream)
    expected = torch.autograd.grad(F.conv2d(**case), list(tensors.values()), upstream)
    for name, g, e in zip(tensors, grads, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4, msg=f"gradient of {name}")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_conv2d_dtypes_and_non_contiguous_inputs(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 9, 8, dtype=dtype).transpose(2, 3).requires_grad_(True)  # a view
    w, b = torch.randn(6, 2, 3, 3, dtype=dtype), torch.randn(6, dtype=dtype)
    assert not x.is_contiguous()
    ours = conv2d(x, w, b, stride=2, padding=1, groups=2)
    reference = F.conv2d(x.double(), w.double(), b.double(), stride=2, padding=1, groups=2)
    assert ours.dtype == dtype
    tolerance = {torch.float16: 1e-2, torch.bfloat16: 1e-1, torch.float64: 1e-10}[dtype]
    torch.testing.assert_close(ours.double(), reference, rtol=tolerance, atol=tolerance)
    (grad,) = torch.autograd.grad(ours.sum(), x)
    (expected,) = torch.autograd.grad(reference.sum(), x)
    assert grad.dtype == dtype
    torch.testing.assert_close(grad.double(), expected.double(), rtol=tolerance, atol=tolerance)
