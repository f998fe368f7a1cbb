"""Checkers for chapter 3 (channels, the bias, the 1×1 convolution)."""

from __future__ import annotations

from typing import Any

import torch

from cnnbook.conv import conv1x1_matmul, corr2d, corr2d_multi_in
from cnnbook.examples import channel_example, counting_input
from cnnbook.exercises.checking import as_ints, exercise
from cnnbook.shapes import conv_output_shape, conv_params

# Exercise 3.1 ------------------------------------------------------------------------------


def _merge_cases() -> list[tuple[torch.Tensor, ...]]:
    """Unseen two-layer cases: (x, A, a, B, b) with c_i -> m -> c_o channels."""
    generator = torch.Generator().manual_seed(301)
    cases = []
    for c_i, m, c_o in ((3, 4, 2), (2, 2, 2), (5, 1, 3), (4, 3, 4)):
        cases.append(tuple(torch.randn(shape, generator=generator) for shape in (
            (c_i, 4, 3), (m, c_i, 1, 1), (m,), (c_o, m, 1, 1), (c_o,))))
    return cases


def _matrix(W: torch.Tensor) -> torch.Tensor:
    return W.reshape(W.shape[0], W.shape[1])


@exercise("3.1", "write", "the function merge_1x1(A, a, B, b) returning (weight, bias)")
def merged_1x1(answer: Any) -> str | None:
    for x, A, a, B, b in _merge_cases():
        where = (f"layers {A.shape[1]} → {A.shape[0]} → {B.shape[0]} channels")
        try:
            got = answer(A.clone(), a.clone(), B.clone(), b.clone())
        except Exception as error:
            return (f"on {where} your function raised {type(error).__name__}: {error} (a "
                    "(c_o, m) matrix times an (m, c_i) one: which layer's matrix comes first?)")
        if got is None:
            return "your function returned None: is a `return` missing?"
        if not isinstance(got, tuple | list) or len(got) != 2:
            return f"on {where} your function did not return a pair (weight, bias)"
        W, c = (torch.as_tensor(t, dtype=torch.float32) for t in got)
        if W.dim() not in (2, 4) or tuple(W.shape[:2]) != (B.shape[0], A.shape[1]):
            return (f"on {where} your weight has shape {tuple(W.shape)}: the merged layer goes "
                    "straight from the first layer's input channels to the second layer's output "
                    "channels, (c_o, c_i) or (c_o, c_i, 1, 1)")
        two_layers = conv1x1_matmul(conv1x1_matmul(x, A, a), B, b)
        if torch.allclose(conv1x1_matmul(x, W, c.reshape(-1)), two_layers, atol=1e-5):
            continue
        no_bias = conv1x1_matmul(conv1x1_matmul(x, A), B)
        if not torch.allclose(conv1x1_matmul(x, W), no_bias, atol=1e-5):
            if A.shape[0] == A.shape[1] == B.shape[0] and torch.allclose(
                    _matrix(W), _matrix(A) @ _matrix(B), atol=1e-5):
                return (f"on {where} the weight multiplies the matrices in the wrong order: the "
                        "first layer acts first, so its matrix stands next to x")
            return (f"on {where} the weight is wrong: follow one pixel's channel vector x "
                    "through both layers, W2 (W1 x + b1) + b2, and collect what multiplies x")
        if c.shape == b.shape and torch.allclose(c, b):
            return (f"on {where} the weight is right but the bias is only the second layer's: "
                    "the first layer's bias goes through the second layer's weights too")
        return (f"on {where} the weight is right but the bias is not: expand "
                "W2 (W1 x + b1) + b2 and collect what does not multiply x")
    return None


# Exercise 3.2 ------------------------------------------------------------------------------

GREY = (0.299, 0.587, 0.114)  # the weights the exercise gives (red, green, blue)


@exercise("3.2", "write", "a layer (nn.Conv2d) that turns an RGB batch into grey levels")
def grey_layer(answer: Any) -> str | None:
    generator = torch.Generator().manual_seed(302)
    weight = torch.tensor(GREY).reshape(1, 3, 1, 1)
    for shape in ((2, 3, 5, 4), (1, 3, 7, 7)):
        rgb = torch.rand(shape, generator=generator)
        expected = torch.stack([conv1x1_matmul(image, weight) for image in rgb])
        try:
            with torch.no_grad():
                got = answer(rgb.clone())
        except Exception as error:
            return (f"your layer fails on a batch of RGB images ({type(error).__name__}: "
                    f"{error}): an RGB image has 3 input channels")
        got = torch.as_tensor(got).detach()
        if got.dim() == 4 and got.shape[1] == 3 and got.shape[2:] == rgb.shape[2:]:
            return ("your layer returns 3 channels; a grey image has one. nn.Conv2d takes "
                    "(in_channels, out_channels, kernel_size), in that order")
        if got.shape != expected.shape:
            return (f"on an input of shape {tuple(rgb.shape)} your layer returns shape "
                    f"{tuple(got.shape)}: a 1×1 kernel keeps the height and width and the grey "
                    "image has one channel")
        if torch.allclose(got, expected, atol=1e-5):
            continue
        offset = got - expected
        if torch.allclose(offset, offset.flatten()[0].expand_as(offset), atol=1e-5):
            return ("every pixel is off by the same constant: that is the layer's random bias. "
                    "Build it with bias=False or set the bias to zero")
        flipped = torch.stack([conv1x1_matmul(image, weight.flip(1)) for image in rgb])
        if torch.allclose(got, flipped, atol=1e-5):
            return ("the weights sit on the wrong channels: channel 0 is red, 1 green, 2 blue "
                    "(the order of the weights in the exercise)")
        return ("the grey values are wrong: the layer's weight (1, 3, 1, 1) should hold the three "
                "factors, one per input channel")
    return None


# Exercise 3.3 ------------------------------------------------------------------------------

def _macs(c_i: int, c_o: int, k: int, pixels: int, bias: bool = False) -> int:
    return conv_params(c_i, c_o, k, bias=bias) * pixels


def _bottleneck(pixels: int, bias: bool = False) -> int:
    return (_macs(256, 64, 1, pixels, bias) + _macs(64, 64, 3, pixels, bias)
            + _macs(64, 256, 1, pixels, bias))


@exercise("3.3", "predict", "(multiply-adds of the 3×3 layer, multiply-adds of the bottleneck)")
def bottleneck_macs(answer: Any) -> str | None:
    plain, bottleneck = as_ints(answer, 2)
    out_h, out_w = conv_output_shape(56, 3, padding=1)  # padding 1 keeps the map 56×56
    pixels = out_h * out_w
    right = (_macs(256, 256, 3, pixels), _bottleneck(pixels))
    if (plain, bottleneck) == right:
        return None
    if (plain, bottleneck) == (_macs(256, 256, 3, pixels, True), _bottleneck(pixels, True)):
        return ("you counted the biases: a bias is one addition per output, not a "
                "multiply-add; count the weights without bias")
    if plain == right[0] // pixels or bottleneck == right[1] // pixels:
        return ("that is a count of weights: each weight is used once at every output pixel, "
                "so multiply by the number of output pixels")
    if plain == _macs(256, 256, 3, 54 * 54):
        return ("the 3×3 layers are padded by 1 (the map stays 56×56), so every layer has "
                "56 × 56 output pixels")
    wrong = [name for name, got, want in (("3×3 layer", plain, right[0]),
                                          ("bottleneck", bottleneck, right[1])) if got != want]
    return (f"the {' and the '.join(wrong)} count is off: multiply-adds = c_o · c_i · k_h · k_w · "
            "(output pixels), summed over the bottleneck's three layers")


# Exercise 3.4 ------------------------------------------------------------------------------

@exercise("3.4", "predict", "the 2×2 output (a tensor or nested list)")
def equal_channels(answer: Any) -> str | None:
    got = torch.as_tensor(answer, dtype=torch.float32)
    X = channel_example()[0]  # section 3.1's input: channels 0..8 and 1..9
    K_one = counting_input(2)  # K' = [[0, 1], [2, 3]]
    right = corr2d_multi_in(X, K_one.expand(2, 2, 2))
    if got.shape == right.shape and torch.allclose(got, right):
        return None
    if got.shape == (2, 2, 2):
        return ("your answer has two channels: a multi-channel kernel sums its per-channel "
                "results into one channel, it does not stack them")
    if got.shape != right.shape:
        return f"the output of a 2×2 kernel on a 3×3 input is 2×2; yours is {tuple(got.shape)}"
    for c in range(2):
        if torch.allclose(got, corr2d(X[c], K_one)):
            return f"that is input channel {c} alone: the layer adds up both channels' results"
    if torch.allclose(got, corr2d(X.mean(0), K_one)):
        return "that is the mean of the channels: the layer adds them, it does not average"
    if torch.allclose(got, corr2d(X.sum(0), K_one.flip(0, 1))):
        return "you rotated the kernel: cross-correlation slides K' as it is"
    if torch.allclose(got, corr2d(X.sum(0), K_one.T)):
        return "you transposed the kernel: K'[a, b] multiplies row i + a and column j + b"
    return ("add the two input channels first, then slide K' over the sum; recheck the "
            "arithmetic of one element")
