"""2-D convolution (cross-correlation) from scratch.

Two versions of one idea:

* :func:`corr2d` is the definition written as a loop, one output element at a time. It is slow
  and meant to be read.
* :func:`conv2d` is the same computation for whole batches, with channels, stride, padding,
  dilation and groups, in the argument conventions of :func:`torch.nn.functional.conv2d`. It cuts
  every window out of the (padded) input as a strided view and contracts the windows with the
  kernels in a single matrix product. It never calls a torch convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from cnnbook.args import (
    check_tensor,
    non_negative_pair,
    pair,
    positive_int,
    positive_pair,
)


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation of a 2-D input ``X`` with a 2-D kernel ``K``.

    ``Y[i, j] = sum over (a, b) of X[i + a, j + b] * K[a, b]``: the kernel slides over the input
    without flipping, and the output has shape ``(n_h - k_h + 1, n_w - k_w + 1)``.
    """
    check_tensor(X, "X", (2,), "(height, width)")
    check_tensor(K, "K", (2,), "(height, width)")
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(
            f"kernel of shape {tuple(K.shape)} is larger than the input of shape "
            f"{tuple(X.shape)}: use a smaller kernel or pad the input"
        )
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=torch.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


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


def conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2-D convolution with the semantics of :func:`torch.nn.functional.conv2d`, from scratch.

    ``input`` is ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; ``weight`` is
    ``(C_out, C_in / groups, k_h, k_w)``; ``bias`` is ``(C_out,)`` or ``None``. ``padding`` counts
    zero rows/columns added on *each* side (or is ``'same'``/``'valid'``).
    """
    check_tensor(input, "input", (3, 4), "(N, C_in, H, W) or (C_in, H, W)")
    check_tensor(weight, "weight", (4,), "(C_out, C_in / groups, k_h, k_w)")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    groups = positive_int(groups, "groups")
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    c_out, c_in_per_group, kh, kw = weight.shape
    n, c_in, h, w = x.shape
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels ({c_in}) and the output "
            f"channels ({c_out}): choose groups among the common divisors of {c_in} and {c_out}"
        )
    if c_in_per_group * groups != c_in:
        raise ValueError(
            f"input has {c_in} channels but weight of shape {tuple(weight.shape)} expects "
            f"{c_in_per_group * groups} (weight.shape[1] * groups = {c_in_per_group} * {groups}): "
            "the weight's second dimension must be input channels / groups"
        )
    if bias is not None:
        check_tensor(bias, "bias", (1,), "(C_out,)")
        if bias.shape[0] != c_out:
            raise ValueError(
                f"bias has {bias.shape[0]} entries but the convolution has {c_out} output "
                "channels: pass one bias per output channel"
            )
    top, bottom, left, right = conv_padding(padding, (kh, kw), (sh, sw), (dh, dw))
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    padded_h, padded_w = h + top + bottom, w + left + right
    if eff_h > padded_h or eff_w > padded_w:
        raise ValueError(
            f"kernel of (effective) size {(eff_h, eff_w)} is larger than the padded input of "
            f"size {(padded_h, padded_w)} (input {(h, w)}, padding {(top + bottom, left + right)} "
            f"in total, kernel {(kh, kw)}, dilation {(dh, dw)}): use a smaller kernel or "
            "dilation, or more padding"
        )
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom))
    # windows[n, c, i, j, a, b] = x[n, c, i * s_h + a * d_h, j * s_w + b * d_w]: a view, no copy.
    windows = x.unfold(2, eff_h, sh).unfold(3, eff_w, sw)[..., ::dh, ::dw]
    out_h, out_w = windows.shape[2], windows.shape[3]
    windows = windows.reshape(n, groups, c_in // groups, out_h, out_w, kh, kw)
    kernels = weight.reshape(groups, c_out // groups, c_in_per_group, kh, kw)
    # One matrix product per group: (out positions) x (C_in/g * k_h * k_w) @ (...) x (C_out/g).
    y = torch.einsum("ngchwab,gocab->ngohw", windows, kernels).reshape(n, c_out, out_h, out_w)
    if bias is not None:
        y = y + bias.reshape(1, c_out, 1, 1)
    return y.squeeze(0) if unbatched else y
