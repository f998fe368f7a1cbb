"""Interpolation from scratch: nearest, linear, bilinear and trilinear.

Two levels, as in the rest of the package:

* Point functions to read and to draw: :func:`lerp` is linear interpolation between two
  values; :func:`linear_at`, :func:`bilinear_at` and :func:`trilinear_at` evaluate a line, a
  grid or a volume at one fractional position by repeated :func:`lerp`, one axis at a time; and
  :func:`linear_weights`, :func:`bilinear_weights`, :func:`trilinear_weights` list the
  neighbouring samples and their weights, so a picture can show where a value comes from.
* :func:`interpolate` resizes whole batches with the semantics of
  :func:`torch.nn.functional.interpolate` for the modes ``nearest``, ``linear``, ``bilinear`` and
  ``trilinear``. It works separably: one 1-D pass per spatial axis, each a gather of two
  neighbours per output position and a weighted sum. Bilinear is linear along the width, then
  along the height; the order does not change the result (up to rounding) because each pass is
  a linear map acting on a different axis.

Coordinates follow PyTorch exactly (see :func:`source_coordinates` and :func:`nearest_indices`):
output position ``i`` reads the input at ``src = (i + 0.5) * scale - 0.5`` (clamped at 0) with
``align_corners=False``, and at ``src = i * (in - 1) / (out - 1)`` with ``align_corners=True``;
``nearest`` reads index ``floor(i * scale)`` (PyTorch's legacy rule, with the two shortcuts of
its 2-D kernel). ``scale`` is ``in / out``, or ``1 / scale_factor`` when a scale factor is given.
None of this calls ``F.interpolate`` or ``F.grid_sample``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from cnnbook.args import check_tensor

_MODE_DIMS = {"nearest": (3, 4, 5), "linear": (3,), "bilinear": (4,), "trilinear": (5,)}
_MODE_LAYOUTS = {3: "(N, C, L)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)"}
_LINEAR_FOR_DIMS = {3: "linear", 4: "bilinear", 5: "trilinear"}

Number = int | float


# ---------------------------------------------------------------------------------------------
# One point at a time
# ---------------------------------------------------------------------------------------------


def lerp(a: Number | torch.Tensor, b: Number | torch.Tensor, t: Number) -> Number | torch.Tensor:
    """Linear interpolation: the value a fraction ``t`` of the way from ``a`` (t=0) to ``b`` (t=1).

    ``(1 - t) * a + t * b``: each end is weighted by the distance to the *other* end, so the
    nearer sample counts more.
    """
    return (1 - t) * a + t * b


def _coordinate(value: object, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _neighbours(position: object, length: int, name: str) -> tuple[int, int, float]:
    """Two neighbouring samples ``i0 <= i1`` of ``position`` on ``0 .. length - 1`` and ``t``.

    Positions outside the samples are clamped to the first or last one: beyond the edge the
    value is the edge value, which is what ``F.interpolate`` does at the borders. At the last
    sample (or on a length-1 axis) both neighbours are the same sample and ``t`` is 0.
    """
    x = min(max(_coordinate(position, name), 0.0), float(length - 1))
    i0 = min(math.floor(x), length - 1)
    i1 = min(i0 + 1, length - 1)
    return i0, i1, (x - i0 if i1 != i0 else 0.0)


def linear_weights(x: Number, length: int) -> list[tuple[int, float]]:
    """The samples that linear interpolation at ``x`` reads on an axis of ``length`` samples.

    Returns ``[(i0, 1 - t), (i0 + 1, t)]`` with ``i0 = floor(x)`` and ``t = x - i0``, or one
    ``(i, 1.0)`` at the last sample; positions outside ``[0, length - 1]`` are clamped to it.
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    i0, i1, t = _neighbours(x, length, "x")
    return [(i0, 1.0)] if i0 == i1 else [(i0, 1.0 - t), (i1, t)]


def _shape(shape: Sequence[int], ndim: int, layout: str) -> tuple[int, ...]:
    if (
        not isinstance(shape, torch.Size | tuple | list)
        or len(shape) != ndim
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
    ):
        raise ValueError(f"shape must be {ndim} positive ints {layout}, got {shape!r}")
    return tuple(shape)


def bilinear_weights(
    y: Number, x: Number, shape: Sequence[int]
) -> list[tuple[tuple[int, int], float]]:
    """The (up to four) grid samples bilinear interpolation at ``(y, x)`` reads, and their weights.

    ``shape`` is the grid's ``(H, W)``. Each weight is the product of the two 1-D weights of
    :func:`linear_weights`, ``(1 - t_y)(1 - t_x)``, ``(1 - t_y) t_x``, ``t_y (1 - t_x)`` and
    ``t_y t_x``: the area of the rectangle *opposite* each corner. They sum to 1.
    """
    h, w = _shape(shape, 2, "(H, W)")
    return [((i, j), wy * wx) for i, wy in linear_weights(y, h) for j, wx in linear_weights(x, w)]


def trilinear_weights(
    z: Number, y: Number, x: Number, shape: Sequence[int]
) -> list[tuple[tuple[int, int, int], float]]:
    """The (up to eight) corners trilinear interpolation at ``(z, y, x)`` reads, and their weights.

    ``shape`` is the volume's ``(D, H, W)``; each weight is a product of three 1-D weights (the
    volume of the box opposite the corner).
    """
    d, h, w = _shape(shape, 3, "(D, H, W)")
    return [
        ((k, i, j), wz * wy * wx)
        for k, wz in linear_weights(z, d)
        for i, wy in linear_weights(y, h)
        for j, wx in linear_weights(x, w)
    ]


def linear_at(line: torch.Tensor, x: Number) -> torch.Tensor:
    """Value of the samples ``line[..., 0 .. L-1]`` at the fractional position ``x``."""
    check_tensor(line, "line", (1, 2, 3), "(L,) or with leading dimensions (..., L)")
    i0, i1, t = _neighbours(x, line.shape[-1], "x")
    return lerp(line[..., i0], line[..., i1], t)


def bilinear_at(grid: torch.Tensor, y: Number, x: Number, first: str = "x") -> torch.Tensor:
    """Value of ``grid[..., H, W]`` at the fractional position ``(y, x)`` (row, column).

    Three linear interpolations: with ``first="x"``, along each of the two neighbouring rows,
    then between the two results along ``y``; with ``first="y"``, along the two columns first.
    Both give the same value (up to rounding). Positions beyond the grid take the edge value.
    """
    check_tensor(grid, "grid", (2, 3, 4), "(H, W) or with leading dimensions (..., H, W)")
    if first not in ("x", "y"):
        raise ValueError(
            f"first must be 'x' or 'y' (the axis to interpolate along first), got {first!r}"
        )
    h, w = grid.shape[-2:]
    i0, i1, ty = _neighbours(y, h, "y")
    j0, j1, tx = _neighbours(x, w, "x")
    g = grid
    if first == "x":
        top = lerp(g[..., i0, j0], g[..., i0, j1], tx)
        bottom = lerp(g[..., i1, j0], g[..., i1, j1], tx)
        return lerp(top, bottom, ty)
    left = lerp(g[..., i0, j0], g[..., i1, j0], ty)
    right = lerp(g[..., i0, j1], g[..., i1, j1], ty)
    return lerp(left, right, tx)


def trilinear_at(volume: torch.Tensor, z: Number, y: Number, x: Number) -> torch.Tensor:
    """Value of ``volume[..., D, H, W]`` at the fractional position ``(z, y, x)``.

    Seven linear interpolations: four along ``x`` (one per edge of the surrounding box), two
    along ``y`` between those, one along ``z`` between the last two.
    """
    check_tensor(volume, "volume", (3, 4, 5), "(D, H, W) or with leading dimensions (..., D, H, W)")
    d, h, w = volume.shape[-3:]
    k0, k1, tz = _neighbours(z, d, "z")
    i0, i1, ty = _neighbours(y, h, "y")
    j0, j1, tx = _neighbours(x, w, "x")
    v = volume

    def along_x(k: int, i: int) -> torch.Tensor:
        return lerp(v[..., k, i, j0], v[..., k, i, j1], tx)

    near = lerp(along_x(k0, i0), along_x(k0, i1), ty)  # the face at z = k0
    far = lerp(along_x(k1, i0), along_x(k1, i1), ty)  # the face at z = k1
    return lerp(near, far, tz)


# ---------------------------------------------------------------------------------------------
# Whole tensors
# ---------------------------------------------------------------------------------------------


def _opmath(dtype: torch.dtype) -> torch.dtype:
    """The precision PyTorch's CPU kernels compute coordinates and weights in."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _scale(
    in_size: int, out_size: int, scale_factor: float | None, dtype: torch.dtype
) -> torch.Tensor:
    """``in / out``, or ``1 / scale_factor`` when one is given, rounded to ``dtype`` like C++."""
    if scale_factor is not None and scale_factor > 0:
        return torch.tensor(1.0 / scale_factor, dtype=dtype)  # divided in double, then rounded
    return torch.tensor(float(in_size), dtype=dtype) / out_size


def nearest_indices(
    in_size: int, out_size: int, scale_factor: float | None = None, shortcuts: bool = False
) -> torch.Tensor:
    """Input index that each output index copies in ``mode="nearest"`` (PyTorch's legacy rule).

    ``floor(i * scale)`` in float32, capped at ``in_size - 1``. PyTorch's 2-D kernel (4-D
    inputs) takes two shortcuts, ``shortcuts=True`` here: equal sizes copy and an exactly
    doubled size reads ``i // 2``, whatever ``scale_factor`` says (its 1-D and 3-D kernels do
    not). Without a ``scale_factor`` the shortcuts change nothing; with one they can, e.g.
    ``floor(3 * 1.2) = 3`` outputs read ``0, 0, 1`` by the rule but ``0, 1, 2`` by the shortcut.
    """
    if shortcuts and out_size == in_size:
        return torch.arange(out_size)
    if shortcuts and out_size == 2 * in_size:
        return torch.arange(out_size) // 2
    scale = _scale(in_size, out_size, scale_factor, torch.float32)
    src = torch.floor(torch.arange(out_size, dtype=torch.float32) * scale).long()
    return src.clamp(max=in_size - 1)


def source_coordinates(
    in_size: int,
    out_size: int,
    align_corners: bool = False,
    scale_factor: float | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Where each output index reads the input, in input index units, for the linear modes.

    ``align_corners=False``: ``src = (i + 0.5) * scale - 0.5``, clamped at 0: pixels are areas
    and their *centres* are matched, so the image's outer edges line up. ``align_corners=True``:
    ``src = i * (in - 1) / (out - 1)``: the *centres* of the corner pixels line up. Computed in
    ``dtype`` (float32 for float32/half inputs, as PyTorch does). When the sizes are equal the
    output is a copy (``src = i``), whatever ``scale_factor`` says.
    """
    if out_size == in_size:
        return torch.arange(out_size, dtype=dtype)
    i = torch.arange(out_size, dtype=dtype)
    if align_corners:
        if out_size == 1:
            return torch.zeros(1, dtype=dtype)
        scale = torch.tensor(float(in_size - 1), dtype=dtype) / (out_size - 1)
        return scale * i
    scale = _scale(in_size, out_size, scale_factor, dtype)
    if dtype == torch.float32:
        # PyTorch's x86 CPU kernels are built with fused multiply-add, which rounds
        # scale * (i + 0.5) - 0.5 once instead of twice. The product of two floats is exact in
        # double, so computing in double and rounding once to float gives the same bits.
        src = (scale.double() * (i.double() + 0.5) - 0.5).float()
    else:
        src = scale * (i + 0.5) - 0.5
    return src.clamp(min=0)


def _linear_indices_weights(
    in_size: int,
    out_size: int,
    align_corners: bool,
    scale_factor: float | None,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output index: the two input indices ``i0, i1`` and their weights ``w0, w1``."""
    src = source_coordinates(in_size, out_size, align_corners, scale_factor, dtype)
    i0 = src.floor().long().clamp(max=in_size - 1)
    w1 = (src - i0).clamp(0, 1)
    i1 = torch.where(i0 < in_size - 1, i0 + 1, i0)
    return i0, i1, 1 - w1, w1


def _output_sizes(
    X: torch.Tensor,
    size: int | Sequence[int] | None,
    scale_factor: Number | Sequence[Number] | None,
) -> tuple[list[int], list[float | None]]:
    spatial = X.dim() - 2
    in_sizes = list(X.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "pass exactly one of size and scale_factor, got "
            + ("both" if size is not None else "neither")
        )
    if size is not None:
        sizes = [size] * spatial if not isinstance(size, torch.Size | tuple | list) else list(size)
        if len(sizes) != spatial or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes
        ):
            raise ValueError(
                f"size must be a positive int or {spatial} positive ints (one per spatial "
                f"dimension of the input {tuple(in_sizes)}), got {size!r}"
            )
        return sizes, [None] * spatial
    factors = (
        list(scale_factor) if isinstance(scale_factor, tuple | list) else [scale_factor] * spatial
    )
    if len(factors) != spatial or not all(
        isinstance(f, int | float) and not isinstance(f, bool) and math.isfinite(f) and f > 0
        for f in factors
    ):
        raise ValueError(
            f"scale_factor must be a positive number or {spatial} positive numbers (one per "
            f"spatial dimension of the input {tuple(in_sizes)}), got {scale_factor!r}"
        )
    factors = [float(f) for f in factors]
    # Computed in double and truncated, as PyTorch's C++ does.
    sizes = [math.floor(n * f) for n, f in zip(in_sizes, factors, strict=True)]
    if min(sizes) < 1:
        raise ValueError(
            f"scale_factor {scale_factor!r} shrinks the input {tuple(in_sizes)} to "
            f"{tuple(sizes)}: every output size must be at least 1; use a larger factor"
        )
    return sizes, factors


# Output elements per chunk of planes (4 MiB of float32): small enough that a chunk's
# temporaries are recycled by the allocator rather than being fresh memory (page faults) on
# every call, large enough that few torch ops run (each multi-threaded op has a fixed cost).
_CHUNK = 1 << 20


def _as_3d(y: torch.Tensor, axis: int) -> torch.Tensor:
    """``y`` viewed as ``(before, axis, after)``, grouping the dimensions around ``axis``."""
    return y.reshape(math.prod(y.shape[:axis]), y.shape[axis], math.prod(y.shape[axis + 1 :]))


def _select(
    src: torch.Tensor, index: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``src[:, index, :]`` for a 3-D ``src``, with the torch op that is fastest on the CPU.

    ``index_select`` copies contiguous runs of ``after`` elements; when ``after`` is 1 (the last
    axis) it degrades to one element at a time, and ``gather`` with the index broadcast (a
    stride-0 view) to the output's shape is several times faster.
    """
    if src.shape[2] == 1:
        # As 2-D, so that the gathered axis is the innermost one: much faster than with a
        # trailing dimension of size 1.
        before, n_out = src.shape[0], index.shape[0]
        index = index.view(1, n_out).expand(before, n_out)
        out2 = None if out is None else out.view(before, n_out)
        return torch.gather(src.view(before, -1), 1, index, out=out2).view(before, n_out, 1)
    return torch.index_select(src, 1, index, out=out)


class _Pass(NamedTuple):
    """One 1-D resampling pass along ``axis``: ``w0 * y[i0] + w1 * y[i1]``, or ``y[i0]``."""

    axis: int
    i0: torch.Tensor
    i1: torch.Tensor | None = None
    w0: torch.Tensor | None = None
    w1: torch.Tensor | None = None

    def __call__(self, y: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        shape = list(y.shape)
        shape[self.axis] = self.i0.shape[0]
        src = _as_3d(y, self.axis)
        out3 = None if out is None else out.view(src.shape[0], self.i0.shape[0], src.shape[2])
        result = _select(src, self.i0, out=out3)
        if self.i1 is not None:
            w0 = self.w0.to(y.dtype).view(-1, 1)
            w1 = self.w1.to(y.dtype).view(-1, 1)
            result.mul_(w0).addcmul_(_select(src, self.i1), w1)  # in place in the output
        return result.view(shape)


def interpolate(
    X: torch.Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: Number | Sequence[Number] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> torch.Tensor:
    """Resize ``X`` with the semantics of ``F.interpolate`` (modes nearest, (bi/tri)linear).

    ``X`` is ``(N, C, L)`` for ``linear``, ``(N, C, H, W)`` for ``bilinear``, ``(N, C, D, H, W)``
    for ``trilinear``, and any of the three for ``nearest``. Give exactly one of ``size`` (the
    output's spatial size) or ``scale_factor`` (output size ``floor(in * scale_factor)``; the
    factor itself, not the rounded size ratio, sets the coordinates, as PyTorch does when
    ``recompute_scale_factor`` is not set). ``align_corners`` chooses the coordinate convention
    of the linear modes (default False); ``nearest`` has none and rejects it.
    """
    check_tensor(X, "X", (3, 4, 5), "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")
    if mode not in _MODE_DIMS:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODE_DIMS))}; got {mode!r}")
    if X.dim() not in _MODE_DIMS[mode]:
        raise ValueError(
            f"mode={mode!r} needs a {_MODE_DIMS[mode][0]}-D input "
            f"{_MODE_LAYOUTS[_MODE_DIMS[mode][0]]}, got shape {tuple(X.shape)} ({X.dim()}-D): "
            f"use mode={_LINEAR_FOR_DIMS[X.dim()]!r} or 'nearest' for this input"
        )
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(
                "align_corners only applies to the linear modes (linear, bilinear, trilinear); "
                "leave it as None with mode='nearest'"
            )
    else:
        if align_corners is None:
            align_corners = False
        if not isinstance(align_corners, bool):
            raise ValueError(f"align_corners must be True, False or None, got {align_corners!r}")
        if not X.is_floating_point():
            raise ValueError(
                f"mode={mode!r} needs a floating-point input, got dtype {X.dtype}: "
                "convert it first, e.g. X.float()"
            )
    if min(X.shape[2:]) < 1:
        raise ValueError(f"X must have non-empty spatial dimensions, got shape {tuple(X.shape)}")
    sizes, factors = _output_sizes(X, size, scale_factor)
    spatial = X.dim() - 2
    # Plan one 1-D pass per axis that changes, the last (fastest-varying) axis first. Axes are
    # counted in the (N * C, *spatial) view below, hence 1 + d.
    passes = []
    for d in reversed(range(spatial)):
        in_n, out_n = X.shape[2 + d], sizes[d]
        if mode == "nearest":
            index = nearest_indices(in_n, out_n, factors[d], shortcuts=X.dim() == 4)
            if out_n != in_n or not torch.equal(index, torch.arange(in_n)):
                passes.append(_Pass(1 + d, index))
        elif out_n != in_n:  # the linear kernels copy an axis whose size does not change
            opmath = _opmath(X.dtype)
            weights = _linear_indices_weights(in_n, out_n, align_corners, factors[d], opmath)
            passes.append(_Pass(1 + d, *weights))
    x = X
    if mode != "nearest" and X.dtype in (torch.float16, torch.bfloat16):
        x = x.float()  # compute in float32 and round once at the end
    planes = x.reshape(-1, *X.shape[2:])
    y = torch.empty(planes.shape[0], *sizes, dtype=x.dtype)
    if not passes:
        y.copy_(planes)
    # A few planes at a time through all the passes, the last one writing into y directly.
    step = max(1, _CHUNK // math.prod(sizes))
    for start in range(0, planes.shape[0] if passes else 0, step):
        part = planes[start : start + step]
        for one_pass in passes[:-1]:
            part = one_pass(part)
        passes[-1](part, out=y[start : start + step])
    y = y.reshape(*X.shape[:2], *sizes)
    return y.to(X.dtype)
