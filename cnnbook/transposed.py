"""Transposed convolution from scratch, in three views.

* Scatter-add: every input element multiplies the whole kernel, and the scaled kernel is added
  into the output at the element's position times the stride. :func:`trans_conv` does exactly
  that with two loops, to be read.
* Insert zeros, then convolve: the same sums are an ordinary convolution of the input spread out
  by ``s - 1`` zeros between neighbouring pixels, padded by ``d(k - 1) - p``, with the kernel
  flipped. :func:`conv_transpose2d` computes it that way with the book's own
  :func:`cnnbook.conv.conv2d`, for whole batches with channels, groups, stride, padding, output
  padding and dilation, in the conventions of :func:`torch.nn.functional.conv_transpose2d`.
* Matrix: a convolution is linear, so it is a matrix ``W`` applied to the flattened input
  (:func:`conv_matrix`); the transposed convolution is ``W.T`` applied to the flattened output.
  That is where the name comes from, and why it restores the input's *shape* (not its values).

None of them calls a torch convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from cnnbook.args import (
    check_same_dtype_and_device,
    check_tensor,
    non_negative_pair,
    pair,
    positive_int,
    positive_pair,
)
from cnnbook.conv import conv2d
from cnnbook.shapes import conv_output_shape, conv_padding, conv_transpose_output_shape


def trans_conv(
    X: torch.Tensor,
    K: torch.Tensor,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
) -> torch.Tensor:
    """2-D transposed convolution of ``X`` with ``K`` by scatter-add, one element at a time.

    Each input element ``X[i, j]`` scales the whole kernel, and ``X[i, j] * K`` is added into the
    output block whose top-left corner is ``(i * s_h, j * s_w)``. The full output has
    ``(n_h - 1) s_h + k_h`` rows and ``(n_w - 1) s_w + k_w`` columns; ``padding`` then removes
    that many rows/columns from each border (it acts on the output, unlike a convolution's).
    """
    check_tensor(X, "X", (2,), "(height, width)")
    check_tensor(K, "K", (2,), "(height, width)")
    sh, sw = positive_pair(stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    kh, kw = K.shape
    full_h, full_w = (X.shape[0] - 1) * sh + kh, (X.shape[1] - 1) * sw + kw
    if 2 * ph >= full_h or 2 * pw >= full_w:
        raise ValueError(
            f"padding {(ph, pw)} removes every row or column of the {(full_h, full_w)} output "
            f"(input {tuple(X.shape)}, kernel {(kh, kw)}, stride {(sh, sw)}): use less padding"
        )
    Y = torch.zeros((full_h, full_w), dtype=torch.result_type(X, K), device=X.device)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i * sh : i * sh + kh, j * sw : j * sw + kw] += X[i, j] * K
    return Y[ph : full_h - ph, pw : full_w - pw]


def insert_zeros(x: torch.Tensor, stride: tuple[int, int]) -> torch.Tensor:
    """``x`` spread out: ``s - 1`` zero rows (columns) between neighbouring rows (columns).

    Input pixel ``(i, j)`` lands at ``(i * s_h, j * s_w)``, where a stride-``s`` transposed
    convolution places the kernel it scales; the last two dimensions grow from ``n`` to
    ``(n - 1) * s + 1``.
    """
    sh, sw = stride
    h, w = x.shape[-2:]
    spread = x.new_zeros((*x.shape[:-2], (h - 1) * sh + 1, (w - 1) * sw + 1))
    spread[..., ::sh, ::sw] = x
    return spread


def flip_kernel(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """The ``conv2d`` weight that computes the transposed convolution with ``weight``.

    ``weight`` is ``(C_in, C_out / groups, k_h, k_w)``; the result is ``(C_out, C_in / groups,
    k_h, k_w)``: within each group the two channel axes swap places, and every kernel is turned
    by 180 degrees (flipped along both spatial axes).
    """
    c_in, c_out_per_group, kh, kw = weight.shape
    per_group = weight.reshape(groups, c_in // groups, c_out_per_group, kh, kw)
    swapped = per_group.transpose(1, 2).reshape(groups * c_out_per_group, c_in // groups, kh, kw)
    return swapped.flip(-2, -1)


def check_transposed_arguments(
    input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int
) -> None:
    """Check the tensors of :func:`conv_transpose2d` against each other, and ``groups``.

    A transposed convolution's weight is ``(C_in, C_out / groups, k_h, k_w)``, input channels
    first (the reverse of ``conv2d``'s); each ValueError says which count disagrees and what the
    shapes must be. Mixed dtypes or devices name both arguments.
    """
    check_tensor(input, "input", (3, 4), "(N, C_in, H, W) or (C_in, H, W)")
    check_tensor(weight, "weight", (4,), "(C_in, C_out / groups, k_h, k_w)")
    check_same_dtype_and_device(input=input, weight=weight, bias=bias)
    positive_int(groups, "groups")
    c_in, (c_in_w, c_out_per_group) = input.shape[-3], weight.shape[:2]
    if c_in_w != c_in:
        raise ValueError(
            f"input has {c_in} channels but weight of shape {tuple(weight.shape)} expects "
            f"{c_in_w}: a transposed convolution's weight is (C_in, C_out / groups, k_h, k_w), "
            "input channels first"
        )
    if c_in % groups:
        raise ValueError(
            f"groups={groups} must divide the input channels ({c_in}): choose groups among the "
            f"divisors of {c_in}"
        )
    if bias is not None:
        check_tensor(bias, "bias", (1,), "(C_out,)")
        if bias.shape[0] != c_out_per_group * groups:
            raise ValueError(
                f"bias has {bias.shape[0]} entries but the transposed convolution has "
                f"{c_out_per_group * groups} output channels (weight.shape[1] * groups = "
                f"{c_out_per_group} * {groups}): pass one bias per output channel"
            )


def conv_transpose2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
) -> torch.Tensor:
    """2-D transposed convolution in the conventions of ``F.conv_transpose2d``, from scratch.

    ``input`` is ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; ``weight`` is ``(C_in,
    C_out / groups, k_h, k_w)`` (note: input channels first, the reverse of ``conv2d``); ``bias``
    is ``(C_out,)`` or ``None``. ``padding`` crops rows/columns from each border of the output,
    ``output_padding`` adds rows/columns at its bottom/right. The output size is
    :func:`cnnbook.shapes.conv_transpose_output_shape`.

    The scatter-add of :func:`trans_conv` is itself a convolution: insert ``s - 1`` zeros between
    neighbouring input pixels, pad ``d(k - 1) - p`` zeros on each side, and slide the flipped
    kernel over the result. Output row ``r`` then reads the taps ``a`` with ``i * s + a * d = r +
    p``, exactly the input rows that scatter onto it.
    """
    check_transposed_arguments(input, weight, bias, groups)
    kh, kw = weight.shape[2:]
    # The output size; the call also checks stride, padding, output_padding and dilation.
    conv_transpose_output_shape(input.shape[-2:], (kh, kw), stride, padding, output_padding,
                                dilation)  # fmt: skip
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    (oph, opw), (dh, dw) = pair(output_padding, "output_padding"), pair(dilation, "dilation")

    # Zeros and conv2d rather than F.fold (PyTorch's col2im, which would do the scatter-add in
    # one call): every step stays visible, and the convolution is the book's own.
    x = insert_zeros(input, (sh, sw))  # 1. s - 1 zeros between neighbouring pixels
    # 2. d(k - 1) - p zeros on each side, and output_padding more at the bottom/right; where
    #    d(k - 1) - p is negative, F.pad crops instead (the padding cuts into the spread input).
    top, left = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    x = F.pad(x, (left, left + opw, top, top + oph))
    # 3. An ordinary convolution with the flipped kernel, its taps d apart as in the transposed one.
    return conv2d(x, flip_kernel(weight, groups), bias, dilation=(dh, dw), groups=groups)


def conv_matrix(
    K: torch.Tensor,
    input_hw: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> torch.Tensor:
    """The matrix ``W`` of a single-channel convolution on an input of size ``input_hw``.

    For a kernel ``K`` of shape ``(k_h, k_w)`` and an input ``X`` of shape ``input_hw``,
    ``W @ X.flatten()`` equals ``conv2d(X[None, None], K[None, None], stride=..., padding=...,
    dilation=...).flatten()``. ``W`` has one row per output pixel and one column per input pixel;
    row ``r`` holds the kernel's weights at the input pixels that output ``r`` reads (padding
    pixels are zero, so they get no column). Its transpose maps an output back onto the input
    grid: ``W.T @ y`` is the transposed convolution of ``y`` with the same arguments, given the
    ``output_padding`` that restores ``input_hw`` (:func:`cnnbook.shapes.inverse_output_padding`).
    """
    check_tensor(K, "K", (2,), "(height, width)")
    n_h, n_w = positive_pair(input_hw, "input_hw")
    kh, kw = K.shape
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    top, _, left, _ = conv_padding(padding, (kh, kw), (sh, sw), (dh, dw))
    out_h, out_w = conv_output_shape((n_h, n_w), (kh, kw), (sh, sw), padding, (dh, dw))
    W = K.new_zeros((out_h * out_w, n_h * n_w))
    # Input coordinates read by output (i, j) through tap (a, b): (i s + a d - top, ...).
    i = torch.arange(out_h).reshape(-1, 1)
    j = torch.arange(out_w).reshape(1, -1)
    out_index = (i * out_w + j).flatten()
    for a in range(kh):
        for b in range(kw):
            r = (i * sh + a * dh - top).expand(out_h, out_w).flatten()
            c = (j * sw + b * dw - left).expand(out_h, out_w).flatten()
            inside = (r >= 0) & (r < n_h) & (c >= 0) & (c < n_w)  # taps on padding read zeros
            W[out_index[inside], r[inside] * n_w + c[inside]] = K[a, b]
    return W
