"""The sliding-window scene, what every window scene shares, the explorer and animation."""

from __future__ import annotations

import random
import re
import time

import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from cnnbook.animate import animation_html
from cnnbook.conv import conv2d
from cnnbook.draw import (
    COLORS,
    MultiChannelScene,
    PoolingWindowScene,
    SlidingWindowScene,
    WindowScene,
)
from cnnbook.examples import counting_input, kernel, kernel_names
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
    covered = ~scene.unread_cells()
    # Windows start at 0 and 3 and span 3: rows/columns 6 and 7 are never read.
    assert covered[:6, :6].all() and not covered[6:].any() and not covered[:, 6:].any()
    dilated = SlidingWindowScene(torch.zeros(5, 5), torch.ones(2, 2), dilation=2)
    assert (~dilated.unread_cells()).all()  # holes between taps are read by the next window


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
    assert explorer.image.layout.display == "none"
    explorer.controls["padding"].value = 1
    assert explorer.message.value == "" and explorer.image.layout.display != "none"


def test_explorer_redraw_is_interactive() -> None:
    explorer = sliding_window_explorer()
    explorer.render_ms.clear()
    for step in range(16):
        explorer.step.value = step
    # The target is 100 ms (measured by benchmarks/bench_widgets.py); a loaded CI machine gets
    # slack here so that the test checks interactivity, not the machine's load.
    assert explorer.median_render_ms() < 400


def test_explorer_pictures_drawn_ahead_are_the_right_ones() -> None:
    """The pictures drawn in the background (the neighbouring steps) and kept are exactly the
    scene's, also after the controls change scene (the kept pictures are per scene)."""
    explorer = sliding_window_explorer()
    for stride in (1, 2, 1):
        explorer.controls["stride"].value = stride
        for step in (1, 2, 3, 2, 1, 0, 3):
            explorer.step.value = step
            time.sleep(0.05)  # let the background thread run between moves
            assert explorer.image.value == explorer.scene.png(step), (stride, step)
    assert len(explorer._pictures) <= explorer.kept_pictures


def test_animation_has_one_distinct_frame_per_step() -> None:
    scene = SlidingWindowScene(torch.arange(9.0).reshape(3, 3), kernel("example 2x2"))
    html = animation_html(scene)
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(frames) == 4
    assert len(set(frames)) == 4


def test_caption_reports_shape_and_dropped_rows() -> None:
    scene = SlidingWindowScene(torch.zeros(8, 8), torch.ones(3, 3), stride=3)
    assert scene.caption().endswith(
        "output 2×2; never reads rows 6, 7 and columns 6, 7 (2 trailing rows, 2 trailing columns)")
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


# What every window scene shares: its grey cells are the input cells that no window reads.
def never_read_by_brute_force(scene: WindowScene) -> set[tuple[int, int]]:
    """Padded coordinates of the input cells that no window's taps touch, over every step."""
    read = {cell for step in range(scene.n_steps) for cell in scene.window_cells(step)}
    (h, w), (ph, pw) = scene.input_hw, scene.padding
    return {(ph + i, pw + j) for i in range(h) for j in range(w)} - read


def grey_cells_drawn(scene: WindowScene) -> set[tuple[int, int]]:
    """The cells of the (first) input grid that the picture fills dark grey."""
    H, W = scene.padded.shape[-2:]
    cells = scene.figure(0).axes[0].patches[: H * W]  # draw_grid draws the input first
    grey = to_rgba(COLORS["dropped"])
    return {divmod(k, W) for k, cell in enumerate(cells) if cell.get_facecolor() == grey}


def random_window_scene(kind: str, rng: random.Random) -> WindowScene:
    """A scene of ``kind`` on a random geometry that fits (strides larger than kernels too)."""
    while True:
        h, w = rng.randint(1, 9), rng.randint(1, 9)
        k = (rng.randint(1, 3), rng.randint(1, 3))
        s = (rng.randint(1, 4), rng.randint(1, 4))
        try:
            if kind == "pooling":
                p = (rng.randint(0, k[0] // 2), rng.randint(0, k[1] // 2))
                return PoolingWindowScene(torch.randn(h, w), k, mode=rng.choice(["max", "avg"]),
                                          stride=s, padding=p)
            p = (rng.randint(0, 2), rng.randint(0, 2))
            if kind == "sliding":
                d = (rng.randint(1, 3), rng.randint(1, 3))
                return SlidingWindowScene(torch.randn(h, w), torch.randn(*k), stride=s,
                                          padding=p, dilation=d)
            c_i = rng.randint(1, 2)
            return MultiChannelScene(torch.randn(c_i, h, w), torch.randn(2, c_i, *k), stride=s,
                                     padding=p)
        except ValueError:  # the window does not fit the padded input: draw again
            continue


@pytest.mark.parametrize("kind", ["sliding", "pooling", "multi-channel"])
def test_grey_cells_are_the_input_cells_no_window_reads(kind: str) -> None:
    rng = random.Random(kind)
    for _ in range(12):
        scene = random_window_scene(kind, rng)
        never_read = never_read_by_brute_force(scene)
        assert set(zip(*np.nonzero(scene.unread_cells()), strict=True)) == never_read
        assert grey_cells_drawn(scene) == never_read
        if never_read:
            assert "; never reads " in scene.caption()
        else:
            assert "never reads" not in scene.caption()


def test_trailing_padding_is_not_grey() -> None:
    # Bug report: with a 2×2 kernel, padding 1 and stride 2 the caption reported no drop, yet
    # the trailing padding row and column were dark grey.
    for size in (3, 5):
        scene = SlidingWindowScene(counting_input(size), kernel("example 2x2"), padding=1,
                                   stride=2)
        n = size // 2 + 1  # (size + 2 - 2) // 2 + 1
        assert scene.caption().endswith(f"→  output {n}×{n}")
        assert not scene.unread_cells().any() and not grey_cells_drawn(scene)
        colors = scene.input_colors()
        assert (colors[-1] == COLORS["padding"]).all()
        assert (colors[:, -1] == COLORS["padding"]).all()


def test_rows_a_stride_skips_are_grey_and_padding_is_not() -> None:
    # Bug report: input 9×9, kernel 1×2, padding 1, stride 2, dilation 3: the picture greyed the
    # right-hand padding column and left the unread input rows unshaded.
    scene = SlidingWindowScene(torch.zeros(9, 9), torch.ones(1, 2), padding=1, stride=2,
                               dilation=3)
    assert scene.caption().endswith(
        "output 6×4; never reads rows 0, 2, 4, 6, 8 and columns 0, 7 (1 trailing row)")
    expected = {(1 + i, 1 + j) for i in range(9) for j in range(9)
                if i in (0, 2, 4, 6, 8) or j in (0, 7)}
    assert grey_cells_drawn(scene) == expected == never_read_by_brute_force(scene)
    colors = scene.input_colors()
    assert (colors[:, 10] == COLORS["padding"]).all()


def test_caption_shortens_long_lists_of_unread_rows() -> None:
    scene = SlidingWindowScene(torch.zeros(28, 3), torch.ones(1, 1), stride=(2, 1))
    assert scene.shape.unread_rows == tuple(range(1, 28, 2))
    assert scene.caption().endswith("never reads rows 1, 3, 5, 7, 9, …, 25, 27 (1 trailing row)")
