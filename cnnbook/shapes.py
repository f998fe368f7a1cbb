"""Shape arithmetic: output sizes, dropped rows, receptive fields and parameter counts.

Every function here takes its arguments in PyTorch's conventions (an int or a ``(height,
width)`` pair; ``padding`` counts the zero rows/columns added on *each* side) and answers what
the matching PyTorch layer would produce, without running it:

* :func:`conv_output_shape` for ``nn.Conv2d``, :func:`conv_transpose_output_shape` for
  ``nn.ConvTranspose2d``, :func:`pool_output_shape` for ``nn.MaxPool2d``/``nn.AvgPool2d``. Each
  returns an :class:`OutputShape`: the pair ``(height, width)`` that also says how many input
  rows/columns at the bottom/right edge the combination ignores.
* :func:`formula_output_shape` is the textbook form ``floor((n - k + p + s) / s)``, with ``p``
  the *total* padding; it agrees with :func:`conv_output_shape` whenever ``p`` is even.
* :func:`receptive_field` follows a stack of convolution and pooling layers and says, per layer,
  how large a patch of the input one output pixel sees, how far apart neighbouring outputs look,
  and where the first one looks.
* :func:`conv_params` counts the weights and biases of a convolution layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from torch import nn

from cnnbook.args import non_negative_pair, positive_int, positive_pair

IntOrPair = int | Sequence[int]


class OutputShape(tuple):
    """The output size ``(height, width)`` of a layer, plus the input rows/columns it never reads.

    It *is* the pair ``(height, width)``: it unpacks as ``h, w = shape``, indexes as
    ``shape[0]``, and compares equal to ``(h, w)`` and to ``torch.Size([h, w])`` (the extra
    attributes take no part in comparisons). They say which input rows (columns) no output
    element depends on, each axis counted on its own (as if the other axis read everything).
    This is the book's one definition of "never read":

    * ``unread_rows``: the indices of *every* input row that no window reads. That includes rows
      a stride skips *between* windows (a kernel shorter than the stride, or a dilated kernel
      whose holes no other window fills) and the trailing rows below the last window. For a
      transposed convolution: input rows whose every contribution is cropped by the padding.
    * ``dropped_rows``: how many of them form the trailing block at the bottom edge, the rows
      lost because the stride does not fit the padded input evenly.
    * ``unread_cols`` and ``dropped_cols``: the same for columns (the right edge).

    For ``k = 1``, stride 2 on 28 rows, ``unread_rows`` holds the 14 odd rows and
    ``dropped_rows`` is 1 (row 27, after the last window at row 26).
    """

    dropped_rows: int
    dropped_cols: int
    unread_rows: tuple[int, ...]
    unread_cols: tuple[int, ...]

    def __new__(
        cls,
        height: int,
        width: int,
        dropped_rows: int = 0,
        dropped_cols: int = 0,
        unread_rows: Sequence[int] = (),
        unread_cols: Sequence[int] = (),
    ) -> OutputShape:
        self = super().__new__(cls, (height, width))
        self.dropped_rows = dropped_rows
        self.dropped_cols = dropped_cols
        self.unread_rows = tuple(unread_rows)
        self.unread_cols = tuple(unread_cols)
        return self

    @classmethod
    def from_unread(
        cls, height: int, width: int, size_hw: tuple[int, int], unread: tuple[Sequence[int], ...]
    ) -> OutputShape:
        """The shape whose trailing ``dropped_*`` counts are derived from the unread indices."""
        (n_h, n_w), (rows, cols) = size_hw, unread
        return cls(height, width, _trailing(rows, n_h), _trailing(cols, n_w), rows, cols)

    def __getnewargs__(self) -> tuple:
        # Lets copy and pickle rebuild the object with its extra attributes.
        return (self[0], self[1], self.dropped_rows, self.dropped_cols, self.unread_rows,
                self.unread_cols)  # fmt: skip

    @property
    def height(self) -> int:
        """Output height (number of rows)."""
        return self[0]

    @property
    def width(self) -> int:
        """Output width (number of columns)."""
        return self[1]

    def __repr__(self) -> str:
        text = (
            f"OutputShape(height={self[0]}, width={self[1]}, "
            f"dropped_rows={self.dropped_rows}, dropped_cols={self.dropped_cols}"
        )
        if self.unread_rows or self.unread_cols:
            text += f", unread_rows={self.unread_rows}, unread_cols={self.unread_cols}"
        return text + ")"


def _trailing(unread: Sequence[int], n: int) -> int:
    """How many of the ``unread`` indices form an unbroken block ending at index ``n - 1``."""
    unread, count = set(unread), 0
    while count < n and n - 1 - count in unread:
        count += 1
    return count


def unread_by_windows(n: int, pad_before: int, kernel: int, stride: int, dilation: int,
                      windows: int) -> tuple[int, ...]:  # fmt: skip
    """Input rows along one axis that none of ``windows`` sliding windows reads.

    In the padded axis the input occupies ``[pad_before, pad_before + n)`` and window ``w``
    reads positions ``w * stride + a * dilation`` for ``a = 0 .. kernel - 1``: every row that
    is not one of those positions is unread. (Convolution and pooling alike.)
    """
    read = {w * stride + a * dilation - pad_before for w in range(windows) for a in range(kernel)}
    return tuple(i for i in range(n) if i not in read)


def conv_padding(
    padding: str | int | Sequence[int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int, int, int]:
    """Turn a ``conv2d`` padding argument into ``(top, bottom, left, right)`` zero rows/columns.

    ``'valid'`` means no padding. ``'same'`` pads ``dilation * (kernel - 1)`` in total along each
    axis so the output keeps the input's size; when that total is odd, PyTorch puts the extra
    row (column) at the bottom (right), and so do we.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(
                    f"padding='same' needs stride 1, got stride={stride}: "
                    "use an explicit padding with strided convolutions"
                )
            total_h = dilation[0] * (kernel_size[0] - 1)
            total_w = dilation[1] * (kernel_size[1] - 1)
            return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        raise ValueError(f"padding must be 'same', 'valid', an int or a pair, got {padding!r}")
    ph, pw = non_negative_pair(padding, "padding")
    return (ph, ph, pw, pw)


def check_kernel_fits(
    input_hw: tuple[int, int],
    padding: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    """Return the effective (dilated) kernel size, checking it fits the padded input.

    ``padding`` is ``(top, bottom, left, right)`` as :func:`conv_padding` returns it. A kernel
    larger than the padded input has no position at all: that is a ValueError, not an empty output.
    """
    (h, w), (top, bottom, left, right) = input_hw, padding
    (kh, kw), (dh, dw) = kernel_size, dilation
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    padded_h, padded_w = h + top + bottom, w + left + right
    if eff_h > padded_h or eff_w > padded_w:
        raise ValueError(
            f"kernel of (effective) size {(eff_h, eff_w)} is larger than the padded input of "
            f"size {(padded_h, padded_w)} (input {(h, w)}, padding {(top + bottom, left + right)} "
            f"in total, kernel {(kh, kw)}, dilation {(dh, dw)}): use a smaller kernel or "
            "dilation, or more padding"
        )
    return eff_h, eff_w


def check_groups(c_in: int, c_out: int, groups: int) -> None:
    """Check that ``groups`` divides both channel counts, as ``nn.Conv2d`` requires."""
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels ({c_in}) and the output "
            f"channels ({c_out}): choose groups among the common divisors of {c_in} and {c_out}"
        )


def effective_kernel_size(kernel_size: IntOrPair, dilation: IntOrPair = 1) -> tuple[int, int]:
    """Size ``d * (k - 1) + 1`` of a kernel of size ``k`` with dilation ``d``, per axis.

    A dilated kernel spreads its ``k`` taps ``d`` pixels apart; the window it spans is as large as
    that of an ordinary kernel of the returned size.
    """
    kh, kw = positive_pair(kernel_size, "kernel_size")
    dh, dw = positive_pair(dilation, "dilation")
    return (dh * (kh - 1) + 1, dw * (kw - 1) + 1)


def conv_output_shape(
    input_hw: IntOrPair,
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: str | IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> OutputShape:
    """Output ``(height, width)`` of ``nn.Conv2d`` on an input of size ``input_hw``.

    Per axis, ``floor((n + p_before + p_after - d * (k - 1) - 1) / s) + 1``, where ``padding`` is
    an int or pair (rows/columns on each side) or ``'same'``/``'valid'`` as in PyTorch. The result
    also counts the input rows/columns the convolution drops (see :class:`OutputShape`).
    """
    n_h, n_w = positive_pair(input_hw, "input_hw")
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    top, bottom, left, right = conv_padding(padding, (kh, kw), (sh, sw), (dh, dw))
    eff_h, eff_w = check_kernel_fits((n_h, n_w), (top, bottom, left, right), (kh, kw), (dh, dw))
    padded_h, padded_w = n_h + top + bottom, n_w + left + right
    out_h = (padded_h - eff_h) // sh + 1
    out_w = (padded_w - eff_w) // sw + 1
    return OutputShape.from_unread(out_h, out_w, (n_h, n_w), (
        unread_by_windows(n_h, top, kh, sh, dh, out_h),
        unread_by_windows(n_w, left, kw, sw, dw, out_w),
    ))  # fmt: skip


def formula_output_shape(
    input_hw: IntOrPair,
    kernel_size: IntOrPair,
    total_padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> tuple[int, int]:
    """The textbook output size ``floor((n - k + p + s) / s)`` per axis, ``p`` the *total* padding.

    This is the form in which the original article states the rule, with ``p`` counting all rows
    (columns) added, top and bottom together. With ``s = 1`` it reduces to ``n - k + p + 1``.
    It equals :func:`conv_output_shape` with ``padding = p / 2`` on each side whenever ``p`` is
    even, and with the asymmetric ``padding='same'`` split when ``p = k - 1`` and ``s = 1``.
    """
    n_h, n_w = positive_pair(input_hw, "input_hw")
    kh, kw = positive_pair(kernel_size, "kernel_size")
    ph, pw = non_negative_pair(total_padding, "total_padding")
    sh, sw = positive_pair(stride, "stride")
    if kh > n_h + ph or kw > n_w + pw:
        raise ValueError(
            f"kernel of size {(kh, kw)} is larger than the padded input of size "
            f"{(n_h + ph, n_w + pw)} (input {(n_h, n_w)}, total padding {(ph, pw)}): "
            "use a smaller kernel or more padding"
        )
    return ((n_h - kh + ph + sh) // sh, (n_w - kw + pw + sw) // sw)


def _transposed_unread(
    n: int, kernel: int, stride: int, padding: int, dilation: int, out: int
) -> tuple[int, ...]:
    """Input rows along one axis whose every tap falls outside the cropped output.

    Input row ``i`` adds its kernel patch to the uncropped output rows ``i * s + a * d``
    (``a = 0 .. k - 1``); the output keeps uncropped rows ``[padding, padding + out)``.
    """
    kept = range(padding, padding + out)
    return tuple(
        i for i in range(n) if not any(i * stride + a * dilation in kept for a in range(kernel))
    )


def conv_transpose_output_shape(
    input_hw: IntOrPair,
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> OutputShape:
    """Output ``(height, width)`` of ``nn.ConvTranspose2d`` on an input of size ``input_hw``.

    Per axis, ``(n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``: every input element
    spreads a kernel-sized patch onto an output grid ``s`` apart, ``padding`` crops that many
    rows/columns from each border of the result, and ``output_padding`` adds rows/columns at the
    bottom/right (it must be smaller than the stride or the dilation, as in PyTorch). It picks
    among the input sizes that a strided convolution maps onto the same output size. A padding
    that crops the whole output is an error.
    """
    n_h, n_w = positive_pair(input_hw, "input_hw")
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = positive_pair(stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    oph, opw = non_negative_pair(output_padding, "output_padding")
    dh, dw = positive_pair(dilation, "dilation")
    if (oph >= sh and oph >= dh) or (opw >= sw and opw >= dw):
        raise ValueError(
            f"output_padding {(oph, opw)} must be smaller than either the stride {(sh, sw)} or "
            f"the dilation {(dh, dw)} on each axis: it only selects among the input sizes that "
            "a strided convolution maps to the same output, so use output_padding < stride"
        )
    out_h = (n_h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (n_w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    # PyTorch's reference (slow) kernel refuses an output smaller than 1; some of its faster
    # backends return an empty tensor instead. We always refuse: an empty output is a mistake.
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"padding {(ph, pw)} crops away the whole output: the uncropped transposed "
            f"convolution of an input {(n_h, n_w)} with kernel {(kh, kw)}, stride {(sh, sw)} and "
            f"dilation {(dh, dw)} has {(out_h + 2 * ph - oph, out_w + 2 * pw - opw)} "
            f"rows/columns, and cropping {(2 * ph, 2 * pw)} of them leaves {(out_h, out_w)}: "
            "use less padding"
        )
    return OutputShape.from_unread(out_h, out_w, (n_h, n_w), (
        _transposed_unread(n_h, kh, sh, ph, dh, out_h),
        _transposed_unread(n_w, kw, sw, pw, dw, out_w),
    ))  # fmt: skip


def inverse_output_padding(
    input_hw: IntOrPair,
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> tuple[int, int]:
    """The ``output_padding`` that makes a transposed convolution restore ``input_hw``.

    A convolution with these arguments maps ``input_hw`` to some output size; several input sizes
    map to that same output when the stride does not fit evenly, and a transposed convolution with
    the same arguments returns the smallest of them. Adding ``(n + 2p - d(k - 1) - 1) mod s``
    rows/columns at the bottom/right gives back exactly ``input_hw``. (``nn.ConvTranspose2d``
    computes the same when its forward is called with ``output_size=input_hw``.)
    """
    ph, pw = non_negative_pair(padding, "padding")
    conv_output_shape(input_hw, kernel_size, stride, (ph, pw), dilation)  # checks the arguments
    n_h, n_w = positive_pair(input_hw, "input_hw")
    sh, sw = positive_pair(stride, "stride")
    eff_h, eff_w = effective_kernel_size(kernel_size, dilation)
    # The convolution's windows leave this many padded rows (columns) uncovered at the end.
    return ((n_h + 2 * ph - eff_h) % sh, (n_w + 2 * pw - eff_w) % sw)


def pool_output_shape(
    input_hw: IntOrPair,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> OutputShape:
    """Output ``(height, width)`` of ``nn.MaxPool2d``/``nn.AvgPool2d`` on an input ``input_hw``.

    ``stride=None`` means ``stride = kernel_size``, the pooling layers' default. The size is that
    of a convolution, ``floor((n + 2p - d(k - 1) - 1) / s) + 1``; with ``ceil_mode=True`` the
    floor becomes a ceiling, so a last window that hangs over the bottom/right edge is kept, but
    only if it starts inside the input or its top/left padding (PyTorch's rule). ``padding`` may
    be at most half the kernel size, as PyTorch requires.
    """
    n_h, n_w = positive_pair(input_hw, "input_hw")
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else positive_pair(stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    dh, dw = positive_pair(dilation, "dilation")
    if not isinstance(ceil_mode, bool):
        raise ValueError(f"ceil_mode must be True or False, got {ceil_mode!r}")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"pooling padding {(ph, pw)} is more than half the window {(kh, kw)}: it must be at "
            f"most half the kernel size, {(kh // 2, kw // 2)}, since a window made mostly of "
            "padding pools nothing real; use less padding or a larger window"
        )
    eff_h, eff_w = effective_kernel_size((kh, kw), (dh, dw))
    outs = []
    for n, p, eff, s in ((n_h, ph, eff_h, sh), (n_w, pw, eff_w, sw)):
        span = n + 2 * p - eff
        # Python's // rounds towards minus infinity, like PyTorch's div_rtn here.
        out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1  # the last window would start in the bottom/right padding: drop it
        outs.append(out)
    out_h, out_w = outs
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"pooling window of (effective) size {(eff_h, eff_w)} is larger than the padded input "
            f"of size {(n_h + 2 * ph, n_w + 2 * pw)} (input {(n_h, n_w)}, padding {(ph, pw)} "
            f"per side, kernel {(kh, kw)}, dilation {(dh, dw)}), so it does not fit the padded "
            "input even once; use a smaller window or dilation, or ceil_mode=True"
        )
    return OutputShape.from_unread(out_h, out_w, (n_h, n_w), (
        unread_by_windows(n_h, ph, kh, sh, dh, out_h),
        unread_by_windows(n_w, pw, kw, sw, dw, out_w),
    ))  # fmt: skip


@dataclass(frozen=True)
class LayerSpec:
    """The geometry of a convolution or pooling layer, for :func:`receptive_field`.

    Arguments as in ``nn.Conv2d``: ints or ``(height, width)`` pairs; ``padding`` per side (or
    ``'same'``/``'valid'``). Channels and weights do not change where a layer looks.
    """

    kernel_size: IntOrPair
    stride: IntOrPair = 1
    padding: str | IntOrPair = 0
    dilation: IntOrPair = 1


class ReceptiveField(NamedTuple):
    """Where one output pixel of a layer looks in the network's input, per axis ``(h, w)``.

    * ``size``: rows/columns of input that one output pixel depends on (its receptive field);
    * ``jump``: distance in input pixels between the fields of two neighbouring outputs (the
      product of the strides so far);
    * ``start``: input coordinate of the centre of the first output's field (``x.5`` for even
      sizes; negative when the field reaches into the padding).
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]

    def bounds(self, i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """First and last input row, and first and last input column, that output ``(i, j)`` sees.

        Inclusive bounds in input coordinates; they may reach outside the input (into padding).
        """
        rows = self.start[0] + i * self.jump[0] - (self.size[0] - 1) / 2
        cols = self.start[1] + j * self.jump[1] - (self.size[1] - 1) / 2
        first_row, first_col = round(rows), round(cols)
        return (
            (first_row, first_row + self.size[0] - 1),
            (first_col, first_col + self.size[1] - 1),
        )


# Modules that act on each pixel separately: they do not move a receptive field.
_POINTWISE = (nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity)


def _layer_geometry(layer: object, index: int) -> LayerSpec | None:
    """Read kernel, stride, padding and dilation from a module, a LayerSpec or a dict."""
    if isinstance(layer, LayerSpec):
        return layer
    if isinstance(layer, Mapping):
        unknown = set(layer) - {"kernel_size", "stride", "padding", "dilation"}
        if "kernel_size" not in layer or unknown:
            raise ValueError(
                f"layer {index} is the dict {dict(layer)!r}: a layer dict needs 'kernel_size' and "
                "may have 'stride', 'padding' and 'dilation', nothing else"
            )
        return LayerSpec(**layer)
    if isinstance(layer, nn.Conv2d):
        return LayerSpec(layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    if isinstance(layer, nn.MaxPool2d):
        return LayerSpec(layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    if isinstance(layer, nn.AvgPool2d):
        return LayerSpec(layer.kernel_size, layer.stride, layer.padding)
    if isinstance(layer, _POINTWISE) or (
        isinstance(layer, nn.Module)
        and type(layer).__module__ == "torch.nn.modules.activation"
        and not isinstance(layer, nn.MultiheadAttention)
    ):
        return None
    raise ValueError(
        f"layer {index} is a {type(layer).__name__}, whose receptive field this function cannot "
        "follow: pass nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d modules (activations, batch norm "
        "and dropout are skipped), LayerSpec objects or dicts with 'kernel_size', 'stride', "
        "'padding' and 'dilation'"
    )


def _flatten(layers: Iterable[object] | nn.Module) -> Iterable[object]:
    """The layers in order, with (nested) ``nn.Sequential`` containers opened."""
    if isinstance(layers, nn.Module) and not isinstance(layers, nn.Sequential):
        layers = [layers]
    for layer in layers:
        if isinstance(layer, nn.Sequential):
            yield from _flatten(layer)
        else:
            yield layer


def receptive_field(layers: Iterable[object] | nn.Module) -> list[ReceptiveField]:
    """Receptive field after each layer of a stack of convolution/pooling layers.

    ``layers`` holds ``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.AvgPool2d`` modules (``nn.Sequential``
    containers are opened, nested ones too; activations, batch norm and dropout are skipped, as
    they act pixel by pixel), :class:`LayerSpec` objects or dicts with the same keys. Returns one
    :class:`ReceptiveField` per geometric layer. Per axis, with ``k' = d(k - 1) + 1``:

    * ``size_out = size_in + (k' - 1) * jump_in`` (the window spans ``k'`` outputs of the previous
      layer, which are ``jump_in`` input pixels apart);
    * ``jump_out = jump_in * s``;
    * ``start_out = start_in + ((k' - 1) / 2 - p_before) * jump_in``.
    """
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    fields = []
    for index, layer in enumerate(_flatten(layers)):
        spec = _layer_geometry(layer, index)
        if spec is None:
            continue
        kernel = positive_pair(spec.kernel_size, f"layer {index} kernel_size")
        stride = positive_pair(spec.stride, f"layer {index} stride")
        dilation = positive_pair(spec.dilation, f"layer {index} dilation")
        top, _, left, _ = conv_padding(spec.padding, kernel, stride, dilation)
        eff = effective_kernel_size(kernel, dilation)
        for axis, before in ((0, top), (1, left)):
            start[axis] += ((eff[axis] - 1) / 2 - before) * jump[axis]
            size[axis] += (eff[axis] - 1) * jump[axis]
            jump[axis] *= stride[axis]
        fields.append(ReceptiveField(tuple(size), tuple(jump), tuple(start)))
    if not fields:
        raise ValueError(
            "no convolution or pooling layer given: pass at least one nn.Conv2d, nn.MaxPool2d, "
            "nn.AvgPool2d, LayerSpec or dict"
        )
    return fields


def conv_params(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrPair,
    groups: int = 1,
    bias: bool = True,
) -> int:
    """Number of learnable parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size, ...)``.

    Each of the ``c_o`` kernels has ``c_i / g`` channels of ``k_h * k_w`` weights, plus one bias
    per output channel: ``c_o * (c_i / g) * k_h * k_w + c_o``. Grouping divides the weights by
    ``g``; a 1x1 convolution has ``c_o * c_i + c_o``.
    """
    c_in = positive_int(in_channels, "in_channels")
    c_out = positive_int(out_channels, "out_channels")
    kh, kw = positive_pair(kernel_size, "kernel_size")
    groups = positive_int(groups, "groups")
    if not isinstance(bias, bool):
        raise ValueError(f"bias must be True or False, got {bias!r}")
    check_groups(c_in, c_out, groups)
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)
