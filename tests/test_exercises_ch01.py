"""Chapter 1's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

import torch

from cnnbook.conv import corr2d
from cnnbook.exercises import check


def test_edges_of_a_triangle() -> None:
    assert check("1.1", (7, 7))
    wrong = check("1.1", (8, 8))  # forgets that the output is one narrower than the input
    assert not wrong and "(7, 7)" not in wrong.message
    assert not check("1.1", (7, 0))


def test_diagonal_kernel() -> None:
    assert check("1.2", torch.tensor([[0.0, 1.0], [-1.0, 0.0]]))
    assert not check("1.2", [[1, 0], [0, -1]])  # differences along the edge: all zeros
    assert not check("1.2", [[1, 1], [1, 1]])  # a blur responds to flat images too
    assert not check("1.2", [[1, -1]])  # not 2x2


def test_second_derivative_kernel() -> None:
    assert check("1.3", [[1.0, -2.0, 1.0]])
    assert not check("1.3", [[1.0], [-2.0], [1.0]])  # the derivative along y
    assert not check("1.3", [[-1.0, 1.0]])  # a first derivative


def test_true_convolution() -> None:
    assert check("1.4", lambda X, K: corr2d(X, torch.flip(K, dims=(0, 1))))
    assert not check("1.4", corr2d)  # the kernel not rotated
    assert "not rotated" in check("1.4", corr2d).message
    assert not check("1.4", lambda X, K: corr2d(X, torch.flip(K, dims=(0,))))


def test_check_reports_missing_and_unknown_answers() -> None:
    assert "no answer yet" in check("1.4", None).message
    assert "pass the function" in check("1.4", 3).message
    try:
        check("1.99", 1)
    except KeyError as error:
        assert "1.1" in str(error)
    else:
        raise AssertionError("an unknown exercise must raise")
