"""The inside-the-network scene, its explorer and animation, and the probe figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from cnnbook.animate import animation_html
from cnnbook.draw import InsideScene, evidence_figure, kernels_figure, patches_figure
from cnnbook.draw.inside_scene import color_scale, mosaic
from cnnbook.examples import kernel
from cnnbook.models import lenet, lenet_modern
from cnnbook.probes import activation_after, kernel_similarity, top_patches
from cnnbook.widgets import inside_explorer

NAMES = [f"c{k}" for k in range(10)]


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Tiny tensors: one thread is faster on the shared machine."""


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(4, 1, 28, 28, generator=generator), torch.tensor([0, 3, 5, 9])


def test_mosaic_tiles_with_gaps() -> None:
    maps = torch.arange(2 * 3 * 3 * 1.0).reshape(3, 2, 3)
    picture = mosaic(maps, per_row=2)
    assert picture.shape == (2 * 3 - 1, 2 * 4 - 1)
    assert np.array_equal(picture[:2, :3], maps[0].numpy())
    assert np.array_equal(picture[3:5, 4:7], np.full((2, 3), np.nan), equal_nan=True)
    assert np.array_equal(picture[3:5, :3], maps[2].numpy())
    with pytest.raises(ValueError, match="C, h, w"):
        mosaic(torch.zeros(3, 3))


def test_color_scale() -> None:
    assert color_scale(torch.tensor([-2.0, 1.0])) == {"cmap": "RdBu_r", "vmin": -2.0, "vmax": 2.0}
    assert color_scale(torch.tensor([0.0, 3.0]))["cmap"] == "magma"


@pytest.mark.parametrize("make", [lenet, lenet_modern])
def test_scene_shows_every_layer_of_the_network(make, batch) -> None:
    torch.manual_seed(0)
    net = make()
    images, labels = batch
    scene = InsideScene(net, images, labels, NAMES, title="net")
    assert scene.n_steps == 4 and len(scene.layers) == len(net)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(scene.scores, net(images))
    fig = scene.figure(1)
    # The input, the scores, and one panel per layer, labelled with its output's shape.
    assert len(fig.axes) == 2 + len(net)
    labels_drawn = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(text.startswith("0 Conv2d: ") for text in labels_drawn)
    assert scene.caption(1).startswith("net: image 2 of 4, a c3; predicted: ")
    assert scene.png(0)[:4] == b"\x89PNG"


def test_scene_works_for_any_sequential() -> None:
    net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    scene = InsideScene(net, torch.rand(2, 3, 8, 8))
    assert scene.class_names == ["class 0", "class 1", "class 2"]
    assert len(scene.figure(0).axes) == 2 + 4


def test_scene_rejects_bad_input(batch) -> None:
    images, labels = batch
    with pytest.raises(ValueError, match="batch"):
        InsideScene(lenet(), images[0])
    with pytest.raises(ValueError, match="one entry per image"):
        InsideScene(lenet(), images, labels[:2])
    with pytest.raises(ValueError, match="class names"):
        InsideScene(lenet(), images, labels, NAMES[:3])
    with pytest.raises(ValueError, match="scores"):
        InsideScene(nn.Sequential(nn.Conv2d(1, 1, 3)), images)


def test_explorer_follows_its_controls() -> None:
    torch.manual_seed(0)
    images = torch.rand(30, 1, 28, 28)
    labels = torch.arange(30) % 10
    nets = {"classic": lenet(), "modern": lenet_modern()}
    explorer = inside_explorer(nets, images, labels, NAMES, per_class=2)
    assert explorer.scene.n_steps == 10 and explorer.scene.title == "classic"
    assert explorer.scene.labels.tolist() == list(range(10))
    explorer.controls["shown"].value = "c4"
    assert explorer.scene.n_steps == 2 and explorer.scene.labels.tolist() == [4, 4]
    explorer.controls["network"].value = "modern"
    assert explorer.scene.title == "modern" and len(explorer.scene.layers) == len(nets["modern"])
    explorer.step.value = 1
    assert explorer.image.value[:4] == b"\x89PNG"
    missing = inside_explorer(nets, images[:5], labels[:5], NAMES)
    missing.controls["shown"].value = "c7"
    assert "no image of class" in missing.message.value


def test_animation_steps_through_the_images(batch) -> None:
    images, labels = batch
    html = animation_html(InsideScene(lenet(), images[:2], labels[:2], NAMES), interval=500)
    assert html.count("data:image/png;base64") >= 2


def test_probe_figures() -> None:
    torch.manual_seed(0)
    net = lenet()
    references = {name: kernel(name) for name in ("sobel x", "sobel y", "box blur 3x3")}
    learned = net[0].weight.detach()[:, 0]
    fig = kernels_figure(learned, kernel_similarity(learned, references), references, cols=3,
                         title="kernels")
    assert isinstance(fig, Figure)
    top = top_patches(net, activation_after(net, 1), torch.rand(5, 1, 28, 28), k=4)
    assert isinstance(patches_figure(top, channels=[0, 3], title="patches"), Figure)
    maps = [torch.rand(28, 28) for _ in range(2)]
    fig = evidence_figure([torch.rand(1, 28, 28)] * 2, maps, maps, ["a", "b"])
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="one image"):
        evidence_figure([torch.rand(28, 28)], maps, maps, ["a"])


def test_alt_text_names_the_network_and_layers(batch) -> None:
    scene = InsideScene(lenet(), *batch, NAMES, title="classic LeNet")
    assert scene.alt_text().startswith("Animation in 4 steps: ")
    assert "classic LeNet" in scene.alt_text() and "12 layers" in scene.alt_text()
