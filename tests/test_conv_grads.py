"""The backward pass of a convolution (cnnbook.conv_grads) against autograd."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnbook.conv import corr2d
from cnnbook.conv_grads import conv_input_grad, conv_weight_grad


def autograd_grads(x, w, dy, **args):
    x = x.detach().requires_grad_()
    w = w.detach().requires_grad_()
    F.conv2d(x, w, **args).backward(dy)
    return x.grad, w.grad


def random_geometry(rng: random.Random) -> dict:
    groups = rng.choice([1, 1, 2, 3])
    return dict(n=rng.randint(1, 3), c_in=groups * rng.randint(1, 3),
                c_out=groups * rng.randint(1, 3), groups=groups,
                k=(rng.randint(1, 4), rng.randint(1, 4)), stride=(rng.randint(1, 3),
                                                                   rng.randint(1, 3)),
                padding=(rng.randint(0, 2), rng.randint(0, 2)),
                dilation=(rng.randint(1, 2), rng.randint(1, 2)))


@pytest.mark.parametrize("seed", range(40))
def test_gradients_match_autograd_on_random_geometry(seed: int) -> None:
    rng = random.Random(seed)
    g = random_geometry(rng)
    torch.manual_seed(seed)
    size = (rng.randint(g["dilation"][0] * (g["k"][0] - 1) + 1, 9),
            rng.randint(g["dilation"][1] * (g["k"][1] - 1) + 1, 9))
    x = torch.randn(g["n"], g["c_in"], *size, dtype=torch.float64)
    w = torch.randn(g["c_out"], g["c_in"] // g["groups"], *g["k"], dtype=torch.float64)
    args = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"],
                groups=g["groups"])
    dy = torch.randn_like(F.conv2d(x, w, **args))
    dx, dw = autograd_grads(x, w, dy, **args)
    torch.testing.assert_close(conv_weight_grad(x, dy, g["k"], **args), dw)
    torch.testing.assert_close(conv_input_grad(dy, w, size, **args), dx)


def test_stride_one_single_channel_is_the_textbook_formula() -> None:
    # dK = X ⋆ dY, and dX = pad_{k-1}(dY) ⋆ rot180(K): a full convolution.
    torch.manual_seed(0)
    X, K = torch.randn(6, 5, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    dY = torch.randn(4, 4, dtype=torch.float64)
    dx, dw = autograd_grads(X[None, None], K[None, None], dY[None, None])
    torch.testing.assert_close(conv_weight_grad(X[None], dY[None], (3, 2))[0, 0], corr2d(X, dY))
    torch.testing.assert_close(corr2d(X, dY), dw[0, 0])
    full = corr2d(F.pad(dY, (1, 1, 2, 2)), K.flip(0, 1))
    torch.testing.assert_close(conv_input_grad(dY[None], K[None, None], (6, 5))[0], full)
    torch.testing.assert_close(full, dx[0, 0])


def test_unbatched_and_low_precision() -> None:
    torch.manual_seed(1)  # 8 rows, stride 2: the last row is never read (output_padding 1)
    x, w = torch.randn(2, 8, 8), torch.randn(3, 2, 3, 3)
    dy = torch.randn(3, 4, 4)
    dx, dw = autograd_grads(x[None], w, dy[None], stride=2, padding=1)
    assert conv_weight_grad(x, dy, 3, stride=2, padding=1).shape == (3, 2, 3, 3)
    torch.testing.assert_close(conv_weight_grad(x, dy, 3, stride=2, padding=1), dw)
    torch.testing.assert_close(conv_input_grad(dy, w, (8, 8), stride=2, padding=1), dx[0])
    for dtype in (torch.bfloat16, torch.float16):
        got = conv_weight_grad(x.to(dtype), dy.to(dtype), 3, stride=2, padding=1)
        assert got.dtype == dtype
        torch.testing.assert_close(got.float(), dw, atol=0.1, rtol=0.05)
        got = conv_input_grad(dy.to(dtype), w.to(dtype), (8, 8), stride=2, padding=1)
        assert got.dtype == dtype
        torch.testing.assert_close(got.float(), dx[0], atol=0.1, rtol=0.05)


def test_non_contiguous_inputs() -> None:
    torch.manual_seed(2)
    x = torch.randn(5, 5, 3, 2).permute(3, 2, 0, 1)  # (2, 3, 5, 5), channels last in memory
    w = torch.randn(2, 3, 4, 4)[:, :, 1:, :3]  # (2, 3, 3, 3), a slice
    dy = torch.randn(3, 3, 2, 2).permute(3, 2, 1, 0)  # (2, 2, 3, 3)
    assert not (x.is_contiguous() or w.is_contiguous() or dy.is_contiguous())
    dx, dw = autograd_grads(x, w, dy)
    torch.testing.assert_close(conv_weight_grad(x, dy, 3), dw)
    torch.testing.assert_close(conv_input_grad(dy, w, (5, 5)), dx)


def test_the_gradients_are_differentiable() -> None:
    torch.manual_seed(3)
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(1, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, dy: conv_weight_grad(x, dy, 3, stride=2, padding=1), (x, dy))
    assert torch.autograd.gradcheck(
        lambda dy, w: conv_input_grad(dy, w, (4, 4), stride=2, padding=1), (dy, w))


def test_bad_shapes_raise_clear_errors() -> None:
    x, dy, w = torch.zeros(2, 4, 6, 6), torch.zeros(2, 3, 4, 4), torch.zeros(3, 4, 3, 3)
    with pytest.raises(ValueError, match="grad_output is 4×4 but .* maps a 6×6 input to 2×2"):
        conv_weight_grad(x, dy, 3, stride=2)
    with pytest.raises(ValueError, match="2 samples but grad_output 1"):
        conv_weight_grad(x, dy[:1], 3)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        conv_weight_grad(x, dy, 3, groups=2)
    with pytest.raises(ValueError, match="grad_output must have shape"):
        conv_weight_grad(x, dy[0], 3)
    with pytest.raises(ValueError, match="float64"):
        conv_weight_grad(x, dy.double(), 3)
    with pytest.raises(ValueError, match="padding must be an int or a pair"):
        conv_weight_grad(x, dy, 3, padding="same")
    with pytest.raises(ValueError, match="grad_output is 4×4 but .* maps a 5×5 input to 3×3"):
        conv_input_grad(dy, w, (5, 5))
    with pytest.raises(ValueError, match=r"grad_output has 3 channels but weight .* has 4"):
        conv_input_grad(dy, torch.zeros(4, 4, 3, 3), (6, 6))
    with pytest.raises(ValueError, match="weight must have shape"):
        conv_input_grad(dy, w[0], (6, 6))
    with pytest.raises(ValueError, match="grad_output is torch.float32 but weight is"):
        conv_input_grad(dy, w.double(), (6, 6))
    with pytest.raises(ValueError, match=r"groups=2 must divide .* \(8\) and .* \(3\)"):
        conv_input_grad(dy, w, (6, 6), groups=2)
