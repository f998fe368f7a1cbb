"""LeNet and its variants: the original article's shapes, parameter counts, initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnnbook.models import (
    MODELS,
    count_parameters,
    init_xavier,
    layer_table,
    lenet,
    lenet_modern,
    reinitialise,
)

# The original article's printout for a (1, 1, 28, 28) input, one line per layer.
ARTICLE_PRINTOUT = [
    ("Conv2d", (1, 6, 28, 28)),
    ("Sigmoid", (1, 6, 28, 28)),
    ("AvgPool2d", (1, 6, 14, 14)),
    ("Conv2d", (1, 16, 10, 10)),
    ("Sigmoid", (1, 16, 10, 10)),
    ("AvgPool2d", (1, 16, 5, 5)),
    ("Flatten", (1, 400)),
    ("Linear", (1, 120)),
    ("Sigmoid", (1, 120)),
    ("Linear", (1, 84)),
    ("Sigmoid", (1, 84)),
    ("Linear", (1, 10)),
]


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return c_out * c_in * k * k + c_out


def linear_params(n_in: int, n_out: int) -> int:
    return n_out * n_in + n_out


def test_layer_table_matches_the_original_articles_printout():
    table = layer_table(lenet(), (1, 1, 28, 28))
    assert [(row.name, row.output_shape) for row in table] == ARTICLE_PRINTOUT
    expected_params = [
        conv_params(1, 6, 5), 0, 0, conv_params(6, 16, 5), 0, 0, 0,
        linear_params(400, 120), 0, linear_params(120, 84), 0, linear_params(84, 10),
    ]  # fmt: skip
    assert [row.params for row in table] == expected_params
    assert table.total_params == sum(expected_params) == count_parameters(lenet()) == 61_706


def test_layer_table_text_and_html():
    table = layer_table(lenet(), (2, 1, 28, 28))
    text = str(table)
    assert "input shape (2, 1, 28, 28)" in text
    assert "AvgPool2d  (2, 16, 5, 5)" in text
    assert text.splitlines()[-1].split() == ["total", "61,706"]
    page = table._repr_html_()
    assert page.count("<tr>") == len(table) + 2  # header, rows, total
    assert "<code>(2, 400)</code>" in page


@pytest.mark.parametrize("size", [28, 32, 36])
def test_layer_table_follows_the_input_size(size: int):
    # The flatten width depends on the input; LeNet's first linear layer only accepts 28 x 28.
    table = layer_table(lenet()[:7], (3, 1, size, size))
    side = ((size // 2) - 4) // 2
    assert table[-1].output_shape == (3, 16 * side * side)


def test_layer_table_leaves_the_network_as_it_was():
    net = lenet(batch_norm=True)  # batch norm refuses a batch of one in training mode
    net.train()
    before = [p.clone() for p in net.parameters()]
    table = layer_table(net, (1, 1, 28, 28))
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert [row.name for row in table][:3] == ["Conv2d", "BatchNorm2d", "Sigmoid"]
    net.eval()
    layer_table(net)
    assert not net.training


def test_layer_table_rejects_bad_input():
    with pytest.raises(ValueError, match="input_shape must have positive sizes"):
        layer_table(lenet(), (0, 1, 28, 28))
    with pytest.raises(ValueError, match="input_shape must be a sequence of ints"):
        layer_table(lenet(), (1, 1, 28.0, 28))
    with pytest.raises(ValueError, match="no sub-layers"):
        layer_table(nn.ReLU(), (1, 4))


def test_variants_change_one_ingredient_at_a_time():
    classic = [type(m).__name__ for m in lenet()]
    relu = [type(m).__name__ for m in lenet(activation="relu")]
    assert relu == [n.replace("Sigmoid", "ReLU") for n in classic]
    pooled = [type(m).__name__ for m in lenet(pool="max")]
    assert pooled == [n.replace("AvgPool2d", "MaxPool2d") for n in classic]
    normed = lenet(batch_norm=True)
    norms = [m.num_features for m in normed if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
    assert norms == [6, 16, 120, 84]
    assert count_parameters(normed) == 61_706 + 2 * sum(norms)
    x = torch.rand(4, 1, 28, 28)
    for net in (lenet(), lenet("relu", "max", True), lenet_modern()):
        assert net(x).shape == (4, 10)


def test_modern_lenet_is_small_and_modern():
    net = lenet_modern()
    kinds = {type(m) for m in net}
    assert {nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d, nn.BatchNorm1d} <= kinds
    assert not kinds & {nn.Sigmoid, nn.AvgPool2d}
    assert count_parameters(net) <= 100_000
    assert count_parameters(lenet_modern((8, 16), 64)) < count_parameters(net)


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="activation must be one of"):
        lenet(activation="tanh")
    with pytest.raises(ValueError, match="pool must be one of"):
        lenet(pool="min")
    with pytest.raises(ValueError, match="batch_norm must be True or False"):
        lenet(batch_norm="yes")
    with pytest.raises(ValueError, match="channels must be a pair"):
        lenet_modern(channels=(8, 16, 32))
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        lenet_modern(hidden=0)


@pytest.mark.parametrize("seed", range(3))
def test_init_xavier_draws_weights_within_the_xavier_bound(seed: int):
    torch.manual_seed(seed)
    net = lenet_modern()
    biases = [m.bias.clone() for m in net if isinstance(m, nn.Linear | nn.Conv2d)]
    norm_weights = [m.weight.clone() for m in net if isinstance(m, nn.BatchNorm2d)]
    init_xavier(net)
    for module in net:
        if isinstance(module, nn.Linear | nn.Conv2d):
            w = module.weight
            receptive = w[0, 0].numel() if w.dim() == 4 else 1
            fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert w.abs().max() <= bound
            # Uniform on [-a, a] has standard deviation a / sqrt(3).
            assert abs(w.std().item() - bound / math.sqrt(3)) < 0.25 * bound / math.sqrt(3)
    after = [m.bias for m in net if isinstance(m, nn.Linear | nn.Conv2d)]
    assert all(torch.equal(a, b) for a, b in zip(biases, after, strict=True))
    norms = [m for m in net if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(a, m.weight) for a, m in zip(norm_weights, norms, strict=True))


def test_reinitialise_repeats_from_the_seed_biases_included():
    def fresh(seed: int) -> list[torch.Tensor]:
        net = lenet_modern()
        torch.manual_seed(seed)
        return [p.detach().clone() for p in reinitialise(net).parameters()]

    first = fresh(0)
    assert all(torch.equal(a, b) for a, b in zip(first, fresh(0), strict=True))
    assert not torch.equal(first[1], fresh(1)[1])  # the first convolution's biases are drawn too


def test_models_are_known_by_name():
    assert set(MODELS) == {"lenet", "modern"}
    assert count_parameters(MODELS["lenet"]()) == 61_706
    assert count_parameters(MODELS["modern"]()) == 91_402
