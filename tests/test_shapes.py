"""Tests of cnnbook.shapes against the shapes PyTorch's layers produce and brute-force checks."""

from __future__ import annotations

import copy
import pickle
import random
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.shapes import (
    LayerSpec,
    OutputShape,
    ReceptiveField,
    conv_output_shape,
    conv_params,
    conv_transpose_output_shape,
    effective_kernel_size,
    formula_output_shape,
    inverse_output_padding,
    pool_output_shape,
    receptive_field,
)

SEEDS = range(60)
TORCH_ERRORS = (RuntimeError, ValueError)


# Tiny tensors: one intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def as_pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """An int or a pair, as a pair."""
    return (value, value) if isinstance(value, int) else tuple(value)


def trailing_false(flags: torch.Tensor) -> int:
    """How many entries at the end of a 1-D boolean tensor are False."""
    count = 0
    for flag in reversed(flags.tolist()):
        if flag:
            break
        count += 1
    return count


NEUTRAL = {"input_hw": 1, "kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}
NEUTRAL |= {"output_padding": 0}


def one_axis(args: dict, axis: int) -> dict:
    """``args`` with the other axis made trivial (size 1, kernel 1, stride 1, no padding).

    Dropped rows and dropped columns are counted per axis; on a one-pixel-wide input read by a
    one-pixel-wide kernel the columns cannot hide anything, so the brute-force check sees the
    rows alone.
    """
    result = dict(args)
    for name, neutral in NEUTRAL.items():
        value = args.get(name)
        if value is None and name == "stride" and "ceil_mode" in args:
            value = args["kernel_size"]  # pooling's default stride is the kernel
        if name not in args or isinstance(value, str):
            continue
        pair = [neutral, neutral]
        pair[axis] = as_pair(value)[axis]
        result[name] = tuple(pair)
    return result


def read_along(grad: torch.Tensor) -> torch.Tensor:
    """Nonzero flags of a (1, 1, n, 1) or (1, 1, 1, n) gradient, as a 1-D tensor."""
    return (grad != 0).flatten()


def check_dropped_by_brute_force(
    rng: random.Random,
    random_args: Callable[[random.Random], dict],
    output_shape: Callable[..., OutputShape],
    read_flags: Callable[[dict], torch.Tensor],
) -> None:
    """On 5 valid random geometries, the unread rows/columns are those no window reads, and the
    dropped ones are the trailing block of them.

    ``read_flags(axis_args)`` gets the arguments of one axis (:func:`one_axis`) and returns, for
    each input row along it, whether some window reads it.
    """
    checked = 0
    while checked < 5:
        args = random_args(rng)
        try:
            shape = output_shape(**args)
        except ValueError:
            continue
        for axis, dropped, unread in ((0, shape.dropped_rows, shape.unread_rows),
                                      (1, shape.dropped_cols, shape.unread_cols)):
            flags = read_flags(one_axis(args, axis))
            assert dropped == trailing_false(flags), (args, axis)
            # "Never read", the book's one definition: every row no window touches.
            assert unread == tuple(i for i, read in enumerate(flags) if not read), (args, axis)
        checked += 1


def random_conv_args(rng: random.Random) -> dict:
    """One random nn.Conv2d geometry, valid or not, with asymmetric pairs and string paddings."""
    padding = rng.choice(
        [rng.randint(0, 3), (rng.randint(0, 3), rng.randint(0, 3)), "same", "valid"]
    )
    stride = rng.choice([rng.randint(1, 4), (rng.randint(1, 4), rng.randint(1, 4))])
    if padding == "same" and rng.random() < 0.8:
        stride = 1  # mostly legal combinations, some illegal ones
    return dict(
        input_hw=(rng.randint(1, 13), rng.randint(1, 13)),
        kernel_size=rng.choice([rng.randint(1, 5), (rng.randint(1, 5), rng.randint(1, 5))]),
        stride=stride,
        padding=padding,
        dilation=rng.choice([1, rng.randint(1, 3), (rng.randint(1, 3), rng.randint(1, 3))]),
    )


# --- OutputShape --------------------------------------------------------------------------------


def test_output_shape_behaves_as_the_pair() -> None:
    shape = OutputShape(4, 3, dropped_rows=1, dropped_cols=2)
    h, w = shape
    assert (h, w) == (4, 3) and shape.height == 4 and shape.width == 3
    assert shape == (4, 3) and shape == torch.Size([4, 3]) and shape[1] == 3 and len(shape) == 2
    assert shape != (4, 4)
    assert (shape.dropped_rows, shape.dropped_cols) == (1, 2)
    assert repr(shape) == "OutputShape(height=4, width=3, dropped_rows=1, dropped_cols=2)"
    for clone in (copy.copy(shape), copy.deepcopy(shape), pickle.loads(pickle.dumps(shape))):
        assert clone == shape and (clone.dropped_rows, clone.dropped_cols) == (1, 2)


# --- convolution --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (dict(kernel_size=3, padding=1), (8, 8)),
        (dict(kernel_size=(5, 3), padding=(2, 1)), (8, 8)),
        (dict(kernel_size=3, padding=1, stride=2), (4, 4)),
        (dict(kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)), (2, 2)),
    ],
)
def test_source_examples_on_an_8x8_input(kwargs: dict, expected: tuple[int, int]) -> None:
    # The shapes the source prints for nn.Conv2d on a random 8x8 input; nn.Conv2d agrees.
    layer = nn.Conv2d(1, 1, **kwargs)
    assert layer(torch.rand(1, 1, 8, 8)).shape[2:] == expected
    assert conv_output_shape(8, **kwargs) == expected


def test_source_example_drops_rows_and_columns() -> None:
    # kernel (3, 5), padding (0, 1), stride (3, 4) on 8x8: windows reach rows 0..5 and the
    # padded columns 0..8, i.e. input columns 0..7; rows 6 and 7 are never read.
    shape = conv_output_shape(8, (3, 5), stride=(3, 4), padding=(0, 1))
    assert (shape.dropped_rows, shape.dropped_cols) == (2, 0)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("seed", SEEDS)
def test_conv_output_shape_matches_pytorch(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(10):
        args = random_conv_args(rng)
        hw = args.pop("input_hw")
        x = torch.zeros(1, 1, *hw)
        weight = torch.zeros(1, 1, *as_pair(args.pop("kernel_size")))
        try:
            expected = F.conv2d(x, weight, **args).shape[2:]
        except TORCH_ERRORS:
            with pytest.raises(ValueError):
                conv_output_shape(hw, weight.shape[2:], **args)
            continue
        assert conv_output_shape(hw, weight.shape[2:], **args) == expected, (hw, args)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_dropped_rows_by_brute_force(seed: int) -> None:
    # An input row is dropped when no output depends on it: its gradient is zero. With all-one
    # weights nothing cancels, so "nonzero gradient" means "read by some window".
    def read_flags(axis_args: dict) -> torch.Tensor:
        hw, kernel = axis_args.pop("input_hw"), axis_args.pop("kernel_size")
        x = torch.ones(1, 1, *hw, dtype=torch.float64, requires_grad=True)
        F.conv2d(x, torch.ones(1, 1, *kernel, dtype=torch.float64), **axis_args).sum().backward()
        return read_along(x.grad)

    check_dropped_by_brute_force(
        random.Random(1000 + seed), random_conv_args, conv_output_shape, read_flags
    )


def test_unread_rows_include_those_a_stride_skips() -> None:
    shape = conv_output_shape(28, 1, stride=2)
    assert shape.unread_rows == tuple(range(1, 28, 2)) and shape.dropped_rows == 1
    # Chapter 01's explorer: 9 x 9 input, kernel 1 x 2, padding 1, stride 2, dilation 3. Rows:
    # six windows at padded rows 0, 2, .., 10 read input rows 1, 3, 5, 7 (row 9 is padding).
    shape = conv_output_shape((9, 9), (1, 2), stride=2, padding=1, dilation=3)
    assert shape.unread_rows == (0, 2, 4, 6, 8) and shape.dropped_rows == 1
    # Columns: windows at padded 0, 2, 4, 6 with taps +0 and +3 read padded 0, 2..7, 9, i.e.
    # input columns 1..6 and 8; columns 0 and 7 are never read, and none trails.
    assert shape.unread_cols == (0, 7) and shape.dropped_cols == 0
    assert conv_output_shape(8, 3, stride=2, padding=1).unread_rows == ()


def test_conv_dropped_rows_examples() -> None:
    assert conv_output_shape(8, 3, stride=2).dropped_rows == 1  # windows 0-2, 2-4, 4-6
    assert conv_output_shape(8, 3, stride=2, padding=1).dropped_rows == 0  # 8 + 2 - 3 = 7
    assert conv_output_shape(7, 3, stride=2).dropped_rows == 0
    assert conv_output_shape(9, 2, stride=3).dropped_rows == 1  # windows 0-1, 3-4, 6-7
    # The whole input lies below a single window made only of top padding.
    assert conv_output_shape(2, 1, stride=10, padding=3).dropped_rows == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_formula_form_agrees(seed: int) -> None:
    # floor((n - k + p + s) / s) with p the total padding is PyTorch's size for any split of p,
    # including odd totals that nn.Conv2d cannot express with its per-side padding.
    rng = random.Random(2000 + seed)
    n, k, total, s = rng.randint(1, 15), rng.randint(1, 6), rng.randint(0, 6), rng.randint(1, 4)
    if k > n + total:
        with pytest.raises(ValueError, match="larger than the padded input"):
            formula_output_shape(n, k, total, s)
        return
    top = rng.randint(0, total)
    x = F.pad(torch.zeros(1, 1, n, n), (top, total - top, total - top, top))
    expected = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s).shape[2:]
    assert formula_output_shape(n, k, total, s) == expected
    if total % 2 == 0:
        assert formula_output_shape(n, k, total, s) == conv_output_shape(n, k, s, total // 2)


def test_formula_form_same_padding() -> None:
    # p = k - 1 in total keeps the size, for odd and even kernels.
    for k in range(1, 7):
        assert formula_output_shape(9, k, k - 1) == (9, 9) == conv_output_shape(9, k, 1, "same")


# --- transposed convolution ---------------------------------------------------------------------


def random_transpose_args(rng: random.Random) -> dict:
    """One random nn.ConvTranspose2d geometry; output_padding sometimes illegal."""
    stride = (rng.randint(1, 4), rng.randint(1, 4))
    dilation = (rng.randint(1, 3), rng.randint(1, 3))
    output_padding = tuple(rng.randint(0, max(s, d)) for s, d in zip(stride, dilation, strict=True))
    return dict(
        input_hw=(rng.randint(1, 7), rng.randint(1, 7)),
        kernel_size=(rng.randint(1, 5), rng.randint(1, 5)),
        stride=stride,
        padding=(rng.randint(0, 5), rng.randint(0, 5)),
        output_padding=output_padding,
        dilation=dilation,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_transpose_output_shape_matches_pytorch(seed: int) -> None:
    rng = random.Random(3000 + seed)
    for _ in range(10):
        args = random_transpose_args(rng)
        hw, kernel = args.pop("input_hw"), args.pop("kernel_size")
        try:
            expected = F.conv_transpose2d(
                torch.zeros(1, 1, *hw), torch.zeros(1, 1, *kernel), **args
            ).shape[2:]
            # PyTorch's reference kernel refuses an empty output; some faster backends return
            # one. cnnbook always refuses it.
            if 0 in expected:
                raise RuntimeError("empty output")
        except TORCH_ERRORS:
            with pytest.raises(ValueError):
                conv_transpose_output_shape(hw, kernel, **args)
            continue
        assert conv_transpose_output_shape(hw, kernel, **args) == expected, (hw, kernel, args)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_transpose_dropped_rows_by_brute_force(seed: int) -> None:
    def read_flags(axis_args: dict) -> torch.Tensor:
        hw, kernel = axis_args.pop("input_hw"), axis_args.pop("kernel_size")
        x = torch.ones(1, 1, *hw, dtype=torch.float64, requires_grad=True)
        weight = torch.ones(1, 1, *kernel, dtype=torch.float64)
        F.conv_transpose2d(x, weight, **axis_args).sum().backward()
        return read_along(x.grad)

    check_dropped_by_brute_force(
        random.Random(4000 + seed), random_transpose_args, conv_transpose_output_shape, read_flags
    )


def test_conv_transpose_drops_only_when_padding_outreaches_the_kernel() -> None:
    assert conv_transpose_output_shape(4, 3, stride=2, padding=1).dropped_rows == 0
    # Padding 3 > kernel reach 2: 6 inputs spread onto uncropped rows 0..7, of which rows 3..4
    # are kept; input 5 feeds rows 5..7 only, so it is dropped (as input 0 is, at the top).
    assert conv_transpose_output_shape(6, 3, stride=1, padding=3) == (2, 2)
    assert conv_transpose_output_shape(6, 3, stride=1, padding=3).dropped_rows == 1


def test_source_shape_inverse() -> None:
    # Conv2d(10, 20, k5, p2, s3) maps 16x16 to 6x6; the transposed layer with the same
    # arguments maps 6x6 back to 16x16.
    conv = conv_output_shape(16, 5, stride=3, padding=2)
    assert conv == (6, 6)
    assert conv_transpose_output_shape(conv, 5, stride=3, padding=2) == (16, 16)
    layer = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
    assert layer(nn.Conv2d(10, 20, 5, 3, 2)(torch.rand(1, 10, 16, 16))).shape == (1, 10, 16, 16)


@pytest.mark.parametrize("seed", SEEDS)
def test_inverse_output_padding_restores_the_input_size(seed: int) -> None:
    rng = random.Random(5000 + seed)
    while True:
        args = random_conv_args(rng)
        args["padding"] = (rng.randint(0, 3), rng.randint(0, 3))
        try:
            out = conv_output_shape(**args)
            break
        except ValueError:
            continue
    extra = inverse_output_padding(**args)
    hw = args.pop("input_hw")
    restored = conv_transpose_output_shape(out, output_padding=extra, **args)
    assert restored == as_pair(hw)
    # PyTorch agrees, both with this output_padding and when asked for output_size.
    y = torch.zeros(1, 1, *out)
    weight = torch.zeros(1, 1, *as_pair(args.pop("kernel_size")))
    assert F.conv_transpose2d(y, weight, output_padding=extra, **args).shape[2:] == as_pair(hw)
    layer = nn.ConvTranspose2d(1, 1, weight.shape[2:], **args)
    assert layer(y, output_size=as_pair(hw)).shape[2:] == as_pair(hw)


# --- pooling ------------------------------------------------------------------------------------


def random_pool_args(rng: random.Random) -> dict:
    kernel = (rng.randint(1, 4), rng.randint(1, 4))
    return dict(
        input_hw=(rng.randint(1, 12), rng.randint(1, 12)),
        kernel_size=kernel,
        stride=rng.choice([None, (rng.randint(1, 4), rng.randint(1, 4))]),
        padding=(rng.randint(0, kernel[0] // 2 + 1), rng.randint(0, kernel[1] // 2 + 1)),
        dilation=rng.choice([1, (rng.randint(1, 3), rng.randint(1, 3))]),
        ceil_mode=rng.random() < 0.5,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_output_shape_matches_pytorch(seed: int) -> None:
    rng = random.Random(6000 + seed)
    for _ in range(10):
        args = random_pool_args(rng)
        hw = args.pop("input_hw")
        x = torch.zeros(1, 1, *hw)
        try:
            expected = nn.MaxPool2d(**args)(x).shape[2:]
        except TORCH_ERRORS:
            with pytest.raises(ValueError):
                pool_output_shape(hw, **args)
            continue
        assert pool_output_shape(hw, **args) == expected, (hw, args)
        if args["dilation"] == 1:  # AvgPool2d has no dilation; the same rule otherwise
            avg_args = {k: v for k, v in args.items() if k != "dilation"}
            assert nn.AvgPool2d(**avg_args)(x).shape[2:] == expected


def test_pool_source_examples_and_ceil_mode() -> None:
    assert pool_output_shape(4, 2) == (2, 2)
    assert pool_output_shape(4, 3) == (1, 1)
    assert pool_output_shape(4, 3, stride=2, padding=1) == (2, 2)
    assert pool_output_shape(4, (2, 3), stride=(2, 3), padding=(0, 1)) == (2, 2)
    # 5 rows, window 2, stride 2: floor keeps 2 windows (row 4 dropped), ceil keeps a third
    # window that starts on row 4 and hangs over the edge.
    floor, ceil = pool_output_shape(5, 2), pool_output_shape(5, 2, ceil_mode=True)
    assert (floor, floor.dropped_rows) == ((2, 2), 1)
    assert (ceil, ceil.dropped_rows) == ((3, 3), 0)
    # 5 rows padded by 1, window 2, stride 2: the ceiling asks for windows at padded rows 0, 2,
    # 4 and 6, but the one at row 6 would start in the bottom padding, so it is not kept.
    assert pool_output_shape(5, 2, stride=2, padding=1, ceil_mode=True) == (3, 3)
    layer = nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)
    assert layer(torch.zeros(1, 1, 5, 5)).shape[2:] == (3, 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_dropped_rows_by_brute_force(seed: int) -> None:
    # Row r is read by some window exactly when max pooling an input that is one on row r and
    # zero elsewhere gives a nonzero output (padding is -inf for max pooling).
    def read_flags(axis_args: dict) -> torch.Tensor:
        hw = axis_args.pop("input_hw")
        read = []
        for r in range(max(hw)):
            x = torch.zeros(1, 1, *hw)
            x.view(-1)[r] = 1
            read.append(bool(F.max_pool2d(x, **axis_args).any()))
        return torch.tensor(read)

    check_dropped_by_brute_force(
        random.Random(7000 + seed), random_pool_args, pool_output_shape, read_flags
    )


# --- receptive field ----------------------------------------------------------------------------


def random_stack(rng: random.Random) -> list[nn.Module]:
    """A random stack of conv/pool layers (with a ReLU or two, which must be skipped)."""
    layers: list[nn.Module] = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["conv", "conv", "same", "max", "avg"])
        k = (rng.randint(1, 4), rng.randint(1, 4))
        s = (rng.randint(1, 2), rng.randint(1, 2))
        d = (rng.randint(1, 3), rng.randint(1, 3))
        if kind == "conv":
            layers.append(nn.Conv2d(1, 1, k, s, (rng.randint(0, 2), rng.randint(0, 2)), d))
        elif kind == "same":
            layers.append(nn.Conv2d(1, 1, k, 1, "same", d))
        elif kind == "max":
            layers.append(nn.MaxPool2d(k, s, (k[0] // 2, k[1] // 2), d))
        else:
            layers.append(nn.AvgPool2d(k, s, (k[0] // 2, k[1] // 2)))
        if rng.random() < 0.3:
            layers.append(nn.ReLU())
    return layers


def positive_twin(layer: nn.Module) -> nn.Module:
    """A layer with the same geometry whose every weight is positive, so no gradient cancels."""
    if isinstance(layer, nn.Conv2d):
        twin = nn.Conv2d(1, 1, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    elif isinstance(layer, nn.MaxPool2d):  # max pooling routes the gradient to one element
        twin = nn.Conv2d(1, 1, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    else:
        return layer
    twin = twin.double()
    with torch.no_grad():
        twin.weight.uniform_(0.5, 1.5)
        twin.bias.fill_(1.0)
    return twin


@pytest.mark.parametrize("seed", SEEDS)
def test_receptive_field_by_brute_force(seed: int) -> None:
    # The input pixels whose gradient from one output pixel is nonzero span exactly the
    # receptive field that receptive_field predicts for that pixel.
    rng = random.Random(8000 + seed)
    layers = random_stack(rng)
    fields = receptive_field(layers)
    assert len(fields) == sum(not isinstance(m, nn.ReLU) for m in layers)
    last = fields[-1]
    size = [2 * last.size[a] + 4 * last.jump[a] + 8 for a in (0, 1)]
    x = torch.ones(1, 1, *size, dtype=torch.float64, requires_grad=True)
    y = nn.Sequential(*map(positive_twin, layers))(x)
    out_h, out_w = y.shape[2:]
    for i, j in ((out_h // 2, out_w // 2), (out_h // 2 + 1, out_w // 2 + 1)):
        if i >= out_h or j >= out_w:
            continue
        x.grad = None
        y[0, 0, i, j].backward(retain_graph=True)
        nonzero = x.grad[0, 0] != 0
        rows, cols = nonzero.any(dim=1).nonzero().flatten(), nonzero.any(dim=0).nonzero().flatten()
        (first_row, last_row), (first_col, last_col) = last.bounds(i, j)
        assert 0 < first_row and last_row < size[0] - 1, "test input too small"
        assert 0 < first_col and last_col < size[1] - 1, "test input too small"
        assert (rows.min().item(), rows.max().item()) == (first_row, last_row), layers
        assert (cols.min().item(), cols.max().item()) == (first_col, last_col), layers


def test_receptive_field_known_stacks() -> None:
    # Two 3x3 convolutions see 5x5; a third sees 7x7.
    fields = receptive_field([LayerSpec(3)] * 3)
    assert [f.size for f in fields] == [(3, 3), (5, 5), (7, 7)]
    assert fields[-1] == ReceptiveField((7, 7), (1, 1), (3.0, 3.0))
    # Dilations 1, 2, 4 of a 3x3 kernel grow the field exponentially: 3, 7, 15.
    dilated = receptive_field([{"kernel_size": 3, "dilation": d} for d in (1, 2, 4)])
    assert [f.size[0] for f in dilated] == [3, 7, 15]
    # LeNet's convolution/pooling trunk, read from the modules themselves.
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2),
    )  # fmt: skip
    fields = receptive_field(lenet)
    assert [f.size[0] for f in fields] == [5, 6, 14, 16]
    assert [f.jump[0] for f in fields] == [1, 2, 2, 4]
    assert fields[0].start == (0.0, 0.0)  # padding 2 centres the first window on pixel 0
    # Centre of the first field: 0 -> 0.5 (pool) -> 0.5 + 2 * 2 (conv) -> 4.5 + 0.5 * 2 (pool).
    assert fields[-1].start == (5.5, 5.5)
    assert fields[-1].bounds(0, 0) == ((-2, 13), (-2, 13))


def test_receptive_field_of_a_single_module_and_asymmetric_layers() -> None:
    fields = receptive_field(nn.Conv2d(1, 1, (3, 1), stride=(2, 1), padding=(1, 0)))
    assert fields == [ReceptiveField((3, 1), (2, 1), (0.0, 0.0))]


def test_receptive_field_opens_nested_sequentials() -> None:
    block = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2))
    nested = receptive_field(nn.Sequential(block, nn.Sequential(block, nn.Identity())))
    flat = receptive_field([LayerSpec(3), LayerSpec(2, 2), LayerSpec(3), LayerSpec(2, 2)])
    assert nested == flat
    assert [f.size[0] for f in flat] == [3, 4, 8, 10]


# --- parameter counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_params_matches_pytorch(seed: int) -> None:
    rng = random.Random(9000 + seed)
    groups = rng.randint(1, 4)
    c_in, c_out = groups * rng.randint(1, 4), groups * rng.randint(1, 4)
    kernel = rng.choice([rng.randint(1, 5), (rng.randint(1, 5), rng.randint(1, 5))])
    bias = rng.random() < 0.5
    layer = nn.Conv2d(c_in, c_out, kernel, groups=groups, bias=bias)
    expected = sum(p.numel() for p in layer.parameters())
    assert conv_params(c_in, c_out, kernel, groups, bias) == expected


def test_conv_params_formulas() -> None:
    assert conv_params(3, 2, 1) == 2 * 3 + 2  # 1x1: c_o * c_i + c_o
    m, n, k = 32, 64, 3
    depthwise = conv_params(m, m, k, groups=m, bias=False)
    pointwise = conv_params(m, n, 1, bias=False)
    assert depthwise + pointwise == k * k * m + m * n
    assert conv_params(m, n, k, bias=False) == k * k * m * n
    assert conv_params(m, n, k, groups=4, bias=False) * 4 == conv_params(m, n, k, bias=False)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conv_output_shape(4, 5), "larger than the padded input"),
        (lambda: conv_output_shape(4, 3, dilation=2), "larger than the padded input"),
        (lambda: conv_output_shape(4, 3, stride=0), "stride must be positive"),
        (lambda: conv_output_shape(4, 3, padding=-1), "padding must be non-negative"),
        (lambda: conv_output_shape(4, 3, stride=2, padding="same"), "needs stride 1"),
        (lambda: conv_output_shape(4, 3, padding="full"), "padding must be 'same', 'valid'"),
        (lambda: conv_output_shape(0, 1), "input_hw must be positive"),
        (lambda: conv_output_shape((4, 4, 4), 1), "input_hw must be an int or a pair"),
        (lambda: conv_output_shape(4, 0), "kernel_size must be positive"),
        (lambda: conv_output_shape(4, 2.5), "kernel_size must be an int or a pair"),
        (lambda: formula_output_shape(4, 6, 1), "larger than the padded input"),
        (lambda: formula_output_shape(4, 3, -2), "total_padding must be non-negative"),
        (lambda: formula_output_shape(4, 3, 0, 0), "stride must be positive"),
        (lambda: conv_transpose_output_shape(3, 3, stride=2, output_padding=2), "output_padding"),
        (
            lambda: conv_transpose_output_shape(3, 3, stride=1, output_padding=1, dilation=1),
            "smaller than either the stride",
        ),
        (lambda: conv_transpose_output_shape(1, 2, padding=2), "crops away the whole output"),
        (lambda: conv_transpose_output_shape(3, 2, padding=(2, 0)), "crops away the whole"),
        (lambda: conv_transpose_output_shape(3, 3, output_padding=-1), "non-negative"),
        (lambda: conv_transpose_output_shape(3, 3, stride=0), "stride must be positive"),
        (lambda: inverse_output_padding(4, 3, padding="same"), "padding must be an int or a pair"),
        (lambda: inverse_output_padding(2, 3), "larger than the padded input"),
        (lambda: pool_output_shape(8, 3, padding=2), "at most half the kernel size"),
        (lambda: pool_output_shape(8, 1, padding=1), "at most half the kernel size"),
        (lambda: pool_output_shape(2, 3), "does not fit the padded input"),
        (lambda: pool_output_shape(8, 2, stride=0), "stride must be positive"),
        (lambda: pool_output_shape(8, 2, ceil_mode=1), "ceil_mode must be True or False"),
        (lambda: receptive_field([]), "no convolution or pooling layer"),
        (lambda: receptive_field([nn.ReLU()]), "no convolution or pooling layer"),
        (lambda: receptive_field([nn.Linear(2, 2)]), "layer 0 is a Linear"),
        (lambda: receptive_field([LayerSpec(3), nn.Flatten()]), "layer 1 is a Flatten"),
        (lambda: receptive_field([{"kernel": 3}]), "needs 'kernel_size'"),
        (lambda: receptive_field([{"kernel_size": 3, "groups": 2}]), "nothing else"),
        (lambda: receptive_field([LayerSpec(0)]), "layer 0 kernel_size must be positive"),
        (lambda: receptive_field([LayerSpec(3, stride=2, padding="same")]), "needs stride 1"),
        (lambda: conv_params(3, 4, 3, groups=2), "must divide both"),
        (lambda: conv_params(0, 4, 3), "in_channels must be a positive int"),
        (lambda: conv_params(3, 4, 3, bias=None), "bias must be True or False"),
        (lambda: effective_kernel_size(3, 0), "dilation must be positive"),
    ],
)
def test_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
