"""Scenes, live explorers (driven headless, as in CI) and static animations."""

from __future__ import annotations

import re

import pytest
import torch

from cnnbook.animate import animation_html
from cnnbook.conv import conv2d
from cnnbook.draw import SlidingWindowScene
from cnnbook.kernels import kernel, kernel_names
from cnnbook.widgets import sliding_window_explorer


def test_scene_draws_the_ops_output() -> None:
    X = torch.arange(9.0).reshape(3, 3)
    scene = SlidingWindowScene(X, kernel("example 2x2"))
    assert scene.n_steps == 4
    assert scene.Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]
    assert scene.equation(1) == "Y[0, 1] = 1×0 + 2×1 + 4×2 + 5×3 = 25"
    assert scene.window_cells(3) == [(1, 1), (1, 2), (2, 1), (2, 2)]


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (3, 0, 1),
                                                             (2, 2, 2), ((1, 2), (0, 1), 1)])
def test_scene_windows_agree_with_conv2d(stride, padding, dilation) -> None:
    torch.manual_seed(0)
    X, K = torch.randn(7, 8), torch.randn(3, 2)
    scene = SlidingWindowScene(X, K, stride=stride, padding=padding, dilation=dilation)
    expected = conv2d(X[None, None], K[None, None], stride=stride, padding=padding,
                      dilation=dilation)[0, 0]
    torch.testing.assert_close(scene.Y, expected)
    for step in range(scene.n_steps):
        cells = scene.window_cells(step)
        value = sum(scene.padded[i, j] * k for (i, j), k in zip(cells, K.flatten(), strict=False))
        torch.testing.assert_close(value, scene.Y.flatten()[step])


def test_scene_marks_dropped_rows_and_columns() -> None:
    scene = SlidingWindowScene(torch.zeros(8, 8), torch.ones(3, 3), stride=3)
    covered = scene.covered()
    # Windows start at 0 and 3 and span 3: rows/columns 6 and 7 are never read.
    assert covered[:6, :6].all() and not covered[6:].any() and not covered[:, 6:].any()
    dilated = SlidingWindowScene(torch.zeros(5, 5), torch.ones(2, 2), dilation=2)
    assert dilated.covered().all()  # holes between taps are read by the next window


def test_scene_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match="2-D input and a 2-D kernel"):
        SlidingWindowScene(torch.zeros(1, 3, 3), torch.zeros(2, 2))


def test_explorer_default_values_and_controls() -> None:
    explorer = sliding_window_explorer()
    assert explorer.scene.n_steps == 16 and explorer.step.max == 15
    first = explorer.image.value
    assert bytes(first).startswith(b"\x89PNG")
    explorer.step.value = 5
    assert explorer.image.value != first
    explorer.controls["stride"].value = 2
    assert explorer.step.max == explorer.scene.n_steps - 1 == 3
    for name in kernel_names():
        explorer.controls["kernel_name"].value = name
        assert explorer.message.value == "" or "larger than" in explorer.message.value


def test_explorer_reports_impossible_combinations() -> None:
    explorer = sliding_window_explorer(torch.arange(4.0).reshape(2, 2))
    explorer.controls["kernel_name"].value = "sobel x"
    assert "larger than the padded input" in explorer.message.value
    assert explorer.image.layout.visibility == "hidden"
    explorer.controls["padding"].value = 1
    assert explorer.message.value == "" and explorer.image.layout.visibility == "visible"


def test_explorer_redraw_is_interactive() -> None:
    explorer = sliding_window_explorer()
    explorer.render_ms.clear()
    for step in range(16):
        explorer.step.value = step
    # The target is 100 ms (measured by benchmarks/bench_widgets.py); a loaded CI machine gets
    # slack here so that the test checks interactivity, not the machine's load.
    assert explorer.median_render_ms() < 400


def test_animation_has_one_distinct_frame_per_step() -> None:
    scene = SlidingWindowScene(torch.arange(9.0).reshape(3, 3), kernel("example 2x2"))
    html = animation_html(scene)
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(frames) == 4
    assert len(set(frames)) == 4


def test_caption_reports_shape_and_dropped_rows() -> None:
    scene = SlidingWindowScene(torch.zeros(8, 8), torch.ones(3, 3), stride=3)
    assert scene.caption().endswith("output 2×2 (drops 2 row(s), 2 column(s))")
    assert "dilation 2" in SlidingWindowScene(torch.zeros(5, 5), torch.ones(2, 2),
                                              dilation=2).caption()


def test_explorer_size_and_dilation_controls() -> None:
    explorer = sliding_window_explorer()
    explorer.controls["size"].value = 8
    explorer.controls["kernel_name"].value = "sobel x"
    explorer.controls["dilation"].value = 2
    assert tuple(explorer.scene.Y.shape) == (4, 4)  # 8 - 2 * (3 - 1) = 4
    explorer.controls["dilation"].value = 3
    explorer.controls["size"].value = 5
    assert "larger than the padded input" in explorer.message.value
