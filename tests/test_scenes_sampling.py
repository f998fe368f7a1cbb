"""Pooling and interpolation scenes, their explorers (driven headless) and animations."""

from __future__ import annotations

import random
import re

import pytest
import torch
import torch.nn.functional as F

from cnnbook.animate import animation_html
from cnnbook.draw import InterpolationScene, PoolingWindowScene, align_corners_figure, figure_png
from cnnbook.examples import interpolation_path, interpolation_samples
from cnnbook.widgets import interpolation_explorer, pooling_explorer


def test_pooling_scene_original_article_example() -> None:
    X = torch.arange(16.0).reshape(4, 4)
    scene = PoolingWindowScene(X, 2)
    assert scene.n_steps == 4 and scene.Y.tolist() == [[5, 7], [13, 15]]
    assert scene.equation(0) == "Y[0, 0] = max(0, 1, 4, 5) = 5"
    assert scene.winner(3) == (3, 3)
    avg = PoolingWindowScene(X, 2, mode="avg")
    assert avg.Y.tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert avg.equation(1) == "Y[0, 1] = (2 + 3 + 6 + 7) / 4 = 4.5"
    assert avg.winner(0) is None
    padded = PoolingWindowScene(X, 3, padding=1, stride=2)
    assert padded.Y.tolist() == [[5, 7], [13, 15]]
    assert padded.equation(0) == "Y[0, 0] = max(−∞, −∞, −∞, −∞, 0, 1, −∞, 4, 5) = 5"
    assert padded.caption().endswith("padding 1, stride 2  →  output 2×2")


@pytest.mark.parametrize("seed", range(6))
def test_pooling_scene_agrees_with_pytorch(seed: int) -> None:
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    k = (rng.randint(1, 3), rng.randint(1, 3))
    s = (rng.randint(1, 3), rng.randint(1, 3))
    p = (rng.randint(0, k[0] // 2), rng.randint(0, k[1] // 2))
    X = torch.randn(rng.randint(3, 7), rng.randint(3, 7), generator=generator)
    for mode in ("max", "avg"):
        scene = PoolingWindowScene(X, k, mode=mode, stride=s, padding=p)
        layer = (torch.nn.MaxPool2d(k, s, p) if mode == "max" else torch.nn.AvgPool2d(k, s, p))
        torch.testing.assert_close(scene.Y, layer(X[None, None])[0, 0])
        for step in range(scene.n_steps):
            window = scene.window_values(step)
            expected = window.max() if mode == "max" else window.sum() / window.numel()
            torch.testing.assert_close(scene.Y.flatten()[step], expected)
            if mode == "max":
                # The marked winner lies in the window and holds the window's maximum.
                i, j = scene.winner(step)
                top, left = scene.window(step)
                assert top <= i < top + k[0] and left <= j < left + k[1]
                assert scene.padded[i, j] == scene.Y.flatten()[step]


def test_pooling_scene_marks_dropped_cells_and_padding() -> None:
    scene = PoolingWindowScene(torch.zeros(5, 5), 2)
    covered = ~scene.unread_cells()
    assert covered[:4, :4].all() and not covered[4].any() and not covered[:, 4].any()
    assert "never reads row 4 and column 4 (1 trailing row, 1 trailing column)" in scene.caption()
    maxed = PoolingWindowScene(torch.zeros(3, 3), 3, padding=1, stride=1)
    assert torch.isneginf(maxed.padded[0]).all() and maxed.padded[1, 1] == 0
    avg = PoolingWindowScene(torch.ones(3, 3), 3, padding=1, stride=1, mode="avg")
    assert avg.padded[0].eq(0).all() and avg.Y[0, 0] == 4 / 9  # zeros count in the divisor


def test_pooling_scene_errors() -> None:
    with pytest.raises(ValueError, match="2-D input"):
        PoolingWindowScene(torch.zeros(1, 4, 4), 2)
    with pytest.raises(ValueError, match="more than half the window"):
        PoolingWindowScene(torch.zeros(4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="mode must be"):
        PoolingWindowScene(torch.zeros(4, 4), 2, mode="min")


def test_pooling_scene_frames_differ() -> None:
    scene = PoolingWindowScene(torch.arange(16.0).reshape(4, 4), 2)
    html = animation_html(scene)
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(frames) == 4 and len(set(frames)) == 4


def test_pooling_explorer_defaults_and_controls() -> None:
    explorer = pooling_explorer()
    assert explorer.scene.Y.tolist() == [[5, 7], [13, 15]]
    first = explorer.image.value
    assert bytes(first).startswith(b"\x89PNG")
    explorer.step.value = 3
    assert explorer.image.value != first
    explorer.controls["mode"].value = "avg"
    assert explorer.scene.Y.tolist() == [[2.5, 4.5], [10.5, 12.5]]
    explorer.controls["window"].value = 3
    explorer.controls["padding"].value = 1
    explorer.controls["mode"].value = "max"
    assert explorer.scene.Y.tolist() == [[5, 7], [13, 15]]  # MaxPool2d(3, padding=1, stride=2)
    explorer.controls["stride"].value = 1
    assert explorer.step.max == explorer.scene.n_steps - 1 == 15
    explorer.controls["size"].value = 6
    assert tuple(explorer.scene.X.shape) == (6, 6)


def test_pooling_explorer_reports_impossible_combinations() -> None:
    explorer = pooling_explorer(torch.arange(4.0).reshape(2, 2))
    explorer.controls["padding"].value = 2
    assert "more than half the window" in explorer.message.value
    assert explorer.image.layout.display == "none"
    explorer.controls["window"].value = 4
    explorer.controls["padding"].value = 0
    assert "larger than the padded input" in explorer.message.value
    explorer.controls["padding"].value = 1
    assert explorer.message.value == "" and explorer.image.layout.display != "none"


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_interpolation_scene_weights_and_values(ndim: int) -> None:
    samples = interpolation_samples(ndim)
    path = interpolation_path(ndim, n=8)
    scene = InterpolationScene(samples, path)
    assert scene.n_steps == 8 and scene.mode == ("linear", "bilinear", "trilinear")[ndim - 1]
    size = (4 - 1) * 20 + 1
    mode = scene.mode
    # F.interpolate with align_corners=True on a 61-sample axis reads the samples at the
    # positions k / 20: the scene's values at those positions must agree with it.
    fine = F.interpolate(samples[None, None], size=(size,) * ndim, mode=mode,
                         align_corners=True)[0, 0]
    for step in range(len(path)):
        weights = scene.weights(step)
        assert len(weights) == 2**ndim
        assert sum(w for _, w in weights) == pytest.approx(1.0)
        value = sum(w * float(samples[idx]) for idx, w in weights)
        assert scene.value(step) == pytest.approx(value, abs=1e-5)
    grid_path = [tuple(round(c * 20) / 20 for c in p) for p in path]
    grid_scene = InterpolationScene(samples, grid_path)
    for step, position in enumerate(grid_path):
        index = tuple(round(c * 20) for c in position)
        assert grid_scene.value(step) == pytest.approx(float(fine[index]), abs=1e-4)


def test_interpolation_scene_equation_and_frames() -> None:
    samples = torch.tensor([[0.0, 10.0], [20.0, 30.0]])
    scene = InterpolationScene(samples, [(0.5, 0.25), (0.0, 0.0)])
    assert scene.equation(0) == ("f(0.50, 0.25) = 0.38×0 + 0.12×10 + 0.38×20 + 0.12×30 = 12.500")
    assert scene.value(1) == 0.0
    for ndim in (1, 2, 3):
        scene = InterpolationScene(interpolation_samples(ndim), interpolation_path(ndim, n=3))
        html = animation_html(scene)
        frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
        assert len(frames) == 3 and len(set(frames)) == 3


def test_interpolation_scene_errors() -> None:
    with pytest.raises(ValueError, match="line .*grid .*volume"):
        InterpolationScene(torch.zeros(2, 2, 2, 2), [(0, 0, 0, 0)])
    with pytest.raises(ValueError, match="2 coordinate"):
        InterpolationScene(torch.zeros(3, 3), [(0.5,)])
    with pytest.raises(ValueError, match="at least one position"):
        InterpolationScene(torch.zeros(3), [])
    with pytest.raises(ValueError, match="outside the samples"):
        InterpolationScene(torch.zeros(3, 3), [(0.5, 2.5)])
    with pytest.raises(ValueError, match="ndim must be 1, 2 or 3"):
        interpolation_samples(4)
    with pytest.raises(ValueError, match="ndim must be 1, 2 or 3"):
        interpolation_path(0)


def test_interpolation_path_stays_inside() -> None:
    for ndim in (1, 2, 3):
        path = interpolation_path(ndim, size=4, n=25)
        assert len(path) == 25 and len(set(path)) == 25
        assert all(len(p) == ndim and all(0 <= c <= 3 for c in p) for p in path)


def test_interpolation_explorer_defaults_and_controls() -> None:
    explorer = interpolation_explorer()
    scene = explorer.scene
    assert scene.mode == "bilinear" and scene.path == [(1.3, 0.6)]
    first = explorer.image.value
    assert bytes(first).startswith(b"\x89PNG")
    explorer.controls["x"].value = 2.5
    assert explorer.scene.path == [(1.3, 2.5)] and explorer.image.value != first
    explorer.controls["mode"].value = "linear"
    assert explorer.scene.path == [(2.5,)] and len(explorer.scene.weights(0)) == 2
    explorer.controls["mode"].value = "trilinear"
    explorer.controls["z"].value = 0.25
    explorer.controls["y"].value = 2.0
    scene = explorer.scene
    assert scene.path == [(0.25, 2.0, 2.5)] and len(scene.weights(0)) == 8
    samples = interpolation_samples(3)
    expected = F.interpolate(samples[None, None], size=13, mode="trilinear",
                             align_corners=True)  # 13 samples per axis: positions k / 4
    assert scene.value(0) == pytest.approx(float(expected[0, 0, 1, 8, 10]), abs=1e-4)
    assert explorer.message.value == ""


def test_interpolation_explorer_shows_only_the_controls_that_act() -> None:
    explorer = interpolation_explorer()
    shown = lambda: {n for n, c in explorer.controls.items() if c.layout.display != "none"}  # noqa: E731
    assert shown() == {"mode", "x", "y"}
    explorer.controls["mode"].value = "linear"
    assert shown() == {"mode", "x"}
    explorer.controls["mode"].value = "trilinear"
    assert shown() == {"mode", "x", "y", "z"}
    # One point, one step: no step slider or play button that would do nothing.
    assert explorer.scene.n_steps == 1 and explorer.stepper.layout.display == "none"


def test_explorer_picture_keeps_its_drawn_size() -> None:
    explorer = interpolation_explorer()
    scene = explorer.scene
    assert explorer.image.layout.width == f"{round(scene.figsize[0] * scene.dpi)}px"
    assert explorer.image.layout.max_width == "100%"


def test_align_corners_figure_draws() -> None:
    png = figure_png(align_corners_figure(3, 7))
    assert png.startswith(b"\x89PNG")


@pytest.mark.parametrize("point", [(1.3, 1.3, 0.6), (0.2, 2.7, 2.9), (2.5, 0.4, 1.5)])
def test_trilinear_corner_labels_do_not_collide(point: tuple[float, float, float]) -> None:
    from matplotlib.text import Annotation

    scene = InterpolationScene(interpolation_samples(3), [point])
    fig = scene.figure(0)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [a for ax in fig.axes for a in ax.texts if isinstance(a, Annotation)]
    assert len(labels) == 8
    boxes = [label.get_window_extent(renderer) for label in labels]
    for a in range(8):
        for b in range(a + 1, 8):
            assert not boxes[a].overlaps(boxes[b]), (labels[a].get_text(), labels[b].get_text())
