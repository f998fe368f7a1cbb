"""Chapter 2's checkers accept the worked solutions and reject the typical wrong answers."""

from __future__ import annotations

from cnnbook.exercises import check
from cnnbook.shapes import conv_output_shape

HALVING = [(1, 0, 2), (2, 0, 2), (3, 1, 2), (4, 1, 2), (5, 2, 2), (6, 2, 2), (7, 3, 2)]


def test_halving_combinations() -> None:
    assert check("2.1", HALVING)
    assert not check("2.1", HALVING[1:])  # forgets the 1x1 kernel
    total = check("2.1", HALVING + [(3, 2, 2)])  # padding 2 read as "1 on each side"
    assert not total and "per side" in total.message


def test_stride_two_shape() -> None:
    assert check("2.2", (5, 5))
    for wrong in [(4, 4), (9, 9), (6, 6)]:  # padding once, stride forgotten, rounded up
        verdict = check("2.2", wrong)
        assert not verdict and "(5, 5)" not in verdict.message


def reads(n: int, k: int, padding: int, i: int, j: int) -> int:
    def along(x: int) -> int:
        return min(k, x + padding + 1, n + padding - x, n + 2 * padding - k + 1)
    return along(i) * along(j)


def test_window_reads() -> None:
    assert check("2.3", reads)
    assert not check("2.3", lambda n, k, p, i, j: k * k)
    # Forgetting that a window cannot start past the padded input's end:
    assert not check("2.3", lambda n, k, p, i, j: min(k, i + p + 1) * min(k, j + p + 1))


def test_dilated_output_size() -> None:
    assert check("2.4", lambda n, k, p, s, d: (n - (d * (k - 1) + 1) + 2 * p + s) // s)
    assert not check("2.4", lambda n, k, p, s, d: (n + 2 * p - d * k) // s + 1)  # d*k wide
    assert not check("2.4", lambda n, k, p, s, d: (n - (d * (k - 1) + 1) + p + s) // s)  # total p
    # the checker agrees with the shapes module it is built on
    assert conv_output_shape(10, 3, stride=2, padding=2, dilation=2).height == 5
