"""Argument checks shared by every op in cnnbook.

PyTorch accepts an int or a pair for sizes, strides, paddings and dilations; these helpers
normalise that once and raise a :class:`ValueError` that names the argument, the value and the fix,
so that every op reports bad input the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """Return ``value`` as ``(height, width)``: an int is used for both sides."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, torch.Size | tuple | list) and len(value) == 2:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return (int(value[0]), int(value[1]))
    raise ValueError(
        f"{name} must be an int or a pair of ints (height, width), got {value!r}"
    )


def positive_pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """Like :func:`pair`, and every entry must be at least 1 (strides, dilations, sizes)."""
    result = pair(value, name)
    if min(result) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}: use 1 or more")
    return result


def non_negative_pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """Like :func:`pair`, and every entry must be at least 0 (paddings)."""
    result = pair(value, name)
    if min(result) < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}: use 0 or more")
    return result


def positive_int(value: int, name: str) -> int:
    """Check that ``value`` is an int of at least 1 (groups, channel counts)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_tensor(x: object, name: str, ndims: Sequence[int], layout: str) -> torch.Tensor:
    """Check that ``x`` is a tensor with one of the allowed numbers of dimensions.

    ``layout`` describes the expected shape in words (e.g. ``"(N, C, H, W) or (C, H, W)"``) so
    that the message says what to pass instead.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in ndims:
        raise ValueError(
            f"{name} must have shape {layout} ({' or '.join(map(str, ndims))} dimensions), "
            f"got shape {tuple(x.shape)} ({x.dim()} dimensions)"
        )
    return x


def check_same_dtype_and_device(**tensors: torch.Tensor | None) -> None:
    """Check that the tensors passed by name (``None`` skipped) share one dtype and one device.

    PyTorch's ops refuse mixed arguments too; the ``ValueError`` here names both arguments and
    what they hold, and says how to convert, instead of an error from deep inside the op.
    """
    named = [(name, t) for name, t in tensors.items() if t is not None]
    first_name, first = named[0]
    for name, t in named[1:]:
        if t.dtype != first.dtype:
            raise ValueError(
                f"{first_name} is {first.dtype} but {name} is {t.dtype}: pass both in one dtype, "
                f"e.g. {name}.to({first_name}.dtype)"
            )
        if t.device != first.device:
            raise ValueError(
                f"{first_name} is on {first.device} but {name} is on {t.device}: move both to one "
                f"device, e.g. {name}.to({first_name}.device)"
            )
