"""The backward pass of a convolution, written with the book's own forward ops.

For ``Y = conv2d(X, K)`` and a loss ``L`` with output gradient ``dY = dL/dY``:

* the **weight gradient** is a cross-correlation of the input with the output gradient,
  ``dK = X ⋆ dY`` (:func:`conv_weight_grad`): weight ``K[a, b]`` met input pixel
  ``X[i + a, j + b]`` at every output position ``(i, j)``, so its gradient sums
  ``X[i + a, j + b] * dY[i, j]`` over the positions, which is ``dY`` slid over ``X``;
* the **input gradient** is a transposed convolution of the output gradient with the same kernel
  (:func:`conv_input_grad`): for stride 1, a *full* convolution, ``dX = pad_{k-1}(dY) ⋆
  rot180(K)``, because each input pixel collects ``dY[i, j] * K[a, b]`` from every window that
  read it.

Both are computed by :func:`cnnbook.conv.conv2d` and :func:`cnnbook.transposed.conv_transpose2d`,
so they work on batches and channels, with stride, padding, dilation and groups, and are
themselves differentiable. The tests check them against autograd.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnbook.args import (
    check_same_dtype_and_device,
    check_tensor,
    non_negative_pair,
    positive_int,
    positive_pair,
)
from cnnbook.conv import conv2d
from cnnbook.shapes import check_groups, conv_output_shape, inverse_output_padding
from cnnbook.transposed import conv_transpose2d

IntOrPair = int | Sequence[int]


def check_output_grad(
    input_hw: Sequence[int], grad_output: torch.Tensor, kernel_size: IntOrPair,
    stride: IntOrPair, padding: IntOrPair, dilation: IntOrPair,
) -> None:
    """Check that ``grad_output`` has the spatial size the convolution gives on ``input_hw``."""
    expected = tuple(conv_output_shape(tuple(input_hw), kernel_size, stride, padding, dilation))
    got = tuple(grad_output.shape[-2:])
    if got != expected:
        raise ValueError(
            f"grad_output is {got[0]}×{got[1]} but a convolution with kernel_size={kernel_size}, "
            f"stride={stride}, padding={padding}, dilation={dilation} maps a "
            f"{input_hw[0]}×{input_hw[1]} input to {expected[0]}×{expected[1]}: pass the "
            "gradient of that convolution's output"
        )


def conv_weight_grad(
    input: torch.Tensor,
    grad_output: torch.Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """``dL/dK`` of ``Y = conv2d(input, K, ...)``: the input cross-correlated with ``grad_output``.

    ``input`` is ``(N, C_in, H, W)`` or ``(C_in, H, W)``, ``grad_output`` is ``dL/dY``, ``(N,
    C_out, h_o, w_o)`` or ``(C_out, h_o, w_o)``; the result has the weight's shape ``(C_out,
    C_in / groups, k_h, k_w)``. ``padding`` is an int or a pair (zeros on each side).
    """
    check_tensor(input, "input", (3, 4), "(N, C_in, H, W) or (C_in, H, W)")
    check_tensor(grad_output, "grad_output", (input.dim(),),
                 "(N, C_out, h_o, w_o)" if input.dim() == 4 else "(C_out, h_o, w_o)")
    check_same_dtype_and_device(input=input, grad_output=grad_output)
    x = input if input.dim() == 4 else input.unsqueeze(0)
    dy = grad_output if grad_output.dim() == 4 else grad_output.unsqueeze(0)
    if x.shape[0] != dy.shape[0]:
        raise ValueError(f"input holds {x.shape[0]} samples but grad_output {dy.shape[0]}: "
                         "pass the gradient of the same batch")
    groups = positive_int(groups, "groups")
    check_groups(x.shape[1], dy.shape[1], groups)
    (kh, kw), (sh, sw) = positive_pair(kernel_size, "kernel_size"), positive_pair(stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    dh, dw = positive_pair(dilation, "dilation")
    check_output_grad(x.shape[-2:], dy, (kh, kw), (sh, sw), (ph, pw), (dh, dw))

    # dK[o, c, a, b] = sum over n, i, j of dY[n, o, i, j] * X[n, c, i s + a d, j s + b d]: a
    # cross-correlation of X with dY used as the kernel, in which the batch is summed like the
    # channels of a forward pass (so both swap to the front), dY's taps are s apart (the stride
    # becomes a dilation) and neighbouring weights read pixels d apart (the dilation a stride).
    grads = []
    for x_g, dy_g in zip(x.chunk(groups, dim=1), dy.chunk(groups, dim=1), strict=True):
        grad = conv2d(x_g.transpose(0, 1), dy_g.transpose(0, 1), padding=(ph, pw),
                      stride=(dh, dw), dilation=(sh, sw))  # fmt: skip
        # (C_in/g, C_out/g, ...) -> weight layout; rows past k_h belong to no weight (they appear
        # when the padded input goes on past the last window's reach).
        grads.append(grad.transpose(0, 1)[:, :, :kh, :kw])
    return torch.cat(grads, dim=0)


def conv_input_grad(
    grad_output: torch.Tensor,
    weight: torch.Tensor,
    input_hw: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """``dL/dX`` of ``Y = conv2d(X, weight, ...)``: a transposed convolution of ``grad_output``.

    ``grad_output`` is ``dL/dY``, ``(N, C_out, h_o, w_o)`` or ``(C_out, h_o, w_o)``; ``weight``
    is the convolution's ``(C_out, C_in / groups, k_h, k_w)``, which is already laid out as a
    transposed convolution's weight (its input channels, here ``C_out``, first); ``input_hw`` is
    the input's ``(H, W)``, needed because a stride can map several input sizes to one output
    size. The result is ``(N, C_in, H, W)`` (or ``(C_in, H, W)``).
    """
    check_tensor(grad_output, "grad_output", (3, 4), "(N, C_out, h_o, w_o) or (C_out, h_o, w_o)")
    check_tensor(weight, "weight", (4,), "(C_out, C_in / groups, k_h, k_w)")
    check_same_dtype_and_device(grad_output=grad_output, weight=weight)
    if grad_output.shape[-3] != weight.shape[0]:
        raise ValueError(
            f"grad_output has {grad_output.shape[-3]} channels but weight of shape "
            f"{tuple(weight.shape)} has {weight.shape[0]} output channels: pass the convolution's "
            "own (C_out, C_in / groups, k_h, k_w) weight and the gradient of its output"
        )
    groups = positive_int(groups, "groups")
    check_groups(weight.shape[1] * groups, weight.shape[0], groups)  # the convolution's channels
    n_h, n_w = positive_pair(input_hw, "input_hw")
    kernel_size = tuple(weight.shape[2:])
    check_output_grad((n_h, n_w), grad_output, kernel_size, stride, padding, dilation)
    # Where the stride does not fit evenly, several input sizes give this output size, and the
    # transposed convolution returns the smallest: output_padding adds the input's missing rows.
    extra = inverse_output_padding((n_h, n_w), kernel_size, stride, padding, dilation)
    return conv_transpose2d(grad_output, weight, stride=stride, padding=padding,
                            output_padding=extra, groups=groups, dilation=dilation)
