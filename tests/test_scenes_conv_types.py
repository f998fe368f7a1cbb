"""Convolution types: dilated receptive fields, the transposed-convolution scene, explorer."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnbook.animate import animation_html
from cnnbook.conv import dilated_stack_paths
from cnnbook.draw import TransposedConvScene, figure_png, receptive_field_figure
from cnnbook.shapes import LayerSpec, receptive_field
from cnnbook.widgets import transposed_conv_explorer

#: The original article's 2x2 example, used as both input and kernel.
EXAMPLE = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def paths_1d(rates: list[int], k: int) -> np.ndarray:
    """Path counts along one axis, independently: convolve each layer's tap indicator."""
    counts = np.array([1])
    for d in rates:
        taps = np.zeros(d * (k - 1) + 1, dtype=np.int64)
        taps[::d] = 1
        counts = np.convolve(counts, taps)
    return counts


def test_gridding_holes_for_equal_rates_and_none_for_mixed() -> None:
    equal, mixed = dilated_stack_paths((2, 2, 2)), dilated_stack_paths((1, 2, 3))
    assert equal.shape == mixed.shape == (13, 13)
    # Offsets are sums of multiples of 2: every odd row and column is a hole.
    assert (equal[1::2] == 0).all() and (equal[:, 1::2] == 0).all()
    assert (equal[::2, ::2] > 0).all() and int((equal > 0).sum()) == 49
    assert (mixed > 0).all()
    assert int(equal[6, 6]) == 49  # 7 ways per axis to sum three taps of {-1, 0, 1} to 0
    assert int(equal.sum()) == 27**2 == int(mixed.sum())  # every chain of taps is one path


@pytest.mark.parametrize("seed", range(8))
def test_paths_agree_with_receptive_field_and_1d_counts(seed: int) -> None:
    rng = random.Random(seed)
    k = rng.choice([2, 3, 5])
    rates = [rng.randint(1, 4) for _ in range(rng.randint(1, 4))]
    counts = dilated_stack_paths(rates, k)
    field = receptive_field([LayerSpec(k, dilation=d) for d in rates])[-1]
    assert counts.shape == field.size
    line = paths_1d(rates, k)
    np.testing.assert_array_equal(counts.numpy(), np.outer(line, line))
    # Independent brute force: PyTorch's conv with random positive weights reads the same pixels.
    generator = torch.Generator().manual_seed(seed)
    x = torch.zeros(1, 1, *counts.shape, requires_grad=True)
    y = x
    for d in rates:
        y = F.conv2d(y, torch.rand(1, 1, k, k, generator=generator) + 0.1, dilation=d)
    y.sum().backward()
    assert torch.equal(x.grad[0, 0] > 0, counts > 0)


def test_dilated_stack_paths_errors() -> None:
    with pytest.raises(ValueError, match="dilations is empty"):
        dilated_stack_paths(())
    with pytest.raises(ValueError, match=r"dilations\[1\] must be a positive int"):
        dilated_stack_paths((1, 0))
    with pytest.raises(ValueError, match="kernel_size must be a positive int"):
        dilated_stack_paths((1,), kernel_size=0)


def test_receptive_field_figure_renders() -> None:
    fig = receptive_field_figure(((2, 2, 2), (1, 2, 3), (1, 2, 5)))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "rates (2, 2, 2): 13×13 field, 49 of 169 pixels read" in texts
    assert "rates (1, 2, 5): 17×17 field, 289 of 289 pixels read" in texts
    assert figure_png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="dilation_sets is empty"):
        receptive_field_figure(())


def test_transposed_scene_original_article_examples() -> None:
    cases = [(1, 0, [[0, 0, 1], [0, 4, 6], [4, 12, 9]]), (1, 1, [[4]]),
             (2, 0, [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]])]
    for stride, padding, expected in cases:
        scene = TransposedConvScene(EXAMPLE, EXAMPLE, stride=stride, padding=padding)
        assert scene.n_steps == 4 and scene.Y.tolist() == expected
    scene = TransposedConvScene(EXAMPLE, EXAMPLE, stride=2)
    assert scene.equation(2) == ("X[1, 0] = 2: adds 2·K = [[0, 2], [4, 6]] at rows 2–3, "
                                 "columns 0–1")
    assert scene.caption().endswith("stride 2, padding 0  →  output 4×4")
    cropped = TransposedConvScene(EXAMPLE, EXAMPLE, padding=1)
    assert "the 3×3 sum, border of 1 cropped" in cropped.caption()


@pytest.mark.parametrize("seed", range(8))
def test_transposed_scene_steps_add_up_to_pytorch(seed: int) -> None:
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(rng.randint(1, 4), rng.randint(1, 4), generator=generator)
    K = torch.randn(rng.randint(1, 3), rng.randint(1, 3), generator=generator)
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    full_h = (X.shape[0] - 1) * stride[0] + K.shape[0]
    full_w = (X.shape[1] - 1) * stride[1] + K.shape[1]
    padding = (rng.randint(0, (full_h - 1) // 2), rng.randint(0, (full_w - 1) // 2))
    scene = TransposedConvScene(X, K, stride=stride, padding=padding)
    expected = F.conv_transpose2d(X[None, None], K[None, None], stride=stride, padding=padding)
    torch.testing.assert_close(scene.Y, expected[0, 0])
    uncropped = F.conv_transpose2d(X[None, None], K[None, None], stride=stride)[0, 0]
    torch.testing.assert_close(scene.full, uncropped)
    kh, kw = K.shape
    previous = torch.zeros_like(scene.full)
    for step in range(scene.n_steps):
        # Each step adds exactly X[i, j] * K at its block, and nothing elsewhere.
        i, j = scene.element(step)
        top, left = scene.block(step)
        added = torch.zeros_like(scene.full)
        added[top : top + kh, left : left + kw] = X[i, j] * K
        current = scene.partial(step)
        torch.testing.assert_close(current - previous, added)
        previous = current
        assert scene.reached(step)[top : top + kh, left : left + kw].all()
    torch.testing.assert_close(previous, scene.full)
    ph, pw = padding
    torch.testing.assert_close(scene.full[ph : full_h - ph, pw : full_w - pw], scene.Y)


def test_transposed_scene_errors() -> None:
    with pytest.raises(ValueError, match="2-D input and a 2-D kernel"):
        TransposedConvScene(torch.zeros(1, 2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="removes every row or column"):
        TransposedConvScene(EXAMPLE, EXAMPLE, padding=2)
    with pytest.raises(ValueError, match="stride must be"):
        TransposedConvScene(EXAMPLE, EXAMPLE, stride=0)


def test_transposed_explorer_default_and_controls() -> None:
    explorer = transposed_conv_explorer()
    assert explorer.scene.Y.tolist() == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
    assert explorer.step.max == 3
    first = explorer.image.value
    assert bytes(first).startswith(b"\x89PNG")
    explorer.step.value = 2
    assert explorer.image.value != first
    explorer.controls["stride"].value = 2
    assert explorer.scene.Y.tolist() == [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]
    explorer.controls["padding"].value = 1
    assert tuple(explorer.scene.Y.shape) == (2, 2)
    explorer.controls["size"].value = 4
    assert explorer.step.max == 15 and tuple(explorer.scene.Y.shape) == (6, 6)


def test_transposed_explorer_reports_impossible_combinations() -> None:
    explorer = transposed_conv_explorer()
    explorer.controls["padding"].value = 2
    assert "removes every row or column" in explorer.message.value
    assert explorer.image.layout.display == "none"
    explorer.controls["size"].value = 3  # a 4x4 sum: cropping 2 from each side still empties it
    assert "removes every row or column" in explorer.message.value
    explorer.controls["size"].value = 4  # a 5x5 sum: its centre is kept
    assert explorer.message.value == "" and explorer.image.layout.display != "none"
    # Centre of the sum: X[2, 2] K[0, 0] + X[2, 1] K[0, 1] + X[1, 2] K[1, 0] + X[1, 1] K[1, 1].
    assert explorer.scene.Y.tolist() == [[10 * 0 + 9 * 1 + 6 * 2 + 5 * 3]]


def test_transposed_animation_has_one_distinct_frame_per_step() -> None:
    html = animation_html(TransposedConvScene(EXAMPLE, EXAMPLE, stride=2))
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(frames) == 4 and len(set(frames)) == 4
