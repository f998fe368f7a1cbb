"""Pooling and unpooling from scratch.

* :func:`pool2d_loop` is the definition written as a loop over output positions, one window at a
  time: slow, and meant to be read first.
* :func:`pool2d` is the same computation for whole batches, with padding, stride, dilation,
  ``ceil_mode``, ``count_include_pad`` and ``return_indices``, in the conventions of
  :class:`torch.nn.MaxPool2d` and :class:`torch.nn.AvgPool2d`. It turns the loop inside out: it
  loops over the offsets inside a window instead of over output positions, and at each offset
  combines one strided view of the (padded) input with the running maximum or sum. Both
  reductions are separable (a window's maximum is the maximum of its rows' maxima, and likewise
  for sums), so it reduces along the rows first and then down the columns: ``k_h + k_w`` steps
  instead of ``k_h * k_w``. With ``return_indices`` each step applies PyTorch's own rule (take
  an element if it is greater than the best so far, or NaN), so ties, ``NaN`` and the returned
  indices come out the same as PyTorch's.
* :func:`max_unpool2d` is the partial inverse of max pooling (:func:`torch.nn.functional.
  max_unpool2d`): each value goes back to the position its index names, zeros elsewhere.
* :func:`copy_unpool2d` copies each value into its whole window ("nearest" unpooling).
* :func:`shift_tolerance` measures how much of a pooled output survives a one-pixel shift of
  the input.

None of them calls a torch pooling or unpooling op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from cnnbook.args import (
    check_tensor,
    non_negative_pair,
    pair,
    positive_int,
    positive_pair,
)

_LAYOUT = "(N, C, H, W), (C, H, W) or (H, W)"


def pool2d_loop(
    X: torch.Tensor,
    pool_size: int | Sequence[int],
    mode: str = "max",
    stride: int | Sequence[int] | None = None,
) -> torch.Tensor:
    """Max or average pooling of a 2-D input, one output element at a time.

    ``Y[i, j]`` is the maximum (``mode="max"``) or the mean (``mode="avg"``) of the window
    ``X[i * s_h : i * s_h + p_h, j * s_w : j * s_w + p_w]``. As in PyTorch, the stride defaults
    to the window size, so windows do not overlap; pass ``stride=1`` to slide the window one
    element at a time.
    """
    check_tensor(X, "X", (2,), "(height, width)")
    _check_mode(mode)
    p_h, p_w = positive_pair(pool_size, "pool_size")
    s_h, s_w = positive_pair((p_h, p_w) if stride is None else stride, "stride")
    if p_h > X.shape[0] or p_w > X.shape[1]:
        raise ValueError(
            f"pool_size {(p_h, p_w)} is larger than the input of shape {tuple(X.shape)}: "
            "use a smaller window"
        )
    if mode == "avg" and not X.is_floating_point():
        raise ValueError(
            f"average pooling needs a floating-point input, got dtype {X.dtype}: "
            "convert it first, e.g. X.float()"
        )
    out_h = (X.shape[0] - p_h) // s_h + 1
    out_w = (X.shape[1] - p_w) // s_w + 1
    Y = torch.zeros((out_h, out_w), dtype=X.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = X[i * s_h : i * s_h + p_h, j * s_w : j * s_w + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y


def _check_mode(mode: object) -> None:
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")


def _output_length(
    size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool
) -> int:
    """Number of windows along one axis, by PyTorch's rule.

    ``floor`` (or ``ceil``) of ``(size + 2 * pad - dilation * (kernel - 1) - 1) / stride`` plus
    one. With ``ceil_mode`` a last, partial window is added when the division is not exact, but
    only if that window starts inside the input or the left padding: a window that would start
    in the right padding sees nothing but padding, so PyTorch drops it.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if ceil_mode:
        span += stride - 1
    length = span // stride + 1  # Python's // rounds towards -inf, like PyTorch's div_rtn
    if ceil_mode and (length - 1) * stride >= size + pad:
        length -= 1
    return length


def _as_batch(X: torch.Tensor) -> torch.Tensor:
    """View a 2-D, 3-D or 4-D input as 4-D ``(N, C, H, W)``."""
    return X.reshape((1,) * (4 - X.dim()) + tuple(X.shape))


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
    channel is pooled on its own and the output keeps ``X``'s leading dimensions. ``stride``
    defaults to ``kernel_size``. ``padding`` adds that many rows/columns on each side, at most
    half the window: ``-inf`` for max pooling (padding never wins), zeros for average pooling.

    ``mode="max"`` only: ``dilation`` spreads the window; ``return_indices=True`` also returns,
    for every output, the flat index ``row * W + col`` of the chosen element in its own
    ``H x W`` input plane (what :func:`max_unpool2d` needs).

    ``mode="avg"`` only: ``count_include_pad`` decides whether padded zeros count in the
    divisor; a window that ``ceil_mode`` lets run past the padding is clipped to the padded
    input before counting, as PyTorch does; ``divisor_override`` replaces the divisor.
    """
    check_tensor(X, "X", (2, 3, 4), _LAYOUT)
    _check_mode(mode)
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = positive_pair((kh, kw) if stride is None else stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    dh, dw = positive_pair(dilation, "dilation")
    if mode == "avg":
        if return_indices:
            raise ValueError(
                "return_indices=True needs mode='max': average pooling picks no element"
            )
        if (dh, dw) != (1, 1):
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
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"padding {(ph, pw)} is more than half the window {(kh, kw)}: a window could then "
            f"hold padding only; use padding of at most {(kh // 2, kw // 2)}"
        )
    x = _as_batch(X)
    h, w = x.shape[-2:]
    out_h = _output_length(h, kh, sh, ph, dh, ceil_mode)
    out_w = _output_length(w, kw, sw, pw, dw, ceil_mode)
    if out_h < 1 or out_w < 1:
        eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        raise ValueError(
            f"window of (effective) size {(eff_h, eff_w)} is larger than the padded input of "
            f"size {(h + 2 * ph, w + 2 * pw)} (input {(h, w)}, padding {(ph, pw)} on each "
            "side): use a smaller window or more padding"
        )
    # Pad on the right/bottom as far as the last window reaches: with ceil_mode it can run past
    # the padding; those extra positions get the same fill and so never change the result.
    bottom = max((out_h - 1) * sh + dh * (kh - 1) + 1 - h - ph, 0)
    right = max((out_w - 1) * sw + dw * (kw - 1) + 1 - w - pw, 0)
    rows = _Windows(kh, sh, ph, dh, out_h)
    cols = _Windows(kw, sw, pw, dw, out_w)
    idx = None
    if mode == "max":
        lowest = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
        xp = _pad(x, (pw, right, ph, bottom), lowest)
        if return_indices:
            y, idx = _max_pool_with_indices(xp, rows, cols, w, lowest)
        else:
            # A window's maximum is the maximum over its rows of each row's maximum.
            y = _max_1d(_max_1d(xp, -1, cols), -2, rows)
    else:
        # Half and bfloat16 are summed in float32, as PyTorch does, and rounded once at the end.
        acc_dtype = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        xp = _pad(x.to(acc_dtype), (pw, right, ph, bottom), 0)
        # A window's sum is the sum over its rows of each row's sum.
        total = _sum_1d(_sum_1d(xp, -1, cols), -2, rows)
        if divisor_override is not None:
            divisor = torch.tensor(divisor_override)
        else:
            divisor = rows.divisor(h, count_include_pad)[:, None] * cols.divisor(
                w, count_include_pad
            )
        if acc_dtype == torch.int64:
            y = total.div(divisor, rounding_mode="trunc")  # C++ integer division truncates
        else:
            y = (total / divisor.to(acc_dtype)).to(x.dtype)
    if y.untyped_storage().data_ptr() == X.untyped_storage().data_ptr():
        y = y.clone()  # a 1x1 window with stride 1 leaves a view of X: return a copy
    shape = tuple(X.shape[:-2]) + (out_h, out_w)
    y = y.reshape(shape).contiguous()
    if return_indices:
        return y, idx.reshape(shape)
    return y


def _pad(x: torch.Tensor, sides: tuple[int, int, int, int], value: float) -> torch.Tensor:
    """``x`` padded with ``value`` by ``(left, right, top, bottom)``; ``x`` itself if none."""
    return F.pad(x, sides, value=value) if any(sides) else x


class _Windows(NamedTuple):
    """The pooling windows along one axis: their size, stride, padding, dilation and number."""

    kernel: int
    stride: int
    pad: int
    dilation: int
    count: int

    def view(self, x: torch.Tensor, axis: int, offset: int) -> torch.Tensor:
        """``x[offset + i * stride]`` along ``axis`` (-1 or -2) for every window ``i``: a view."""
        taken = slice(offset, offset + (self.count - 1) * self.stride + 1, self.stride)
        return x[..., taken] if axis == -1 else x[..., taken, :]

    def starts(self) -> torch.Tensor:
        """Where each window starts, in unpadded input coordinates (negative in the padding)."""
        return torch.arange(self.count) * self.stride - self.pad

    def first_inside(self) -> torch.Tensor:
        """Each window's first position inside the input, on its dilated grid."""
        start = self.starts()
        steps = (
            (-start).clamp(min=0).add(self.dilation - 1).div(self.dilation, rounding_mode="floor")
        )
        return start + steps * self.dilation

    def first_steps(self) -> torch.Tensor:
        """For each window, the step (0, 1, ...) of its first position inside the input."""
        return (self.first_inside() - self.starts()) // self.dilation

    def divisor(self, size: int, count_include_pad: bool) -> torch.Tensor:
        """How many elements each window averages over along this axis (avg pooling)."""
        start = self.starts()
        # Clipped to the padded input first (ceil_mode can push a window past the padding) ...
        end = torch.clamp(start + self.kernel, max=size + self.pad)
        if count_include_pad:
            return end - start
        # ... and, without count_include_pad, to the input itself.
        return end.clamp(max=size) - start.clamp(min=0)


def _max_1d(x: torch.Tensor, axis: int, windows: _Windows) -> torch.Tensor:
    """Maximum over each window along one axis: one elementwise maximum per window offset."""
    best = windows.view(x, axis, 0)
    for a in range(1, windows.kernel):
        v = windows.view(x, axis, a * windows.dilation)
        # maximum propagates NaN, as PyTorch's pooling does; in place after the first step.
        best = torch.maximum(best, v) if a == 1 else torch.maximum(best, v, out=best)
    return best


def _sum_1d(x: torch.Tensor, axis: int, windows: _Windows) -> torch.Tensor:
    """Sum over each window along one axis: one elementwise addition per window offset."""
    total = windows.view(x, axis, 0)
    for a in range(1, windows.kernel):
        v = windows.view(x, axis, a)
        total = total + v if a == 1 else total.add_(v)
    return total


def _max_pool_with_indices(
    xp: torch.Tensor, rows: _Windows, cols: _Windows, width: int, lowest: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Max pooling of the padded ``xp`` that also returns flat indices into the input planes.

    PyTorch's kernel scans each window row by row and takes an element if it is greater than
    the best so far *or is NaN*: the first of equal maxima wins, the last NaN wins, and padding
    (-inf) never does; a window with nothing above -inf keeps its first position inside the
    input. Doing the same scan per row and then across rows gives the same element: the first
    maximum in row-major order lies in the first row holding the maximum, at that row's first
    maximum (and likewise for the last NaN).
    """
    # The NaN test costs two ops per step; skip it when there is no NaN to find (amax is NaN
    # exactly when some element is).
    check_nan = xp.is_floating_point() and bool(xp.amax().isnan())
    # Along each row: the best column of every window (padded rows included; they never win).
    row_best, col_step, _ = _scan(xp, -1, cols, lowest, check_nan)
    # Down the columns of row results: the best row, carrying that row's best column along.
    # A window whose rows all stay at -inf keeps its first column inside the input.
    col_first = cols.first_steps().to(torch.int32)
    best, row_step, col_step = _scan(row_best, -2, rows, lowest, check_nan, (col_step, col_first))
    # Flat index (row * width + col), assembled in place in one int64 buffer.
    index = row_step.long().mul_(rows.dilation).add_(rows.starts()[:, None]).mul_(width)
    return best, index.add_(col_step, alpha=cols.dilation).add_(cols.starts())


def _scan(
    x: torch.Tensor,
    axis: int,
    windows: _Windows,
    lowest: float,
    check_nan: bool,
    carry: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """PyTorch's "greater, or NaN" scan over each window along one axis (-1 or -2).

    Returns the best values, the step ``0 .. kernel - 1`` within its window each came from,
    and, if ``carry = (tensor, initial)`` is given, ``tensor``'s entry at the chosen step
    (``initial`` where nothing was chosen). Steps are int32 and updated in place: cheaper than
    tracking positions.
    """
    shape = list(x.shape)
    shape[axis] = windows.count
    # Every buffer is allocated once and updated in place (out=): fresh memory is costly.
    best = torch.full(shape, lowest, dtype=x.dtype)
    take = torch.empty(shape, dtype=torch.bool)
    keep = torch.empty(shape, dtype=torch.bool)
    nan = torch.empty(shape, dtype=torch.bool) if check_nan else None
    # A window where nothing beats -inf keeps its first step inside the input, as in PyTorch.
    firsts = windows.first_steps().to(torch.int32)
    step = (firsts[:, None] if axis == -2 else firsts).expand(shape).clone()
    carried = None if carry is None else carry[1].expand(shape).clone()
    for a in range(windows.kernel):
        v = windows.view(x, axis, a * windows.dilation)
        torch.gt(v, best, out=take)
        if nan is not None:
            take.logical_or_(torch.ne(v, v, out=nan))  # NaN is the one value unequal to itself
        torch.maximum(best, v, out=best)  # the same values as where(take, v, best)
        # "step = a where take": as arithmetic on the 0/1 masks, which the CPU runs several
        # times faster than torch.where or masked_fill_.
        torch.logical_not(take, out=keep)
        step.mul_(keep).add_(take, alpha=a)
        if carried is not None:
            carry_view = windows.view(carry[0], axis, a * windows.dilation)
            carried.mul_(keep).add_(carry_view * take)
    return best, step, carried


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
    check_tensor(X, "X", (2, 3, 4), _LAYOUT)
    check_tensor(indices, "indices", (2, 3, 4), _LAYOUT)
    if indices.shape != X.shape:
        raise ValueError(
            f"indices of shape {tuple(indices.shape)} must have the shape of X, "
            f"{tuple(X.shape)}: pass the indices that pooling returned with these values"
        )
    if indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
        raise ValueError(f"indices must be an integer tensor, got dtype {indices.dtype}")
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = positive_pair((kh, kw) if stride is None else stride, "stride")
    ph, pw = non_negative_pair(padding, "padding")
    h, w = X.shape[-2:]
    default = ((h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw)
    if output_size is None:
        out_h, out_w = default
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"the default output size {default} = (input - 1) * stride - 2 * padding + "
                f"kernel_size is not positive (input {(h, w)}, stride {(sh, sw)}, padding "
                f"{(ph, pw)}, kernel_size {(kh, kw)}): use less padding"
            )
    else:
        out_h, out_w = _unpool_size(output_size, X, default, (sh, sw))
    x = _as_batch(X)
    n, c = x.shape[:2]
    plane = out_h * out_w
    flat_x = x.reshape(n * c, h * w)
    flat_i = indices.reshape(n * c, h * w).long()
    bad = (flat_i < 0) | (flat_i >= plane)
    if bool(bad.any()):
        first = int(bad.flatten().nonzero()[0])
        raise ValueError(
            f"indices must lie in [0, {plane}) for an output plane of size {(out_h, out_w)}, "
            f"found {int(flat_i.flatten()[first])}: pass the indices from the matching pooling "
            "and its output_size"
        )
    # "Last writer wins": for each output position find the largest input position that names
    # it (scatter_reduce 'amax' is deterministic, a plain scatter with repeats is not), then
    # gather the values from those positions.
    order = torch.arange(h * w).expand(n * c, h * w)
    writer = torch.full((n * c, plane), -1, dtype=torch.long)
    writer.scatter_reduce_(1, flat_i, order, reduce="amax")
    values = flat_x.gather(1, writer.clamp(min=0))
    y = torch.where(writer >= 0, values, torch.zeros((), dtype=X.dtype))
    return y.reshape(tuple(X.shape[:-2]) + (out_h, out_w))


def _unpool_size(
    output_size: Sequence[int],
    X: torch.Tensor,
    default: tuple[int, int],
    stride: tuple[int, int],
) -> tuple[int, int]:
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
