"""Checkers for chapter 1 (cross-correlation and kernels)."""

from __future__ import annotations

from typing import Any

import torch

from cnnbook.conv import corr2d
from cnnbook.exercises.checking import agrees, as_ints, exercise, first_mismatch


def _nonzero(Y: torch.Tensor) -> int:
    return int((Y.abs() > 1e-6).sum())


def _as_kernel(answer: Any) -> torch.Tensor:
    K = torch.as_tensor(answer, dtype=torch.float32)
    if K.dim() == 1:
        K = K[None]
    if K.dim() != 2:
        raise TypeError(f"a kernel is a 2-D tensor (rows, columns); this one has {K.dim()} dims")
    return K


@exercise("1.1", "predict", "(nonzero outputs of [[1, -1]], nonzero outputs of [[1], [-1]])")
def edges_of_a_triangle(answer: Any) -> str | None:
    vertical, horizontal = as_ints(answer, 2)
    X = torch.tril(torch.ones(8, 8))
    right = (_nonzero(corr2d(X, torch.tensor([[1.0, -1.0]]))),
             _nonzero(corr2d(X, torch.tensor([[1.0], [-1.0]]))))
    if (vertical, horizontal) == right:
        return None
    if 8 in (vertical, horizontal):
        return ("the output is smaller than the input: a 1×2 kernel fits 7 times across a row of "
                "8, so each row (or column) of the output has 7 entries, not 8")
    if 0 in (vertical, horizontal):
        return ("a staircase edge is both vertical and horizontal in places: look at one step of "
                "the staircase with each kernel")
    return ("draw the 8×8 staircase and mark where two neighbours differ, along rows and along "
            "columns")


@exercise("1.2", "write", "a 2×2 kernel (tensor) that responds to the diagonal edge",
          wants_function=False)
def diagonal_kernel(answer: Any) -> str | None:
    K = _as_kernel(answer)
    if tuple(K.shape) != (2, 2):
        return f"the exercise asks for a 2×2 kernel; yours is {tuple(K.shape)}"
    if abs(float(K.sum())) > 1e-6:
        return ("your kernel responds to a flat image too (its weights do not sum to zero), so "
                "it detects brightness, not an edge")
    # Unseen images: diagonal edges at other offsets and sizes, flat everywhere else.
    for n, offset in ((8, 0), (10, 2), (7, -3)):
        X = torch.tril(torch.ones(n, n), diagonal=offset)
        if _nonzero(corr2d(X, K)) == 0:
            return ("your kernel outputs zeros on the diagonal edge: the two pixels it compares "
                    "lie along the edge, where the image does not change. Compare pixels across it")
    return None


def _quadratic(n_h: int, n_w: int, along_x: bool) -> torch.Tensor:
    coordinate = torch.arange(float(n_w if along_x else n_h))
    values = coordinate**2
    return values.expand(n_h, n_w).clone() if along_x else values[:, None].expand(n_h, n_w).clone()


@exercise("1.3", "write", "a kernel (tensor) for the second derivative along x (columns)",
          wants_function=False)
def second_derivative_kernel(answer: Any) -> str | None:
    K = _as_kernel(answer)
    # On f = x^2 the second derivative is 2 everywhere; on f = y^2 (no change along x) it is 0.
    along_x = corr2d(_quadratic(6, 7, along_x=True), K)
    along_y = corr2d(_quadratic(7, 6, along_x=False), K)
    if torch.allclose(along_x, torch.full_like(along_x, 2.0)) and torch.allclose(
            along_y, torch.zeros_like(along_y)):
        return None
    if torch.allclose(along_y, torch.full_like(along_y, 2.0)):
        return "your kernel takes the second derivative along y (down the rows): turn it"
    if torch.allclose(along_x, along_x.flatten()[0].expand_as(along_x)) and not torch.allclose(
            along_x, torch.full_like(along_x, 2.0)):
        return ("on f(x) = x² your kernel gives a constant, but not f'' = 2: check the weights "
                "(a difference of differences)")
    return ("apply your kernel to f(x) = x², whose second derivative is 2 everywhere: "
            "the output should be 2 at every position, and 0 on an image that varies only along y")


def _rotated_corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    return corr2d(X, torch.flip(K, dims=(0, 1)))


def _cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(101)
    shapes = [((5, 4), (3, 2)), ((6, 6), (2, 3)), ((4, 7), (4, 1)), ((3, 3), (3, 3))]
    return [(torch.randn(x, generator=generator), torch.randn(k, generator=generator))
            for x, k in shapes]


@exercise("1.4", "write", "the function true_convolution2d(X, K)")
def true_convolution(answer: Any) -> str | None:
    cases = _cases()
    hint = first_mismatch(answer, _rotated_corr2d, cases,
                          lambda X, K: f"a {X.shape[0]}×{X.shape[1]} input and a "
                                       f"{K.shape[0]}×{K.shape[1]} kernel")
    if hint is None:
        return None
    if agrees(answer, corr2d, cases[0]):
        return "your function is cross-correlation: the kernel is not rotated"
    for dims in ((0,), (1,)):
        if agrees(answer, lambda X, K, dims=dims: corr2d(X, torch.flip(K, dims=dims)), cases[0]):
            return "your function flips the kernel along one axis only; a 180° rotation flips both"
    return hint
