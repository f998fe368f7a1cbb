"""Chapter 7's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

from torch import nn

from cnnbook.exercises import check
from cnnbook.models import count_parameters, layer_table, lenet, lenet_modern


def modern_counts() -> list[int]:
    """The worked solution of exercise 7.1, by formula: c_o (c_i k^2 + 1), 2c, m (n + 1)."""
    return [16 * (1 * 25 + 1), 2 * 16, 32 * (16 * 25 + 1), 2 * 32,
            96 * (32 * 5 * 5 + 1), 2 * 96, 10 * (96 + 1)]


def test_modern_parameters() -> None:
    right = modern_counts()
    assert check("7.1", right)
    assert sum(right) == count_parameters(lenet_modern())
    assert check("7.1", tuple(right))


def test_modern_parameters_hints() -> None:
    right = modern_counts()
    total = check("7.1", sum(right))  # the total instead of the list
    assert not total and "list of 7" in total.message
    gamma_only = right.copy()
    gamma_only[1] = 16  # one parameter per channel
    verdict = check("7.1", gamma_only)
    assert not verdict and "γ" in verdict.message and "416" not in verdict.message
    buffers = right.copy()
    buffers[3] = 4 * 32  # running mean and variance counted as parameters
    verdict = check("7.1", buffers)
    assert not verdict and "buffers" in verdict.message and "64" not in verdict.message
    no_bias = right.copy()
    no_bias[2] = 32 * 16 * 25
    verdict = check("7.1", no_bias)
    assert not verdict and "bias" in verdict.message and "12832" not in verdict.message
    classic_flatten = right.copy()
    classic_flatten[4] = 96 * (400 + 1)  # LeNet's 16 x 5 x 5 instead of 32 x 5 x 5
    verdict = check("7.1", classic_flatten)
    assert not verdict and "400" in verdict.message and "76896" not in verdict.message
    short = check("7.1", right[:4])
    assert not short and "7 layers" in short.message


def lenet32() -> nn.Sequential:
    """The worked solution of exercise 7.2."""
    net = lenet()
    net[0] = nn.Conv2d(1, 6, kernel_size=5)
    return net


def test_lenet_for_32x32() -> None:
    assert check("7.2", lenet32)
    shapes = [row.output_shape for row in layer_table(lenet32(), (1, 1, 32, 32))]
    assert shapes == [row.output_shape for row in layer_table(lenet(), (1, 1, 28, 28))]


def test_lenet_for_32x32_hints() -> None:
    padded = check("7.2", lenet)  # the 28x28 network, still padded: its Linear does not fit
    assert not padded and "pads" in padded.message
    modern = check("7.2", lambda: _relu(lenet32()))  # ReLU instead of sigmoid
    assert not modern and "sigmoid" in modern.message
    shared = lenet32()
    assert "new one" in check("7.2", lambda: shared).message
    assert "not a network" in check("7.2", lambda: 3).message
    wide = check("7.2", lambda: nn.Sequential(nn.Conv2d(1, 8, 5), *lenet32()[1:]))
    assert not wide and "raised" in wide.message
    assert "no answer yet" in check("7.2", None).message


def _relu(net: nn.Sequential) -> nn.Sequential:
    for i, layer in enumerate(net):
        if isinstance(layer, nn.Sigmoid):
            net[i] = nn.ReLU()
    return net
