"""Probes into a trained network, checked on networks whose answers are known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook.examples import kernel
from cnnbook.models import lenet, lenet_modern
from cnnbook.probes import (
    activation_after,
    activations,
    box_blur,
    confused_pairs,
    confusion_matrix,
    crop,
    equivariance_error,
    kernel_similarity,
    layer_output,
    map_agreement,
    occlusion_map,
    placed_cosines,
    predict,
    rank_correlation,
    saliency_map,
    shift,
    shift_test,
    top_patches,
    wrong_examples,
)
from cnnbook.shapes import receptive_field


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Tiny tensors: one thread is faster on the shared machine."""


@pytest.mark.parametrize("make", [lenet, lenet_modern, lambda: lenet("relu", "max", True)])
def test_activations_are_every_layers_output(make) -> None:
    torch.manual_seed(0)
    net = make()
    x = torch.rand(3, 1, 28, 28)
    acts = activations(net, x)
    assert [a.index for a in acts] == list(range(len(net)))
    net.eval()
    with torch.no_grad():
        y = x
        for layer, act in zip(net, acts, strict=True):
            y = layer(y)
            torch.testing.assert_close(act.output, y)
            assert act.name.endswith(type(layer).__name__)
    assert net.training is False
    torch.testing.assert_close(layer_output(net, x, 3, batch_size=2), acts[3].output)


def test_activations_leave_the_mode_and_reject_non_sequential() -> None:
    net = lenet_modern().train()
    activations(net, torch.rand(2, 1, 28, 28))
    assert net.training
    with pytest.raises(ValueError, match="nn.Sequential"):
        activations(nn.Conv2d(1, 1, 3), torch.rand(1, 1, 5, 5))
    with pytest.raises(ValueError, match="batch"):
        activations(net, torch.rand(1, 28, 28))


def test_activation_after() -> None:
    assert activation_after(lenet(), 0) == 1
    assert activation_after(lenet(), 1) == 4
    assert activation_after(lenet_modern(), 1) == 6
    with pytest.raises(ValueError, match="2 convolutions"):
        activation_after(lenet(), 2)


def test_kernel_similarity_finds_a_planted_kernel() -> None:
    references = {name: kernel(name) for name in ("sobel x", "sobel y", "box blur 3x3")}
    learned = torch.zeros(3, 5, 5)
    learned[0, 1:4, 2:5] = kernel("sobel x")
    learned[1, :3, :3] = -2 * kernel("sobel y")  # the opposite polarity, scaled
    learned[2] = 1.0  # flat: a blur
    matches = kernel_similarity(learned, references)
    assert (matches[0].name, matches[0].offset) == ("sobel x", (1, 2))
    assert matches[0].cosine == pytest.approx(1.0)
    assert (matches[1].name, matches[1].offset) == ("sobel y", (0, 0))
    assert matches[1].cosine == pytest.approx(-1.0)
    assert matches[2].name == "box blur 3x3" and matches[2].cosine == pytest.approx(0.6)
    # Cosines of placed kernels by their definition.
    K, R = torch.randn(5, 5), torch.randn(2, 3)
    cosines = placed_cosines(K, R)
    placed = torch.zeros(5, 5, dtype=torch.float64)
    placed[2:4, 1:4] = R.double()
    expected = (placed * K.double()).sum() / (placed.norm() * K.double().norm())
    assert cosines[2, 1] == pytest.approx(float(expected))


def test_crop_fills_outside_the_image() -> None:
    image = torch.arange(16.0).reshape(1, 4, 4)
    patch = crop(image, (-1, 1), (2, 4), fill=-1)
    assert patch.tolist() == [[[-1, -1, -1], [2, 3, -1], [6, 7, -1]]]


def _field_by_gradient(net: nn.Sequential, index: int, i: int, j: int) -> tuple:
    """Brute force: the input rows and columns that output (i, j) of layer ``index`` depends on.

    A copy of the layers with every weight 1, average pooling for every pooling and no
    activation or batch norm has a positive gradient at exactly the pixels the output sees
    (max pooling and ReLU would pass gradient through some of them only).
    """
    layers = []
    for layer in list(net)[: index + 1]:
        if isinstance(layer, nn.Conv2d):
            conv = nn.Conv2d(1, 1, layer.kernel_size, layer.stride, layer.padding,
                             layer.dilation, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        elif isinstance(layer, nn.MaxPool2d | nn.AvgPool2d):
            layers.append(nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding))
    x = torch.rand(1, 1, 28, 28, requires_grad=True)
    nn.Sequential(*layers)(x)[0, 0, i, j].backward()
    rows, cols = x.grad[0, 0].gt(0).nonzero().unbind(1)
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


@pytest.mark.parametrize("make", [lenet, lenet_modern])
def test_patches_are_the_receptive_field_found_by_gradient(make) -> None:
    """Each patch is exactly the block of input pixels its output depends on (brute force)."""
    torch.manual_seed(0)
    net = make().eval()
    index = activation_after(net, 1)
    images = torch.rand(6, 1, 28, 28)
    top = top_patches(net, index, images, k=4, fill=-1.0)
    field = receptive_field(list(net)[: index + 1])[-1]
    maps = layer_output(net, images, index)
    assert top.patches.shape == (maps.shape[1], 4, 1, *field.size)
    # The receptive field's bounds, clipped to the image, are what the gradient finds.
    for i, j in [(0, 0), (0, 9), (4, 5), (9, 3), (9, 9)]:
        (r0, r1), (c0, c1) = field.bounds(i, j)
        assert _field_by_gradient(net, index, i, j) == ((max(r0, 0), min(r1, 27)),
                                                        (max(c0, 0), min(c1, 27)))
    for c in range(maps.shape[1]):
        for r in range(4):
            a, i, j = top.where[c, r].tolist()
            assert maps[a, c, i, j] == top.values[c, r]
            (r0, r1), (c0, c1) = field.bounds(i, j)
            patch = top.patches[c, r, 0]
            inside = patch != -1
            assert inside.sum() == (min(r1, 27) - max(r0, 0) + 1) * (min(c1, 27) - max(c0, 0) + 1)
            assert torch.equal(patch[inside],
                               images[a, 0, max(r0, 0) : r1 + 1, max(c0, 0) : c1 + 1].flatten())
    # The values are the channel's largest, in decreasing order.
    assert torch.equal(top.values[:, 0], maps.amax(dim=(0, 2, 3)))
    assert (top.values[:, :-1] >= top.values[:, 1:]).all()


def _one_pixel_net(row: int, col: int) -> nn.Sequential:
    """Class 0's score is the pixel (row, col); class 1's is 0."""
    linear = nn.Linear(28 * 28, 2)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
        linear.weight[0, row * 28 + col] = 1.0
    return nn.Sequential(nn.Flatten(), linear)


def test_occlusion_map_of_a_network_whose_answer_is_known() -> None:
    net = _one_pixel_net(10, 12)
    image = torch.ones(1, 28, 28)
    heat = occlusion_map(net, image, 0, patch=3, fill=0.25)
    expected = torch.zeros(28, 28)
    expected[9:12, 11:14] = 0.75  # every square that covers (10, 12) drops the score 1 -> 0.25
    torch.testing.assert_close(heat, expected)
    even = occlusion_map(net, image[0], 0, patch=4, fill=0.0)
    assert set(even.flatten().tolist()) == {0.0, 1.0} and even.sum() == 16
    assert occlusion_map(net, image, 1).abs().max() == 0  # class 1 ignores the image


def test_occlusion_map_at_the_border_is_cut_by_it() -> None:
    net = _one_pixel_net(0, 0)
    heat = occlusion_map(net, torch.ones(28, 28), 0, patch=5, fill=0.0)
    expected = torch.zeros(28, 28)
    expected[:3, :3] = 1.0
    torch.testing.assert_close(heat, expected)


def test_saliency_of_a_linear_network_is_its_weights() -> None:
    torch.manual_seed(0)
    linear = nn.Linear(2 * 6 * 6, 3)
    net = nn.Sequential(nn.Flatten(), linear)
    image = torch.rand(2, 6, 6)
    expected = linear.weight[1].detach().reshape(2, 6, 6).abs().amax(dim=0)
    torch.testing.assert_close(saliency_map(net, image, 1), expected)


def test_box_blur_and_agreement() -> None:
    a = torch.zeros(7, 7)
    a[3, 3] = 9.0
    blurred = box_blur(a, 3)
    assert blurred[2:5, 2:5].eq(1.0).all() and blurred.sum() == 9
    assert 0 < rank_correlation(a, blurred) < 1
    x = torch.arange(20.0)
    assert rank_correlation(x, x**3) == pytest.approx(1.0)
    assert rank_correlation(x, -x) == pytest.approx(-1.0)
    # Ties get their mean rank: [0, 0, 1] has ranks [0.5, 0.5, 2].
    assert rank_correlation(torch.tensor([0.0, 0.0, 1.0]),
                            torch.tensor([0.0, 1.0, 2.0])) == pytest.approx(0.8660254)
    agreement = map_agreement(x, x.flip(0), fraction=0.25)
    assert agreement.top_overlap == 0 and agreement.chance == 0.25
    assert map_agreement(x, 2 * x).top_overlap == 1.0
    with pytest.raises(ValueError, match="same shape"):
        rank_correlation(x, x[:3])


def test_shift_moves_and_fills() -> None:
    X = torch.arange(1.0, 10.0).reshape(3, 3)
    assert shift(X, 0, 1).tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    assert shift(X, -1, 0, fill=-1).tolist() == [[4, 5, 6], [7, 8, 9], [-1, -1, -1]]
    assert shift(X, 3, 0).eq(0).all()
    torch.testing.assert_close(shift(shift(X, 1, -1), -1, 1)[:2, 1:], X[:2, 1:])
    with pytest.raises(ValueError, match="int"):
        shift(X, 0.5, 0)


@pytest.mark.parametrize(("dy", "dx"), [(0, 1), (2, 0), (-3, 2), (1, -1)])
def test_one_convolution_is_shift_equivariant_away_from_the_borders(dy, dx) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 4, kernel_size=5, padding=2).double()
    images = torch.rand(3, 1, 20, 20, dtype=torch.float64)
    margin = max(abs(dy), abs(dx)) + 2
    assert equivariance_error(conv, images, dy, dx, margin) < 1e-12
    # At the border it is not: pixels leave the frame and the fill (0) and the bias enter it.
    assert equivariance_error(conv, images, dy, dx, 0) > 1e-3
    # A pooling with stride 2 is not equivariant for odd shifts, even far from the border.
    pool = nn.Sequential(nn.MaxPool2d(2), nn.Upsample(scale_factor=2))
    if (dy % 2, dx % 2) != (0, 0):
        assert equivariance_error(pool, images, dy, dx, margin) > 1e-3


def test_shift_test_on_a_network_that_sees_one_pixel() -> None:
    net = _one_pixel_net(14, 14)
    images = torch.zeros(8, 1, 28, 28)
    images[:4, 0, 14, 14] = 1.0  # class 0 (score 1 > 0); the others are class 1 (a tie -> 0)
    labels = torch.tensor([0] * 4 + [0] * 4)
    rows = shift_test(net, images, labels, shifts=(0, 1))
    assert rows[0] == (0, 1.0, 0.0)
    # Any shift moves the pixel away: the four class-0 images become a tie, argmax 0 still.
    assert rows[1].pixels == 1 and rows[1].accuracy == 1.0
    assert predict(net, images).shape == (8, 2)


def test_confusions() -> None:
    true = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 2, 2, 0, 1])
    matrix = confusion_matrix(true, predicted, classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 2], [1, 1, 1]]
    assert confused_pairs(matrix, 3) == [(1, 2, 2), (0, 1, 1), (2, 0, 1)]
    assert wrong_examples(true, predicted, (1, 2)).tolist() == [3, 4]
