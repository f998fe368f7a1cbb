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

from cnnbook.args import check_same_dtype_and_device, check_tensor, positive_int, positive_pair
from cnnbook.shapes import check_groups, check_kernel_fits, conv_padding


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


def check_conv_channels(
    c_in: int, weight: torch.Tensor, bias: torch.Tensor | None, groups: int
) -> None:
    """Check a ``(C_out, C_in / groups, k_h, k_w)`` weight and a ``(C_out,)`` bias against ``c_in``.

    The checks of :func:`conv2d` and :func:`grouped_conv2d`, each raising a ValueError that says
    which count disagrees and what the shapes must be.
    """
    c_out, c_in_per_group = weight.shape[:2]
    check_groups(c_in, c_out, groups)
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
    check_same_dtype_and_device(input=input, weight=weight, bias=bias)
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    groups = positive_int(groups, "groups")
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    n, c_in, h, w = x.shape
    check_conv_channels(c_in, weight, bias, groups)
    c_out, c_in_per_group, kh, kw = weight.shape
    top, bottom, left, right = conv_padding(padding, (kh, kw), (sh, sw), (dh, dw))
    eff_h, eff_w = check_kernel_fits((h, w), (top, bottom, left, right), (kh, kw), (dh, dw))
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


# Teaching versions of the channel and convolution-type ideas. Each is written the way the idea
# is explained (a sum over channels, a stack of kernels, one matrix product, slices per group)
# and is checked in the tests against the one-call :func:`conv2d` and PyTorch.


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of a multi-channel input with a multi-channel kernel.

    ``X`` is ``(c_i, n_h, n_w)`` and ``K`` is ``(c_i, k_h, k_w)``: each input channel is
    cross-correlated with its own kernel channel (:func:`corr2d`) and the ``c_i`` results are
    summed into one 2-D output.
    """
    check_tensor(X, "X", (3,), "(channels, height, width)")
    check_tensor(K, "K", (3,), "(channels, height, width)")
    if X.shape[0] != K.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} channels but K has {K.shape[0]} (X {tuple(X.shape)}, "
            f"K {tuple(K.shape)}): the kernel needs one channel per input channel"
        )
    return sum(corr2d(x, k) for x, k in zip(X, K, strict=True))


def corr2d_multi_in_out(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlation with several output channels.

    ``K`` is ``(c_o, c_i, k_h, k_w)``: a stack of ``c_o`` multi-channel kernels. Each one gives
    one output channel (:func:`corr2d_multi_in`); the result is ``(c_o, out_h, out_w)``.
    """
    check_tensor(X, "X", (3,), "(channels, height, width)")
    check_tensor(K, "K", (4,), "(out_channels, in_channels, height, width)")
    if X.shape[0] != K.shape[1]:
        raise ValueError(
            f"X has {X.shape[0]} channels but each kernel in K has {K.shape[1]} (X "
            f"{tuple(X.shape)}, K {tuple(K.shape)}): K must be (c_o, c_i, k_h, k_w) with c_i "
            "the input's channels"
        )
    return torch.stack([corr2d_multi_in(X, k) for k in K])


def conv1x1_matmul(
    X: torch.Tensor, K: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """A 1x1 convolution computed as one matrix product.

    ``X`` is ``(c_i, h, w)``, ``K`` is ``(c_o, c_i, 1, 1)`` (a ``nn.Conv2d`` weight) or
    ``(c_o, c_i)``, ``bias`` is ``(c_o,)`` or ``None``. A 1x1 kernel never mixes neighbouring
    pixels, so the layer is a fully connected layer applied at every pixel: lay the pixels out as
    ``h * w`` columns of ``c_i`` values and multiply by the ``(c_o, c_i)`` weight matrix.
    """
    check_tensor(X, "X", (3,), "(channels, height, width)")
    check_tensor(K, "K", (2, 4), "(out_channels, in_channels, 1, 1) or (out_channels, in_channels)")
    if K.dim() == 4:
        if K.shape[2:] != (1, 1):
            raise ValueError(
                f"K of shape {tuple(K.shape)} is not a 1x1 kernel: use conv2d for larger kernels"
            )
        K = K.reshape(K.shape[0], K.shape[1])
    c_i, h, w = X.shape
    c_o = K.shape[0]
    if K.shape[1] != c_i:
        raise ValueError(
            f"X has {c_i} channels but K expects {K.shape[1]} (X {tuple(X.shape)}, K "
            f"{tuple(K.shape)}): K must be (c_o, c_i, 1, 1) or (c_o, c_i) with c_i = {c_i}"
        )
    Y = K @ X.reshape(c_i, h * w)  # (c_o, c_i) @ (c_i, pixels) -> (c_o, pixels)
    if bias is not None:
        check_tensor(bias, "bias", (1,), "(out_channels,)")
        if bias.shape[0] != c_o:
            raise ValueError(
                f"bias has {bias.shape[0]} entries but K has {c_o} output channels: pass one "
                "bias per output channel"
            )
        Y = Y + bias.reshape(c_o, 1)
    return Y.reshape(c_o, h, w)


def dilate_kernel(K: torch.Tensor, dilation: int | Sequence[int]) -> torch.Tensor:
    """The ordinary kernel that a dilated kernel amounts to: ``K`` spread out with zero holes.

    ``K`` is ``(..., k_h, k_w)``; the result is ``(..., d_h (k_h - 1) + 1, d_w (k_w - 1) + 1)``
    with ``K[..., a, b]`` at ``[..., a * d_h, b * d_w]`` and zeros elsewhere. Convolving with it
    (dilation 1) gives the same output as convolving with ``K`` and dilation ``d``: a wider view
    for the same number of weights.
    """
    if not isinstance(K, torch.Tensor) or K.dim() < 2:
        raise ValueError(
            f"K must be a tensor of shape (..., k_h, k_w), got "
            f"{tuple(K.shape) if isinstance(K, torch.Tensor) else type(K).__name__}"
        )
    dh, dw = positive_pair(dilation, "dilation")
    kh, kw = K.shape[-2:]
    out = K.new_zeros((*K.shape[:-2], dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    out[..., ::dh, ::dw] = K
    return out


def grouped_conv2d(
    X: torch.Tensor,
    weight: torch.Tensor,
    groups: int,
    bias: torch.Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> torch.Tensor:
    """Grouped convolution written as ``groups`` independent convolutions.

    ``X`` is ``(N, C_in, H, W)`` or ``(C_in, H, W)``, ``weight`` is ``(C_out, C_in / g, k_h,
    k_w)``. The input channels are cut into ``g`` slices of ``C_in / g`` and the kernels into
    ``g`` slices of ``C_out / g``; slice ``i`` of the kernels convolves slice ``i`` of the input
    only, and the ``g`` outputs are concatenated along the channels. The same result as
    ``conv2d(..., groups=g)``, with ``1/g`` of the weights of an ungrouped layer.
    """
    check_tensor(X, "X", (3, 4), "(N, C_in, H, W) or (C_in, H, W)")
    check_tensor(weight, "weight", (4,), "(C_out, C_in / groups, k_h, k_w)")
    groups = positive_int(groups, "groups")
    check_conv_channels(X.shape[-3], weight, bias, groups)
    inputs = X.chunk(groups, dim=-3)
    kernels = weight.chunk(groups, dim=0)
    biases = bias.chunk(groups) if bias is not None else [None] * groups
    outputs = [
        conv2d(x, k, b, stride=stride, padding=padding, dilation=dilation)
        for x, k, b in zip(inputs, kernels, biases, strict=True)
    ]
    return torch.cat(outputs, dim=-3)


def depthwise_separable_conv2d(
    X: torch.Tensor,
    depthwise_weight: torch.Tensor,
    pointwise_weight: torch.Tensor,
    depthwise_bias: torch.Tensor | None = None,
    pointwise_bias: torch.Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> torch.Tensor:
    """Depthwise-separable convolution: a depthwise convolution, then a pointwise (1x1) one.

    ``X`` is ``(N, C_in, H, W)`` or ``(C_in, H, W)``. The depthwise step (``depthwise_weight``
    ``(C_in * m, 1, k_h, k_w)``, usually ``m = 1``) filters each channel on its own
    (``groups = C_in``): it mixes space, not channels; ``stride``, ``padding`` and ``dilation``
    apply here. The pointwise step (``pointwise_weight`` ``(C_out, C_in * m, 1, 1)``) mixes the
    channels at each pixel. Parameters: ``k_h k_w C_in + C_in C_out`` (for ``m = 1``, no bias)
    instead of ``k_h k_w C_in C_out``.
    """
    check_tensor(X, "X", (3, 4), "(N, C_in, H, W) or (C_in, H, W)")
    check_tensor(depthwise_weight, "depthwise_weight", (4,), "(C_in * multiplier, 1, k_h, k_w)")
    check_tensor(pointwise_weight, "pointwise_weight", (4,), "(C_out, C_in * multiplier, 1, 1)")
    c_in = X.shape[-3]
    c_mid = depthwise_weight.shape[0]
    if depthwise_weight.shape[1] != 1 or c_mid % c_in:
        raise ValueError(
            f"depthwise_weight of shape {tuple(depthwise_weight.shape)} does not fit an input "
            f"with {c_in} channels: it must be (C_in * multiplier, 1, k_h, k_w), one or more "
            "single-channel kernels per input channel"
        )
    if pointwise_weight.shape[1:] != (c_mid, 1, 1):
        raise ValueError(
            f"pointwise_weight of shape {tuple(pointwise_weight.shape)} does not fit the "
            f"{c_mid} depthwise output channels: it must be (C_out, {c_mid}, 1, 1)"
        )
    depthwise = conv2d(
        X,
        depthwise_weight,
        depthwise_bias,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=c_in,
    )
    return conv2d(depthwise, pointwise_weight, pointwise_bias)


def dilated_stack_paths(dilations: Sequence[int], kernel_size: int = 3) -> torch.Tensor:
    """For one output pixel of a stack of dilated convolutions: how many paths reach each input.

    The stack has one ``kernel_size`` x ``kernel_size`` single-channel convolution per entry of
    ``dilations`` (stride 1, no padding, every weight 1), on an input just large enough for one
    output pixel. The answer is found by brute force: the gradient of that output pixel with
    respect to the input, computed by autograd through :func:`conv2d`. With all weights 1 (all
    positive, so no contributions cancel), the gradient at an input pixel is the number of
    chains of taps, one tap per layer, that link it to the output: zero exactly on the pixels
    the stack never reads (the holes of the gridding effect). Returns an int64 tensor of the
    receptive field's size, ``1 + sum_l d_l (k - 1)`` on each side.
    """
    k = positive_int(kernel_size, "kernel_size")
    rates = [positive_int(d, f"dilations[{index}]") for index, d in enumerate(dilations)]
    if not rates:
        raise ValueError("dilations is empty: give one dilation rate per layer, e.g. (1, 2, 3)")
    size = 1 + sum(d * (k - 1) for d in rates)
    # float64 keeps the counts exact (they are products of small integers, far below 2**53).
    x = torch.zeros((1, 1, size, size), dtype=torch.float64, requires_grad=True)
    ones = torch.ones((1, 1, k, k), dtype=torch.float64)
    y = x
    for d in rates:
        y = conv2d(y, ones, dilation=d)
    y.sum().backward()  # y is the single output pixel
    return x.grad[0, 0].round().to(torch.int64)
