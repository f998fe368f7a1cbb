"""Chapter 8's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

import torch

from cnnbook.exercises import check


def test_second_pool_field() -> None:
    assert check("8.1", (16, 16))
    wrong = check("8.1", (14, 14))  # the second convolution's field, without the pooling
    assert not wrong and "16" not in wrong.message and "pooling" in wrong.message
    summed = check("8.1", (10, 10))  # 5 + 5: kernel sizes added, jumps forgotten
    assert not summed and "16" not in summed.message
    assert not check("8.1", (5, 5))


def test_shifted_maps() -> None:
    assert check("8.2", (4, 2, 2))
    halved_twice = check("8.2", (4, 2, 1))
    assert not halved_twice and "stride 1" in halved_twice.message
    no_pooling = check("8.2", (4, 4, 4))
    assert not no_pooling and "two input pixels" in no_pooling.message
    assert not check("8.2", (2, 2, 2))


def shift_image(X: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """The worked solution: copy the part that stays inside, zeros elsewhere."""
    H, W = X.shape[-2:]
    out = torch.zeros_like(X)
    out[..., max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = \
        X[..., max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)]
    return out


def test_shift_image() -> None:
    assert check("8.3", shift_image)
    rolled = check("8.3", lambda X, dy, dx: torch.roll(X, (dy, dx), dims=(-2, -1)))
    assert not rolled and "torch.roll" in rolled.message
    backwards = check("8.3", lambda X, dy, dx: shift_image(X, -dy, -dx))
    assert not backwards and "other way" in backwards.message
    assert not check("8.3", lambda X, dy, dx: None)
    assert "no answer yet" in check("8.3", None).message
