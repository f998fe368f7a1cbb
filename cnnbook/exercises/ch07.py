"""Checkers for chapter 7 (LeNet): parameter counts, and the original 32×32 LeNet-5."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnbook.exercises.checking import as_ints, exercise
from cnnbook.models import LayerRow, count_parameters, layer_table, lenet, lenet_modern


def _with_params(net: nn.Module) -> list[tuple[nn.Module, LayerRow]]:
    """The layers of ``net`` that have parameters, with their rows of the layer table."""
    rows = layer_table(net, (2, 1, 28, 28))
    return [(layer, row) for layer, row in zip(net, rows, strict=True) if row.params > 0]


def _layer_hint(layer: nn.Module, got: int) -> str:
    """Why ``got`` is not the parameter count of ``layer``: the typical slip for its kind."""
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
        c = layer.num_features
        if got == c:
            return ("a batch-norm layer learns two numbers per channel, a scale γ and a "
                    "shift β, not one")
        if got in (3 * c, 4 * c, 4 * c + 1):
            return ("the running mean and variance of a batch-norm layer are buffers that it "
                    "updates, not parameters that the optimizer learns: count γ and β only")
        return "a batch-norm layer over c channels has a scale γ and a shift β per channel"
    if isinstance(layer, nn.Conv2d):
        c_o, c_i, k_h, k_w = layer.weight.shape
        if got == c_o * c_i * k_h * k_w:
            return "the convolution has a bias too: one per output channel"
        if got == c_o * (k_h * k_w + 1):
            return ("each output channel's kernel covers every input channel: c_i × k × k "
                    "weights, plus its bias")
        return "a convolution from c_i to c_o channels with a k × k kernel has c_o (c_i k² + 1)"
    if isinstance(layer, nn.Linear):
        n, m = layer.in_features, layer.out_features
        if got == n * m:
            return "the fully connected layer has a bias too: one per output"
        if n != 400 and got == m * (400 + 1):
            return ("the modern LeNet's flattened vector is not the classic LeNet's 400 numbers: "
                    "count the channels of its second convolution")
        return "a fully connected layer from n to m has m (n + 1) parameters"
    return "count this layer's weights and biases again"


@exercise("7.1", "predict",
          "a list of the parameter counts of lenet_modern()'s layers that have parameters, "
          "in order (7 numbers)")
def modern_parameters(answer: Any) -> str | None:
    layers = _with_params(lenet_modern())
    counts = as_ints(answer)
    if len(counts) == 1 and len(layers) > 1:
        if counts[0] == count_parameters(lenet_modern()):
            return ("that is the right total; the exercise asks for the count of each layer "
                    f"that has parameters: a list of {len(layers)} numbers")
        return (f"the exercise asks for a list of {len(layers)} numbers, one per layer with "
                "parameters")
    if len(counts) != len(layers):
        return (f"lenet_modern() has {len(layers)} layers with parameters (convolutions, "
                "batch norms, fully connected layers); activations, pooling and flatten have "
                f"none. Your list has {len(counts)} numbers")
    for position, ((layer, row), got) in enumerate(zip(layers, counts, strict=True), start=1):
        if got != row.params:
            return f"number {position} ({row.name}) is off: {_layer_hint(layer, got)}"
    return None


def lenet_32x32() -> nn.Sequential:
    """The reference: the original article's LeNet with an unpadded first convolution."""
    net = lenet()
    net[0] = nn.Conv2d(1, 6, kernel_size=5)
    return net


def _describe(net: nn.Module) -> list[tuple[str, tuple[int, ...], int]]:
    return [(row.name, row.output_shape[1:], row.params)
            for row in layer_table(net, (2, 1, 32, 32))]


@exercise("7.2", "write", "the function lenet32() that builds LeNet-5 for 1×32×32 images")
def lenet_for_32x32(answer: Any) -> str | None:
    net = answer()
    if net is None:
        return "lenet32() returned None: is a `return` missing?"
    if not isinstance(net, nn.Module):
        return f"lenet32() returned a {type(net).__name__}, not a network (an nn.Module)"
    if answer() is net:
        return "lenet32() returns the same network twice: build a new one on every call"
    first = next((m for m in net.modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None and tuple(first.padding) != (0, 0):
        return ("your first convolution still pads its input: on 32×32 images the original "
                "LeNet-5 did not pad (the images themselves had a blank border)")
    try:
        got = _describe(net)
    except Exception as error:  # a shape mismatch inside the learner's network
        return f"on a 2×1×32×32 batch your network raised {type(error).__name__}: {error}"
    expected = _describe(lenet_32x32())
    names = [name for name, _, _ in got]
    if names != [name for name, _, _ in expected]:
        if "ReLU" in names or "MaxPool2d" in names:
            return "LeNet-5 is the original article's network: sigmoids and average pooling"
        return ("the layers are not LeNet-5's: keep lenet()'s layers and change only the "
                "first convolution")
    for (name, shape, params), (_, shape_ok, params_ok) in zip(got, expected, strict=True):
        if shape != shape_ok:
            return f"the output of a {name} layer has the wrong shape {shape}"
        if params != params_ok:
            return f"a {name} layer has the wrong number of parameters"
    # Batches the learner has not seen: any batch size, one row of 10 scores per image.
    generator = torch.Generator().manual_seed(732)
    net.eval()
    with torch.no_grad():
        for n in (3, 7):
            scores = net(torch.rand(n, 1, 32, 32, generator=generator))
            if tuple(scores.shape) != (n, 10):
                return f"a batch of {n} images gives scores of shape {tuple(scores.shape)}"
    return None
