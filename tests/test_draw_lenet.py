"""LeNet's figures: the confusion matrix and the comparison curves draw the numbers given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnbook.data import CLASS_NAMES
from cnnbook.draw import confusion_matrix_figure, curves_figure, figure_png


def confusion_from(labels: torch.Tensor, predicted: torch.Tensor, k: int) -> torch.Tensor:
    """Reference confusion matrix by explicit loops (independent of the notebook's bincount)."""
    matrix = torch.zeros(k, k, dtype=torch.int64)
    for t, p in zip(labels.tolist(), predicted.tolist(), strict=True):
        matrix[t, p] += 1
    return matrix


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_cells_show_counts_and_row_shares(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    k = int(torch.randint(2, 11, (), generator=g))
    n = int(torch.randint(1, 400, (), generator=g))
    labels = torch.randint(0, k, (n,), generator=g)
    # Mostly right, sometimes wrong: a realistic, non-uniform matrix.
    noise = torch.randint(0, k, (n,), generator=g)
    predicted = torch.where(torch.rand(n, generator=g) < 0.7, labels, noise)
    matrix = confusion_from(labels, predicted, k)
    assert torch.equal(matrix, torch.bincount(labels * k + predicted, minlength=k * k).view(k, k))
    names = [f"class {i}" for i in range(k)]
    fig = confusion_matrix_figure(matrix, names, title="test")
    ax = fig.axes[0]
    texts = [int(t.get_text()) for t in ax.texts]
    assert texts == matrix.flatten().tolist()
    totals = matrix.sum(1, keepdim=True).double()
    share = torch.where(totals > 0, matrix / totals.clamp(min=1), torch.zeros(()))
    np.testing.assert_allclose(ax.images[0].get_array(), share.numpy())
    recall = [share[i, i].item() for i in range(k)]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [f"{name} ({r:.0%})" for name, r in zip(names, recall, strict=True)]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert figure_png(fig).startswith(b"\x89PNG")


def test_confusion_matrix_with_fashion_mnist_names_and_an_empty_class() -> None:
    matrix = np.zeros((10, 10), dtype=np.int64)
    matrix[0, 0], matrix[0, 6], matrix[6, 0] = 8, 2, 5  # class 6 is all wrong, others empty
    fig = confusion_matrix_figure(matrix, CLASS_NAMES)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[0] == "T-shirt/top (80%)"
    assert ticks[6] == "Shirt (0%)" and ticks[1] == "Trouser (0%)"


def test_confusion_matrix_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"square .*shape \(2, 3\)"):
        confusion_matrix_figure(torch.zeros(2, 3), ["a", "b"])
    with pytest.raises(ValueError, match="has 3 names but the matrix has 2 classes"):
        confusion_matrix_figure(torch.zeros(2, 2), ["a", "b", "c"])
    with pytest.raises(ValueError, match="non-negative integer counts"):
        confusion_matrix_figure(torch.tensor([[1, -1], [0, 2]]), ["a", "b"])
    with pytest.raises(ValueError, match="non-negative integer counts"):
        confusion_matrix_figure(torch.tensor([[1.5, 0.0], [0.0, 2.0]]), ["a", "b"])


@pytest.mark.parametrize("seed", range(3))
def test_curves_figure_draws_each_series(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    series = {
        f"run {i}": torch.rand(int(torch.randint(1, 8, (), generator=g)), generator=g).tolist()
        for i in range(int(torch.randint(1, 6, (), generator=g)))
    }
    fig = curves_figure(series, ylim=(0, 1), title="t")
    ax = fig.axes[0]
    assert len(ax.lines) == len(series)
    for line, (name, values) in zip(ax.lines, series.items(), strict=True):
        assert line.get_label() == name
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, len(values) + 1))
        np.testing.assert_allclose(line.get_ydata(), values)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(series)
    assert ax.get_ylim() == (0, 1)


def test_curves_figure_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="series is empty"):
        curves_figure({})
    with pytest.raises(ValueError, match="series 'a' has no values"):
        curves_figure({"a": []})
