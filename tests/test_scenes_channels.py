"""The multi-channel scene, its explorer (driven headless), the figure of shaded counts."""

from __future__ import annotations

import random
import re

import pytest
import torch

from cnnbook.animate import animation_html
from cnnbook.conv import corr2d, corr2d_multi_in_out
from cnnbook.draw import MultiChannelScene, figure_png, shaded_grids_figure
from cnnbook.examples import channel_example
from cnnbook.widgets import multi_channel_explorer


def test_channel_example_is_the_original_articles() -> None:
    X, K = channel_example()
    assert X.shape == (2, 3, 3) and K.shape == (3, 2, 2, 2)
    assert X[0].flatten().tolist() == list(range(9))
    assert X[1].flatten().tolist() == list(range(1, 10))
    assert K[0, 0].flatten().tolist() == [0, 1, 2, 3] and K[0, 1].flatten().tolist() == [1, 2, 3, 4]
    torch.testing.assert_close(K[2], K[0] + 2)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        channel_example(3, 0, 1)
    with pytest.raises(ValueError, match="at least 2"):
        channel_example(1)


def test_scene_original_article_example_numbers() -> None:
    X, K = channel_example()
    scene = MultiChannelScene(X, K)
    assert scene.n_steps == 12
    assert scene.Y.tolist() == [[[56, 72], [104, 120]], [[76, 100], [148, 172]],
                                [[96, 128], [192, 224]]]
    assert scene.equation(0) == "Y[0, 0, 0] = 19 + 37 = 56"
    assert scene.channel_equation(0, 0) == "0×0 + 1×1 + 3×2 + 4×3 = 19"
    assert scene.channel_equation(0, 1) == "1×1 + 2×2 + 4×3 + 5×4 = 37"
    assert scene.position(5) == (1, 0, 1)
    assert scene.caption().endswith("→  output 3×2×2")
    single = MultiChannelScene(X, K[0])  # (c_i, k_h, k_w): one output channel
    assert single.Y.tolist() == [[[56, 72], [104, 120]]] and single.n_steps == 4


@pytest.mark.parametrize("seed", range(6))
def test_scene_agrees_with_the_ops_and_pytorch(seed: int) -> None:
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    c_i, c_o = rng.randint(1, 3), rng.randint(1, 3)
    k = (rng.randint(1, 3), rng.randint(1, 3))
    s, p = (rng.randint(1, 3), rng.randint(1, 3)), (rng.randint(0, 2), rng.randint(0, 2))
    X = torch.randn(c_i, rng.randint(3, 6), rng.randint(3, 6), generator=generator)
    K = torch.randn(c_o, c_i, *k, generator=generator)
    bias = torch.randn(c_o, generator=generator)
    scene = MultiChannelScene(X, K, bias, stride=s, padding=p)
    layer = torch.nn.Conv2d(c_i, c_o, k, stride=s, padding=p)
    with torch.no_grad():
        layer.weight.copy_(K)
        layer.bias.copy_(bias)
        expected = layer(X[None])[0]
    torch.testing.assert_close(scene.Y, expected)
    # The parts add up to the output, and each is one channel's own cross-correlation.
    torch.testing.assert_close(scene.parts.sum(1) + bias[:, None, None], scene.Y)
    padded = torch.nn.functional.pad(X, (p[1], p[1], p[0], p[0]))
    for o in range(c_o):
        for c in range(c_i):
            full = corr2d(padded[c], K[o, c])
            torch.testing.assert_close(scene.parts[o, c], full[:: s[0], :: s[1]])
    for step in range(scene.n_steps):
        o, i, j = scene.position(step)
        cells = scene.window_cells(step)
        for c in range(c_i):
            value = sum(padded[c, r, q] * w for (r, q), w in zip(cells, K[o, c].flatten(),
                                                                  strict=True))
            torch.testing.assert_close(value, scene.parts[o, c, i, j])


def test_scene_matches_corr2d_multi_in_out_and_walks_one_channel() -> None:
    X, K = channel_example(4, 3, 3)
    scene = MultiChannelScene(X, K, out_channel=2)
    torch.testing.assert_close(scene.Y, corr2d_multi_in_out(X, K))
    assert scene.n_steps == 9
    assert [scene.position(t)[0] for t in range(scene.n_steps)] == [2] * 9
    assert scene.position(4) == (2, 1, 1)


def test_scene_bias_in_equation() -> None:
    X, K = channel_example(out_channels=2)
    scene = MultiChannelScene(X, K, torch.tensor([0.5, -1.0]))
    assert scene.equation(4) == "Y[1, 0, 0] = 27 + 49 + bias -1 = 75"


def test_scene_errors() -> None:
    X, K = channel_example()
    with pytest.raises(ValueError, match=r"\(channels, height, width\)"):
        MultiChannelScene(X[0], K)
    with pytest.raises(ValueError, match=r"K must have shape"):
        MultiChannelScene(X, K[0, 0])
    with pytest.raises(ValueError, match="X has 2 channels but each kernel has 3"):
        MultiChannelScene(X, torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="output channel 3 does not exist"):
        MultiChannelScene(X, K, out_channel=3)
    with pytest.raises(ValueError, match="larger than the padded input"):
        MultiChannelScene(X, torch.zeros(1, 2, 4, 4))


def test_scene_frames_differ_and_animate() -> None:
    X, K = channel_example()
    scene = MultiChannelScene(X, K)
    assert scene.png(0) != scene.png(1)
    html = animation_html(scene, range(0, 12, 3))
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(frames) == 4 and len(set(frames)) == 4


def test_explorer_defaults_and_every_control() -> None:
    explorer = multi_channel_explorer()
    X, K = channel_example()
    torch.testing.assert_close(explorer.scene.Y, corr2d_multi_in_out(X, K))
    assert explorer.step.max == 11 and bytes(explorer.image.value).startswith(b"\x89PNG")
    first = explorer.image.value
    explorer.step.value = 7
    assert explorer.image.value != first
    explorer.controls["watch"].value = "1"
    assert explorer.scene.n_steps == 4 and explorer.step.max == 3
    explorer.controls["size"].value = 5
    assert explorer.scene.Y.shape == (3, 4, 4)
    explorer.controls["in_channels"].value = 3
    assert explorer.scene.X.shape == (3, 5, 5)
    explorer.controls["padding"].value = 1
    explorer.controls["stride"].value = 2
    assert explorer.scene.Y.shape == (3, 3, 3) and explorer.message.value == ""
    explorer.controls["out_channels"].value = 1
    assert "output channel 1 does not exist" in explorer.message.value
    assert explorer.image.layout.display == "none"
    explorer.controls["watch"].value = "all"
    assert explorer.message.value == "" and explorer.scene.Y.shape == (1, 3, 3)


def test_explorer_smallest_input_has_one_window() -> None:
    explorer = multi_channel_explorer()
    explorer.controls["size"].value = 2
    explorer.controls["stride"].value = 3
    assert explorer.message.value == ""  # 2x2 input, 2x2 kernel: one window
    assert explorer.scene.Y.shape == (3, 1, 1)


def test_shaded_grids_figure() -> None:
    counts = torch.zeros(5, 5)
    for i in range(3):
        for j in range(3):
            counts[i : i + 3, j : j + 3] += 1
    fig = shaded_grids_figure([counts, counts.T], ["a", "b"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("9") == 2 and texts.count("1") == 8 and "a" in texts
    assert figure_png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="one title per grid"):
        shaded_grids_figure([counts], ["a", "b"])
    with pytest.raises(ValueError, match="must be 2-D"):
        shaded_grids_figure([torch.zeros(2, 2, 2)], ["a"])
