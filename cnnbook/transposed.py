"""Transposed convolution from scratch, in its two views.

* Scatter-add: every input element multiplies the whole kernel, and the scaled kernel is added
  into the output at the element's position times the stride. :func:`trans_conv` does exactly
  that with two loops (to be read); :func:`conv_transpose2d` does it for whole batches with
  channels, groups, stride, padding, output padding and dilation, in the conventions of
  :func:`torch.nn.functional.conv_transpose2d`, with one in-place matrix product per kernel tap
  for the whole batch.
* Matrix: a convolution is linear, so it is a matrix ``W`` applied to the flattened input
  (:func:`conv_matrix`); the transposed convolution is ``W.T`` applied to the flattened output.
  That is where the name comes from, and why it restores the input's *shape* (not its values).

Neither calls a torch convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnbook.args import check_tensor, non_negative_pair, positive_int, positive_pair
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
    Y = torch.zeros((full_h, full_w), dtype=torch.result_type(X, K))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i * sh : i * sh + kh, j * sw : j * sw + kw] += X[i, j] * K
    return Y[ph : full_h - ph, pw : full_w - pw]


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
    """
    check_tensor(input, "input", (3, 4), "(N, C_in, H, W) or (C_in, H, W)")
    check_tensor(weight, "weight", (4,), "(C_in, C_out / groups, k_h, k_w)")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    groups = positive_int(groups, "groups")
    sh, sw = positive_pair(stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    dh, dw = positive_pair(dilation, "dilation")
    n, c_in, h, w = x.shape
    c_in_w, c_out_per_group, kh, kw = weight.shape
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
    c_out = c_out_per_group * groups
    if bias is not None:
        check_tensor(bias, "bias", (1,), "(C_out,)")
        if bias.shape[0] != c_out:
            raise ValueError(
                f"bias has {bias.shape[0]} entries but the transposed convolution has {c_out} "
                f"output channels (weight.shape[1] * groups = {c_out_per_group} * {groups}): "
                "pass one bias per output channel"
            )
    if input.dtype != weight.dtype:
        raise ValueError(
            f"input ({input.dtype}) and weight ({weight.dtype}) must have the same dtype: "
            "convert one with .to(other.dtype)"
        )
    out_h, out_w = conv_transpose_output_shape(
        (h, w), (kh, kw), (sh, sw), (ph, pw), output_padding, (dh, dw)
    )

    # Input pixel (i, j) adds weight[c, o, a, b] * x[c, i, j] to the uncropped output at
    # (i * s_h + a * d_h, j * s_w + b * d_w). For one kernel tap (a, b) and all pixels at once
    # that is a matrix product, weight[:, :, a, b]^T @ x, added onto a grid of stride s. Two
    # layout choices make each of those adds one in-place matrix product per group (baddbmm_
    # over the groups), with no temporary tensors and the whole batch in one product:
    # * Phases: output row u = i * s + a * d lies in phase u mod s = (a * d) mod s, at row
    #   u div s = i + (a * d) div s of that phase. Within a phase the stride is 1, so tap (a, b)
    #   shifts the whole input by ((a * d) div s, (b * d) div s) rows and columns.
    # * Flat planes: each sample's input is laid out in a flat plane of hp rows of wp columns,
    #   the size of one output phase, so that a shift by (q_a, q_b) is the flat offset
    #   q_a * wp + q_b, and the planes of all samples follow each other: the shifted input of
    #   the whole batch is one contiguous slice. The extra entries are zeros; what they add,
    #   wherever it lands, is zero.
    g, c_in_g = groups, c_in // groups
    reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)  # span of the kernel's taps
    full_h = max((h - 1) * sh + reach_h + 1, ph + out_h)  # uncropped rows, and output_padding
    full_w = max((w - 1) * sw + reach_w + 1, pw + out_w)
    hp = max(-(-full_h // sh), h + reach_h // sh)  # rows and columns of one phase
    wp = max(-(-full_w // sw), w + reach_w // sw)
    plane = hp * wp
    source = x.new_zeros((g, c_in_g, n, hp, wp))
    source[..., :h, :w] = x.reshape(n, g, c_in_g, h, w).permute(1, 2, 0, 3, 4)
    source = source.reshape(g, c_in_g, n * plane)
    # One output buffer per (phase row, phase column), with room for the largest shift.
    slack = (reach_h // sh) * wp + reach_w // sw
    phases = x.new_zeros((sh, sw, g, c_out_per_group, n * plane + slack))
    kernels = weight.reshape(g, c_in_g, c_out_per_group, kh, kw)
    for a in range(kh):
        for b in range(kw):
            offset = (a * dh // sh) * wp + (b * dw // sw)
            target = phases[a * dh % sh, b * dw % sw, :, :, offset : offset + n * plane]
            # (g, C_out/g, C_in/g) @ (g, C_in/g, N * plane), added in place.
            target.baddbmm_(kernels[:, :, :, a, b].transpose(1, 2), source)

    # Interleave the phases back into rows and columns (u = (u div s) * s + u mod s), then let
    # padding crop the borders: the result has the size PyTorch's layer gives.
    phases = phases[..., : n * plane].reshape(sh, sw, g, c_out_per_group, n, hp, wp)
    full = phases.permute(4, 2, 3, 5, 0, 6, 1).reshape(n, c_out, hp * sh, wp * sw)
    y = full[..., ph : ph + out_h, pw : pw + out_w]
    if bias is not None:
        y = y + bias.reshape(1, c_out, 1, 1)
    else:
        y = y.contiguous()  # the cropped view, copied into a tensor of its own like PyTorch's
    return y.squeeze(0) if unbatched else y


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
