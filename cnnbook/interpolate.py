"""Interpolation from scratch: nearest, linear, bilinear and trilinear.

Two levels, as in the rest of the package:

* Point functions to read and to draw: :func:`lerp` is linear interpolation between two
  values; :func:`linear_at`, :func:`bilinear_at` and :func:`trilinear_at` evaluate a line, a
  grid or a volume at one fractional position by repeated :func:`lerp`, one axis at a time; and
  :func:`linear_weights`, :func:`bilinear_weights`, :func:`trilinear_weights` list the
  neighbouring samples and their weights, so a picture can show where a value comes from.
* :func:`interpolate` resizes whole batches with the semantics of
  :func:`torch.nn.functional.interpolate` for the modes ``nearest``, ``linear``, ``bilinear`` and
  ``trilinear``: neighbours times weights, one spatial axis at a time. Along each axis every
  output position has a source coordinate, hence two neighbouring input indices and a weight
  ``t``; the two neighbours are gathered for all positions at once and blended by
  :func:`lerp`. Bilinear is linear along the width, then along the height; the order does not
  change the result (up to rounding) because each pass is a linear map acting on a different
  axis. ``nearest`` gathers one neighbour and blends nothing.

Coordinates follow PyTorch's formulas (see :func:`source_coordinates` and
:func:`nearest_indices`): output position ``i`` reads the input at ``src = (i + 0.5) * scale -
0.5`` (clamped at 0) with ``align_corners=False``, and at ``src = i * (in - 1) / (out - 1)`` with
``align_corners=True``; ``nearest`` reads index ``floor(i * scale)`` (PyTorch's legacy rule, with
the two shortcuts of its 2-D kernel). ``scale`` is ``in / out``, or ``1 / scale_factor`` when a
scale factor is given. ``nearest`` copies exactly the values PyTorch copies; the linear modes
agree with PyTorch up to rounding (its compiled kernels may fuse a multiply and an add that these
tensor operations round separately). None of this calls ``F.interpolate`` or ``F.grid_sample``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    i = torch.arange(out_size, dtype=dtype)
    if out_size == in_size:
        return i
    if align_corners:
        if out_size == 1:
            return torch.zeros(1, dtype=dtype)
        return torch.tensor(float(in_size - 1), dtype=dtype) / (out_size - 1) * i
    scale = _scale(in_size, out_size, scale_factor, dtype)
    return (scale * (i + 0.5) - 0.5).clamp(min=0)


def linear_neighbours(
    in_size: int,
    out_size: int,
    align_corners: bool = False,
    scale_factor: float | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output index: the input indices ``i0 <= i1`` on either side of it, and ``t``.

    ``i0 = floor(src)`` and ``i1 = i0 + 1``, both capped at the last input index, and ``t = src -
    i0`` is how far the source coordinate lies from ``i0`` towards ``i1``: the output is
    ``lerp(x[i0], x[i1], t)``.
    """
    src = source_coordinates(in_size, out_size, align_corners, scale_factor, dtype)
    i0 = src.floor().long().clamp(max=in_size - 1)
    i1 = (i0 + 1).clamp(max=in_size - 1)
    return i0, i1, (src - i0).clamp(0, 1)


def take_along(x: torch.Tensor, axis: int, index: torch.Tensor) -> torch.Tensor:
    """``x.index_select(axis, index)``: the slices of ``x`` at the positions ``index``.

    On the last axis ``gather``, with the index repeated over the other axes (a view, no copy),
    gives the same result faster: ``index_select`` would copy one element at a time there.
    """
    index = index.to(x.device)
    if axis != x.dim() - 1:
        return x.index_select(axis, index)
    return x.gather(axis, index.expand(*x.shape[:-1], len(index)))


def _check_mode(X: torch.Tensor, mode: str, align_corners: bool | None) -> bool | None:
    """Check ``mode`` against ``X`` and ``align_corners``; return ``align_corners`` filled in.

    The linear modes default to ``align_corners=False`` and need a floating-point input;
    ``nearest`` has no ``align_corners`` and rejects one.
    """
    if mode not in _MODE_DIMS:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODE_DIMS))}; got {mode!r}")
    if X.dim() not in _MODE_DIMS[mode]:
        raise ValueError(
            f"mode={mode!r} needs a {_MODE_DIMS[mode][0]}-D input "
            f"{_MODE_LAYOUTS[_MODE_DIMS[mode][0]]}, got shape {tuple(X.shape)} ({X.dim()}-D): "
            f"use mode={_LINEAR_FOR_DIMS[X.dim()]!r} or 'nearest' for this input"
        )
    if min(X.shape[2:]) < 1:
        raise ValueError(f"X must have non-empty spatial dimensions, got shape {tuple(X.shape)}")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(
                "align_corners only applies to the linear modes (linear, bilinear, trilinear); "
                "leave it as None with mode='nearest'"
            )
        return None
    if align_corners is not None and not isinstance(align_corners, bool):
        raise ValueError(f"align_corners must be True, False or None, got {align_corners!r}")
    if not X.is_floating_point():
        raise ValueError(
            f"mode={mode!r} needs a floating-point input, got dtype {X.dtype}: "
            "convert it first, e.g. X.float()"
        )
    return bool(align_corners)


def _output_sizes(
    X: torch.Tensor,
    size: int | Sequence[int] | None,
    scale_factor: Number | Sequence[Number] | None,
) -> tuple[list[int], list[float | None]]:
    """The output's spatial sizes, and the scale factor per axis (``None`` where ``size`` given)."""
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
    align_corners = _check_mode(X, mode, align_corners)
    sizes, factors = _output_sizes(X, size, scale_factor)
    # A copy to work on; the linear modes compute float16 and bfloat16 in float32 (as PyTorch
    # does) and round once at the end.
    y = X.to(X.dtype if mode == "nearest" else _opmath(X.dtype), copy=True)
    for axis in reversed(range(2, X.dim())):  # the last axis (the width) first
        n_in, n_out, factor = X.shape[axis], sizes[axis - 2], factors[axis - 2]
        if mode == "nearest":
            index = nearest_indices(n_in, n_out, factor, shortcuts=X.dim() == 4)
            y = take_along(y, axis, index)
        elif n_out != n_in:  # PyTorch copies an axis whose size does not change
            i0, i1, t = linear_neighbours(n_in, n_out, align_corners, factor, y.dtype)
            t = t.to(y.device).view(-1, *[1] * (X.dim() - 1 - axis))  # one t per slice of axis
            y = lerp(take_along(y, axis, i0), take_along(y, axis, i1), t)
    return y.to(X.dtype)
