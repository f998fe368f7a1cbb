"""Pooling and unpooling from scratch.

* :func:`pool2d_loop` is the definition written as a loop over output positions, one window at a
  time: slow, and meant to be read first.
* :func:`pool2d` is the same computation for whole batches, with padding, stride, dilation,
  ``ceil_mode``, ``count_include_pad`` and ``return_indices``, in the conventions of
  :class:`torch.nn.MaxPool2d` and :class:`torch.nn.AvgPool2d`. It does in three steps what the
  loop does one window at a time: pad the input, cut out every window at once with ``unfold``
  (strided views of the padded input), and reduce each window to its maximum or its mean. The
  output size comes from :func:`cnnbook.shapes.pool_output_shape`.
* :func:`max_unpool2d` is the partial inverse of max pooling (:func:`torch.nn.functional.
  max_unpool2d`): each value goes back to the position its index names, zeros elsewhere.
* :func:`copy_unpool2d` copies each value into its whole window ("nearest" unpooling).
* :func:`shift_tolerance` measures how much of a pooled output survives a one-pixel shift of
  the input.

None of them calls a torch pooling or unpooling op. All of them take inputs that require grad,
and :func:`pool2d` and :func:`max_unpool2d` pass gradients back exactly where PyTorch's ops do
(max pooling: to the one element each window picked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn.functional as F

from cnnbook.args import (
    check_tensor,
    non_negative_pair,
    pair,
    positive_int,
    positive_pair,
)
from cnnbook.shapes import effective_kernel_size, pool_output_shape

_LAYOUT = "(N, C, H, W), (C, H, W) or (H, W)"


def pool2d_loop(
    X: torch.Tensor,
    pool_size: int | Sequence[int],
    mode: str = "max",
    stride: int | Sequence[int] | None = None,
) -> torch.Tensor:
    """Max or average pooling of a 2-D input, one output element at a time.

    ``Y[i, j]`` is the maximum (``mode="max"``) or the mean (``mode="avg"``) of the window
    ``X[i * s_h : i * s_h + k_h, j * s_w : j * s_w + k_w]``. As in PyTorch, the stride defaults
    to the window size, so windows do not overlap; pass ``stride=1`` to slide the window one
    element at a time.
    """
    check_tensor(X, "X", (2,), "(height, width)")
    _check_mode(mode)
    k_h, k_w = positive_pair(pool_size, "pool_size")
    s_h, s_w = positive_pair((k_h, k_w) if stride is None else stride, "stride")
    _check_window_inside(X, (k_h, k_w))
    if mode == "avg":
        _check_floating_point(X)
    out_h, out_w = pool_output_shape(tuple(X.shape), (k_h, k_w), (s_h, s_w))
    Y = X.new_zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = X[i * s_h : i * s_h + k_h, j * s_w : j * s_w + k_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y


def _check_mode(mode: object) -> None:
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")


def _check_window_inside(X: torch.Tensor, pool_size: tuple[int, int]) -> None:
    if pool_size[0] > X.shape[0] or pool_size[1] > X.shape[1]:
        raise ValueError(
            f"pool_size {pool_size} is larger than the input of shape {tuple(X.shape)}: "
            "use a smaller window"
        )


def _check_floating_point(X: torch.Tensor) -> None:
    if not X.is_floating_point():
        raise ValueError(
            f"average pooling needs a floating-point input, got dtype {X.dtype}: "
            "convert it first, e.g. X.float()"
        )


def pool2d(
    X: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    mode: str = "max",
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    return_indices: bool = False,
    dilation: int | Sequence[int] = 1,
    divisor_override: int | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """2-D max or average pooling with the semantics of ``nn.MaxPool2d`` / ``nn.AvgPool2d``.

    ``X`` is ``(N, C, H, W)``, unbatched ``(C, H, W)`` or a single ``(H, W)`` plane; every
    channel is pooled on its own. ``stride`` defaults to ``kernel_size``; ``padding`` (at most
    half the window) is ``-inf`` for max pooling, so it never wins, and zeros for average pooling.
    ``mode="max"`` only: ``dilation`` spreads the window; ``return_indices=True`` also returns
    the flat index ``row * W + col`` of each chosen element in its ``H x W`` input plane.
    ``mode="avg"`` only: ``count_include_pad`` decides whether padded zeros count in the
    divisor (cells a ``ceil_mode`` window hangs past the padding never do);
    ``divisor_override`` replaces the divisor.
    """
    _check_pool_options(X, mode, return_indices, dilation, count_include_pad, divisor_override)
    kernel = positive_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else positive_pair(stride, "stride")
    (ph, pw), dilation = non_negative_pair(padding, "padding"), positive_pair(dilation, "dilation")
    h, w = X.shape[-2:]
    out_size = pool_output_shape((h, w), kernel, stride, (ph, pw), dilation, ceil_mode)
    # windows_of(padded plane) cuts out its out_size windows, each as a row of k_h * k_w cells.
    windows_of = partial(_windows, kernel=kernel, stride=stride, dilation=dilation, count=out_size)
    # With ceil_mode the last window may hang past the padding: up to stride - 1 more cells.
    extra_h, extra_w = (stride[0] - 1, stride[1] - 1) if ceil_mode else (0, 0)
    sides = (pw, pw + extra_w, ph, ph + extra_h)  # left, right, top, bottom
    if mode == "max":
        windows = windows_of(F.pad(X, sides, value=_lowest(X.dtype)))
        # Row and column of every padded cell, counted from the input's top-left corner.
        rows = torch.arange(-ph, h + ph + extra_h, device=X.device)[:, None]
        cols = torch.arange(-pw, w + pw + extra_w, device=X.device)
        index = windows_of(rows * w + cols).expand(windows.shape)  # flat index row * W + col
        pick = _picked_position(windows, started=windows_of((rows >= 0) & (cols >= 0)))
        Y = windows.gather(-1, pick).squeeze(-1)
        return (Y, index.gather(-1, pick).squeeze(-1)) if return_indices else Y
    # Average: half precision is summed in float32, as PyTorch does, and rounded once at the end.
    acc = torch.float32 if X.dtype in (torch.float16, torch.bfloat16) else X.dtype
    total = windows_of(F.pad(X.to(acc), sides, value=0)).sum(-1)
    divisor = divisor_override
    if divisor is None:
        # How many cells each window averages: the sum of the same windows over a plane of ones
        # whose padding holds 1 (count_include_pad) or 0, and whose ceil_mode overhang holds 0.
        ones = X.new_ones((h, w), dtype=acc)
        counted = F.pad(ones, (pw, pw, ph, ph), value=float(count_include_pad))
        divisor = windows_of(F.pad(counted, (0, extra_w, 0, extra_h), value=0)).sum(-1)
    if acc == torch.int64:
        return total.div(divisor, rounding_mode="trunc")  # C++ integer division truncates
    return (total / divisor).to(X.dtype)


def _check_pool_options(
    X: torch.Tensor,
    mode: str,
    return_indices: bool,
    dilation: int | Sequence[int],
    count_include_pad: bool,
    divisor_override: int | None,
) -> None:
    """Check the input and the options that only one of the two modes has."""
    check_tensor(X, "X", (2, 3, 4), _LAYOUT)
    _check_mode(mode)
    if mode == "avg":
        if return_indices:
            raise ValueError(
                "return_indices=True needs mode='max': average pooling picks no element"
            )
        if positive_pair(dilation, "dilation") != (1, 1):
            raise ValueError(f"dilation={dilation!r} needs mode='max' (nn.AvgPool2d has none)")
        if divisor_override is not None:
            positive_int(divisor_override, "divisor_override")
        if not X.is_floating_point() and X.dtype != torch.int64:
            raise ValueError(
                f"average pooling needs a floating-point (or int64) input, got dtype {X.dtype}: "
                "convert it first, e.g. X.float()"
            )
    else:
        if divisor_override is not None or not count_include_pad:
            raise ValueError(
                "divisor_override and count_include_pad only apply to mode='avg', "
                f"got mode={mode!r}"
            )
        if X.dtype == torch.bool or X.is_complex():
            raise ValueError(f"max pooling needs a real-valued input, got dtype {X.dtype}")


def _lowest(dtype: torch.dtype) -> float:
    """The value below every other: ``-inf``, or the smallest integer for integer dtypes."""
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


def _windows(
    padded: torch.Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    count: tuple[int, int],
) -> torch.Tensor:
    """The first ``count = (out_h, out_w)`` windows of ``padded``'s last two dimensions.

    Shape ``(..., out_h, out_w, k_h * k_w)``: one row per window, its elements in row-major
    order. ``unfold`` cuts windows of the dilated size as strided views of ``padded`` (nothing
    is copied), every ``dilation``-th element of them is one of the kernel's taps, and the
    final ``reshape`` copies the taps into rows.
    """
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = kernel, stride, dilation, count
    span_h, span_w = effective_kernel_size(kernel, dilation)
    # (..., rows, cols, span_h, span_w): a window of the dilated span at every stride step
    views = padded.unfold(-2, span_h, sh).unfold(-2, span_w, sw)
    taps = views[..., :out_h, :out_w, ::dh, ::dw]
    return taps.reshape(*taps.shape[:-2], kh * kw)


def _picked_position(windows: torch.Tensor, started: torch.Tensor) -> torch.Tensor:
    """Which element of each window max pooling takes, by PyTorch's rule: shape ``(..., 1)``.

    PyTorch scans a window row by row, starting from its first element past the top and left
    padding (``started`` marks those elements), and takes an element if it is greater than the
    best so far, or NaN. So the first of equal maxima wins, the last NaN wins, and a window
    holding nothing above the padding's ``-inf`` keeps the element it started from.
    """
    best, first_max = windows.detach().max(-1, keepdim=True)  # the first of equal maxima
    nan = windows.isnan()
    last_nan = nan.shape[-1] - 1 - nan.flip(-1).byte().argmax(-1, keepdim=True)
    first_started = started.byte().argmax(-1, keepdim=True)
    pick = torch.where(best == _lowest(windows.dtype), first_started, first_max)
    return torch.where(best.isnan(), last_nan, pick)


def max_unpool2d(
    X: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    output_size: Sequence[int] | None = None,
) -> torch.Tensor:
    """Partial inverse of max pooling, with the semantics of ``F.max_unpool2d``.

    ``X`` and ``indices`` (as returned by ``pool2d(..., return_indices=True)``) have the same
    shape, ``(N, C, h, w)``, ``(C, h, w)`` or ``(h, w)``. Each output plane starts as zeros and
    every value of ``X`` is written at the flat position ``row * W + col`` its index names. The
    output size defaults to ``(h - 1) * stride - 2 * padding + kernel_size``, the size that
    pooling with these arguments maps back to ``(h, w)``; ``output_size`` (``(H, W)`` or a full
    shape ending in ``(H, W)``) picks another size that pools to ``(h, w)``, i.e. one within a
    stride of the default. Where two values name the same position (overlapping windows), the
    later one in row-major order wins, as in PyTorch's CPU kernel.
    """
    _check_indices_match(X, indices)
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = positive_pair((kh, kw) if stride is None else stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    h, w = X.shape[-2:]
    default = ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw)
    out_h, out_w = _unpool_size(output_size, X, default, (sh, sw))
    flat_indices = indices.flatten(-2).long()
    _check_indices_inside(flat_indices, (out_h, out_w))
    # A plane of zeros per channel; each value goes where its index says.
    zeros = X.new_zeros((*X.shape[:-2], out_h * out_w))
    Y = zeros.scatter(-1, flat_indices, X.flatten(-2))
    return Y.unflatten(-1, (out_h, out_w))


def _check_indices_match(X: torch.Tensor, indices: torch.Tensor) -> None:
    """Check that ``indices`` are integers of ``X``'s shape, on ``X``'s device."""
    check_tensor(X, "X", (2, 3, 4), _LAYOUT)
    check_tensor(indices, "indices", (2, 3, 4), _LAYOUT)
    if indices.shape != X.shape:
        raise ValueError(
            f"indices of shape {tuple(indices.shape)} must have the shape of X, "
            f"{tuple(X.shape)}: pass the indices that pooling returned with these values"
        )
    if indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
        raise ValueError(f"indices must be an integer tensor, got dtype {indices.dtype}")
    if indices.device != X.device:
        raise ValueError(
            f"X is on {X.device} but indices is on {indices.device}: move both to one "
            "device, e.g. indices.to(X.device)"
        )


def _check_indices_inside(flat_indices: torch.Tensor, size: tuple[int, int]) -> None:
    plane = size[0] * size[1]
    outside = (flat_indices < 0) | (flat_indices >= plane)
    if bool(outside.any()):
        found = int(flat_indices[outside][0])
        raise ValueError(
            f"indices must lie in [0, {plane}) for an output plane of size {size}, "
            f"found {found}: pass the indices from the matching pooling and its output_size"
        )


def _unpool_size(
    output_size: Sequence[int] | None,
    X: torch.Tensor,
    default: tuple[int, int],
    stride: tuple[int, int],
) -> tuple[int, int]:
    """The unpooled ``(H, W)``: ``default``, or ``output_size`` checked against it."""
    if output_size is None:
        if min(default) < 1:
            raise ValueError(
                f"the default output size {default} = (input - 1) * stride - 2 * padding + "
                f"kernel_size is not positive (input {tuple(X.shape[-2:])}, stride {stride}): "
                "use less padding"
            )
        return default
    if isinstance(output_size, torch.Size | tuple | list) and len(output_size) > 2:
        if len(output_size) != X.dim() or tuple(output_size[:-2]) != tuple(X.shape[:-2]):
            raise ValueError(
                f"output_size {tuple(output_size)} must be (H, W) or a full shape whose leading "
                f"dimensions are X's, {tuple(X.shape[:-2])}"
            )
        output_size = tuple(output_size[-2:])
    out = pair(output_size, "output_size")
    for d, name in enumerate(("height", "width")):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < out[d] < high:
            raise ValueError(
                f"output_size {out} is impossible: the output {name} must lie strictly between "
                f"{low} and {high} (default {default[d]} +- stride {stride[d]}), the sizes that "
                "pooling maps back to the input's size"
            )
        if out[d] < 1:
            raise ValueError(f"output_size {out} must be positive")
    return out


def copy_unpool2d(X: torch.Tensor, kernel_size: int | Sequence[int]) -> torch.Tensor:
    """Copy unpooling: every value fills its whole ``k_h x k_w`` window of the output.

    ``X`` is ``(N, C, h, w)``, ``(C, h, w)`` or ``(h, w)``; the output is ``(..., h * k_h,
    w * k_w)``. Unlike :func:`max_unpool2d` it needs no indices, and it equals nearest-neighbour
    up-sampling by the integer factors ``(k_h, k_w)``.
    """
    check_tensor(X, "X", (2, 3, 4), _LAYOUT)
    kh, kw = positive_pair(kernel_size, "kernel_size")
    *lead, h, w = X.shape
    # View each value as a (1, 1) block, broadcast it to (k_h, k_w), then lay the blocks out.
    blocks = X.reshape(*lead, h, 1, w, 1).expand(*lead, h, kh, w, kw)
    return blocks.reshape(*lead, h * kh, w * kw)


def shift_tolerance(
    X: torch.Tensor,
    pool: Callable[[torch.Tensor], torch.Tensor],
    dy: int = 0,
    dx: int = 1,
    atol: float = 0.0,
) -> float:
    """Fraction of ``pool``'s outputs that stay the same when the input moves by ``(dy, dx)``.

    Two crops of ``X`` (last two dims ``(H, W)``) are compared: ``A = X[..., :H - dy, :W - dx]``
    and the same scene moved by ``(dy, dx)`` pixels, ``B = X[..., dy:, dx:]`` (negative shifts
    move the other way). Both are real pixels, so no fill value enters the measure. The result
    is the fraction of positions where ``|pool(A) - pool(B)| <= atol``.

    Read it against a baseline: pass ``pool=lambda t: t`` to get the fraction of *pixels* that a
    shift leaves unchanged. Flat regions (a constant background) count as unchanged under any
    ``pool``, so the gap between the two numbers, not either one alone, is what pooling adds.
    """
    check_tensor(X, "X", (2, 3, 4), _LAYOUT)
    for name, value in (("dy", dy), ("dx", dx)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int (a shift in pixels), got {value!r}")
    h, w = X.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(
            f"shift {(dy, dx)} must be smaller than the input's size {(h, w)} in each direction"
        )
    if atol < 0:
        raise ValueError(f"atol must be non-negative, got {atol}")
    a = X[..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    b = X[..., max(dy, 0) : h - max(-dy, 0), max(dx, 0) : w - max(-dx, 0)]
    pa, pb = pool(a), pool(b)
    if pa.shape != pb.shape:
        raise ValueError(
            f"pool gave outputs of shapes {tuple(pa.shape)} and {tuple(pb.shape)} for inputs of "
            "the same shape: pool must map equal shapes to equal shapes"
        )
    if pa.numel() == 0:
        raise ValueError("pool gave an empty output: use a larger input or a smaller window")
    same = (pa - pb).abs() <= atol if atol > 0 else pa == pb
    return float(same.float().mean())
