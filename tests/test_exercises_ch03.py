"""Chapter 3's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

import torch
from torch import nn

from cnnbook.conv import corr2d
from cnnbook.examples import channel_example
from cnnbook.exercises import check


def merge_1x1(A, a, B, b):
    W1, W2 = A[:, :, 0, 0], B[:, :, 0, 0]
    return W2 @ W1, W2 @ a + b


def test_merged_1x1() -> None:
    assert check("3.1", merge_1x1)
    forgot_bias = check("3.1", lambda A, a, B, b: (merge_1x1(A, a, B, b)[0], b))
    assert not forgot_bias and "first layer's bias" in forgot_bias.message
    reversed_order = check("3.1", lambda A, a, B, b: (A[:, :, 0, 0] @ B[:, :, 0, 0], b))
    assert not reversed_order and "which layer's matrix comes first" in reversed_order.message
    summed_biases = check("3.1", lambda A, a, B, b: (merge_1x1(A, a, B, b)[0], a.sum() + b))
    assert not summed_biases and "bias is not" in summed_biases.message
    assert not check("3.1", lambda A, a, B, b: merge_1x1(A, a, B, b)[0])  # no pair
    assert "pass the function" in check("3.1", (1, 2)).message


def grey_layer(bias: bool = False, weights=(0.299, 0.587, 0.114)) -> nn.Conv2d:
    torch.manual_seed(0)
    layer = nn.Conv2d(3, 1, kernel_size=1, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weights).reshape(1, 3, 1, 1))
    return layer


def test_grey_layer() -> None:
    assert check("3.2", grey_layer())
    with_bias = check("3.2", grey_layer(bias=True))  # forgets PyTorch's random bias
    assert not with_bias and "bias" in with_bias.message
    bgr = check("3.2", grey_layer(weights=(0.114, 0.587, 0.299)))
    assert not bgr and "wrong channels" in bgr.message
    swapped = check("3.2", nn.Conv2d(1, 3, kernel_size=1))  # (out, in) swapped
    assert not swapped and "3 input channels" in swapped.message
    three_out = check("3.2", nn.Conv2d(3, 3, kernel_size=1))
    assert not three_out and "one" in three_out.message
    for verdict in (with_bias, bgr, swapped, three_out):
        assert "0.299" not in verdict.message and "0.587" not in verdict.message


def test_bottleneck_macs() -> None:
    plain = 256 * 256 * 9 * 56 * 56
    bottleneck = (256 * 64 + 64 * 64 * 9 + 64 * 256) * 56 * 56
    assert check("3.3", (plain, bottleneck))
    with_bias = check("3.3", (plain + 256 * 56 * 56, bottleneck + (64 + 64 + 256) * 56 * 56))
    assert not with_bias and "biases" in with_bias.message
    weights_only = check("3.3", (256 * 256 * 9, 256 * 64 + 64 * 64 * 9 + 64 * 256))
    assert not weights_only and "output pixel" in weights_only.message
    unpadded = check("3.3", (256 * 256 * 9 * 54 * 54, bottleneck))
    assert not unpadded and "padded" in unpadded.message
    for verdict in (with_bias, weights_only, unpadded):
        assert str(plain) not in verdict.message and f"{plain:,}" not in verdict.message
        assert str(bottleneck) not in verdict.message


def test_equal_channels() -> None:
    X = channel_example()[0]
    K1 = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    right = corr2d(X.sum(0), K1)
    assert check("3.4", right)
    assert check("3.4", right.tolist())
    stacked = check("3.4", torch.stack([corr2d(X[0], K1), corr2d(X[1], K1)]))
    assert not stacked and "stack" in stacked.message
    one = check("3.4", corr2d(X[0], K1))
    assert not one and "channel 0 alone" in one.message
    rotated = check("3.4", corr2d(X.sum(0), K1.flip(0, 1)))
    assert not rotated and "rotated" in rotated.message
    transposed = check("3.4", corr2d(X.sum(0), K1.T))
    assert not transposed and "transposed" in transposed.message
    for verdict in (stacked, one, rotated, transposed):
        assert str(int(right[0, 0])) not in verdict.message


def test_missing_answers() -> None:
    for key in ("3.1", "3.2", "3.3", "3.4"):
        assert "no answer yet" in check(key, None).message
