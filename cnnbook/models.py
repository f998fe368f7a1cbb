"""LeNet as the original article builds it, its modern variants, and a per-layer shape table.

:func:`lenet` with no arguments is the classic LeNet-5 of the original article (sigmoid
activations, average pooling). Its keyword arguments switch one ingredient at a time (ReLU,
max-pooling, batch normalisation) so that the notebook can measure what each change buys alone;
:func:`lenet_modern` switches all three on. :data:`MODELS` names both for the command line and
for :class:`cnnbook.train.Recipe`. :func:`layer_table` runs a dummy input through a
network and lists each layer's output shape and parameter count.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch import nn

from cnnbook.args import positive_int

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


def _choice(value: str, name: str, choices: dict) -> type[nn.Module]:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return choices[value]


def lenet(
    activation: str = "sigmoid", pool: str = "avg", batch_norm: bool = False
) -> nn.Sequential:
    """LeNet-5 for 1 x 28 x 28 images and 10 classes; the defaults are the original article's.

    Two convolution blocks (conv 5 x 5 -> activation -> 2 x 2 pooling with stride 2; 6 then 16
    channels, the first padded by 2 so a 28 x 28 input keeps its size), a flatten, and three
    fully connected layers 400 -> 120 -> 84 -> 10 with the activation between them.

    ``activation`` is ``"sigmoid"`` (the original article's) or ``"relu"``; ``pool`` is ``"avg"``
    (the original article's) or ``"max"``; ``batch_norm=True`` puts a batch-normalisation layer
    after every convolution and every hidden fully connected layer, before its activation.
    """
    act = _choice(activation, "activation", ACTIVATIONS)
    pooling = _choice(pool, "pool", POOLS)
    if not isinstance(batch_norm, bool):
        raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")

    def block(layer: nn.Module, norm: type[nn.Module], width: int) -> list[nn.Module]:
        return [layer, norm(width), act()] if batch_norm else [layer, act()]

    return nn.Sequential(
        *block(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.BatchNorm2d, 6),
        pooling(kernel_size=2, stride=2),
        *block(nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d, 16),
        pooling(kernel_size=2, stride=2),
        nn.Flatten(),
        *block(nn.Linear(16 * 5 * 5, 120), nn.BatchNorm1d, 120),
        *block(nn.Linear(120, 84), nn.BatchNorm1d, 84),
        nn.Linear(84, 10),
    )


def lenet_modern(channels: Sequence[int] = (16, 32), hidden: int = 96) -> nn.Sequential:
    """LeNet with the three changes of the 2010s: ReLU, max-pooling and batch normalisation.

    The layout is LeNet's (two 5 x 5 convolution blocks, then fully connected layers), with
    wider convolutions (``channels``, 16 and 32 instead of 6 and 16: cheap in parameters, since a
    convolution shares its weights across positions) and one hidden layer of ``hidden`` units
    instead of two. The defaults have 91,402 parameters. It is trained with a modern recipe,
    :data:`cnnbook.train.MODERN` (SGD with momentum, weight decay, a cosine learning-rate
    schedule and random left-right flips; ``python -m cnnbook train --model modern`` runs it);
    the accuracy it reaches is printed by notebook 07 (section 7.6), not quoted here.
    """
    if len(channels) != 2:
        raise ValueError(f"channels must be a pair (c1, c2), got {channels!r}")
    c1, c2 = (positive_int(c, "channels") for c in channels)
    hidden = positive_int(hidden, "hidden")
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=5, padding=2), nn.BatchNorm2d(c1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5), nn.BatchNorm2d(c2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(c2 * 5 * 5, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )  # fmt: skip


#: The networks the command line and :class:`cnnbook.train.Recipe` know by name.
MODELS = {"lenet": lenet, "modern": lenet_modern}


def init_xavier(net: nn.Module) -> nn.Module:
    """Xavier-uniform initialisation of every ``Linear`` and ``Conv2d`` weight.

    As the original article does (d2l's ``init_weights``), biases keep PyTorch's default
    initialisation. Returns ``net``.
    """

    def init(module: nn.Module) -> None:
        if type(module) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)

    return net.apply(init)


def reinitialise(net: nn.Module) -> nn.Module:
    """Every layer afresh from the current random state, then xavier-uniform weights.

    Biases get PyTorch's default initialisation (the original article leaves them so too);
    drawing them again here, after the seed is set, is what makes a seeded run repeat exactly.
    """
    for module in net.modules():
        if module is not net and callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
    return init_xavier(net)


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters (elements of every parameter tensor that needs a gradient)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


class LayerRow(NamedTuple):
    """One layer of a :class:`LayerTable`."""

    name: str
    output_shape: tuple[int, ...]
    params: int


class LayerTable:
    """Each layer's name, output shape and parameter count; prints as text, shows as HTML."""

    def __init__(self, rows: Sequence[LayerRow], input_shape: tuple[int, ...]) -> None:
        self.rows = list(rows)
        self.input_shape = input_shape

    def __iter__(self) -> Iterator[LayerRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> LayerRow:
        return self.rows[index]

    @property
    def total_params(self) -> int:
        """Parameters of all the layers together."""
        return sum(row.params for row in self.rows)

    def __str__(self) -> str:
        header = ("layer", "output shape", "parameters")
        cells = [(r.name, str(r.output_shape), f"{r.params:,}") for r in self.rows]
        cells.append(("total", "", f"{self.total_params:,}"))
        widths = [max(len(row[i]) for row in [header, *cells]) for i in range(3)]

        def line(row: Sequence[str]) -> str:
            return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"

        rule = "-" * (sum(widths) + 4)
        body = [line(row) for row in cells]
        return "\n".join(
            [f"input shape {self.input_shape}", line(header), rule, *body[:-1], rule, body[-1]]
        )

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.name)}</td><td><code>{r.output_shape}</code></td>"
            f'<td style="text-align:right">{r.params:,}</td></tr>'
            for r in self.rows
        )
        return (
            '<table class="cnnbook-layers">'
            f"<caption>input shape <code>{self.input_shape}</code></caption>"
            "<thead><tr><th>layer</th><th>output shape</th><th>parameters</th></tr></thead>"
            f"<tbody>{rows}</tbody><tfoot><tr><th>total</th><th></th>"
            f'<th style="text-align:right">{self.total_params:,}</th></tr></tfoot></table>'
        )


def layer_table(net: nn.Module, input_shape: Sequence[int] = (1, 1, 28, 28)) -> LayerTable:
    """Run a random input of ``input_shape`` through ``net``; list each top-level layer's output.

    The rows follow the order in which the layers are called (for an ``nn.Sequential``, its
    order), one row per call, with the layer's class name, the shape it returned and its own
    parameter count. The network runs in evaluation mode (so batch norm accepts a batch of one)
    without gradients, and is left in the mode it was in.
    """
    shape = tuple(input_shape)
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise ValueError(f"input_shape must be a sequence of ints, got {input_shape!r}")
    if min(shape) < 1:
        raise ValueError(f"input_shape must have positive sizes, got {shape}")
    children = list(net.children())
    if not children:
        raise ValueError(
            f"{type(net).__name__} has no sub-layers to list: pass a network built from layers, "
            "such as an nn.Sequential"
        )
    rows: list[LayerRow] = []

    def record(module: nn.Module, _inputs: object, output: object) -> None:
        out_shape = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
        rows.append(LayerRow(type(module).__name__, out_shape, count_parameters(module)))

    first = next(net.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    handles = [child.register_forward_hook(record) for child in children]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(torch.rand(shape, device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
        net.train(was_training)
    return LayerTable(rows, shape)
