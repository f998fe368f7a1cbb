"""Probes into a trained network: what each layer outputs, what excites a channel, where it looks.

Every probe takes the network as it is, an ``nn.Sequential`` of the book's layers, and reads it
from the outside (forward hooks, gradients, changed inputs); nothing is wired to LeNet.

* :func:`activations`: every layer's output for a batch of images (forward hooks);
* :func:`kernel_similarity`: how close each learned kernel is to the hand-made ones;
* :func:`top_patches`: the input patches (a channel's receptive field, from
  :func:`cnnbook.shapes.receptive_field`) that excite a channel most;
* :func:`occlusion_map` and :func:`saliency_map`: where the evidence for a class lies, by
  hiding parts of the image and by the gradient; :func:`map_agreement` measures how far the two
  agree;
* :func:`shift`, :func:`equivariance_error` and :func:`shift_test`: what a shift of the input
  does to a layer's maps and to the predictions;
* :func:`predict`, :func:`confusion_matrix` and :func:`confused_pairs`: the mistakes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.args import positive_int
from cnnbook.shapes import receptive_field

# --------------------------------------------------------------------------------------------
# Checks and small helpers
# --------------------------------------------------------------------------------------------


def _check_sequential(net: nn.Module) -> list[nn.Module]:
    if not isinstance(net, nn.Sequential) or len(net) == 0:
        raise ValueError(
            f"the probes read an nn.Sequential of layers, got {type(net).__name__}: build the "
            "network as nn.Sequential(layer, layer, ...), as cnnbook.models does"
        )
    return list(net)


def _check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a batch (N, C, H, W), got {shape}: use x[None] for one")
    return images


def _check_image(image: torch.Tensor) -> torch.Tensor:
    """One image as ``(C, H, W)``; a ``(H, W)`` image gets its channel axis."""
    if not isinstance(image, torch.Tensor) or image.dim() not in (2, 3):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be (H, W) or (C, H, W), got {shape}")
    return image[None] if image.dim() == 2 else image


def _device(net: nn.Module) -> torch.device:
    first = next(net.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


class _EvalMode:
    """``with _EvalMode(net):`` runs ``net`` in evaluation mode and restores its mode after."""

    def __init__(self, net: nn.Module) -> None:
        self.net, self.was_training = net, net.training

    def __enter__(self) -> nn.Module:
        return self.net.eval()

    def __exit__(self, *_: object) -> None:
        self.net.train(self.was_training)


def is_activation(layer: nn.Module) -> bool:
    """True for PyTorch's activation modules (ReLU, Sigmoid, Tanh, ...)."""
    return type(layer).__module__ == "torch.nn.modules.activation"


def activation_after(net: nn.Sequential, n: int) -> int:
    """Index in ``net`` of the first activation after its ``n``-th convolution (counted from 0).

    The output of that layer is what the ``n``-th convolution block "responds" with (batch norm
    between the convolution and the activation included).
    """
    layers = _check_sequential(net)
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Conv2d)]
    if not 0 <= n < len(convs):
        raise ValueError(f"the network has {len(convs)} convolutions; n must be in "
                         f"0 .. {len(convs) - 1}, got {n}")
    for i in range(convs[n] + 1, len(layers)):
        if is_activation(layers[i]):
            return i
    raise ValueError(f"no activation follows convolution {n} (layer {convs[n]})")


# --------------------------------------------------------------------------------------------
# Activations by layer
# --------------------------------------------------------------------------------------------


class Activation(NamedTuple):
    """One layer's output: its index in the network, a label such as ``"3 Conv2d"``, the tensor."""

    index: int
    name: str
    output: torch.Tensor


def activations(net: nn.Sequential, images: torch.Tensor) -> list[Activation]:
    """Every layer's output for ``images`` ``(N, C, H, W)``, in order, from forward hooks.

    Runs ``net`` once in evaluation mode without gradients (its mode is restored). A hook on each
    layer records what it returns, so the list holds exactly what the network computed, for any
    ``nn.Sequential``; the last entry is the network's output.
    """
    layers = _check_sequential(net)
    images = _check_images(images)
    outputs: list[Activation] = []

    def hook(index: int) -> Callable[..., None]:
        def record(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            outputs.append(Activation(index, f"{index} {type(module).__name__}", output.detach()))
        return record

    handles = [layer.register_forward_hook(hook(i)) for i, layer in enumerate(layers)]
    try:
        with _EvalMode(net), torch.no_grad():
            net(images.to(_device(net)))
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def layer_output(net: nn.Sequential, images: torch.Tensor, index: int,
                 batch_size: int = 1000) -> torch.Tensor:
    """The output of layer ``index`` of ``net`` for ``images``, computed in batches.

    Runs only the layers up to ``index`` (``net[: index + 1]``), in evaluation mode.
    """
    layers = _check_sequential(net)
    images = _check_images(images)
    if not 0 <= index < len(layers):
        raise ValueError(f"index must be a layer of the network, 0 .. {len(layers) - 1}, "
                         f"got {index}")
    front = net[: index + 1]
    with _EvalMode(net), torch.no_grad():
        return torch.cat([front(images[k : k + batch_size].to(_device(net)))
                          for k in range(0, len(images), positive_int(batch_size, "batch_size"))])


# --------------------------------------------------------------------------------------------
# Learned kernels against hand-made ones
# --------------------------------------------------------------------------------------------


class KernelMatch(NamedTuple):
    """The hand-made kernel closest to one learned kernel, and how close (cosine similarity)."""

    name: str
    cosine: float
    offset: tuple[int, int]


def placed_cosines(learned: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of ``learned`` with ``reference`` placed at every offset inside it.

    ``learned`` is ``(k_h, k_w)``, ``reference`` a smaller or equal ``(r_h, r_w)`` kernel; a
    placed reference is zero outside its window, so the dot products are one cross-correlation of
    the learned kernel with the reference. Entry ``(i, j)`` is the cosine with the reference's
    top-left corner at ``(i, j)``.
    """
    if learned.dim() != 2 or reference.dim() != 2:
        raise ValueError("placed_cosines compares two 2-D kernels")
    if reference.shape[0] > learned.shape[0] or reference.shape[1] > learned.shape[1]:
        raise ValueError(f"the reference {tuple(reference.shape)} must fit in the learned kernel "
                         f"{tuple(learned.shape)}")
    learned, reference = learned.detach().double().cpu(), reference.detach().double().cpu()
    dots = F.conv2d(learned[None, None], reference[None, None])[0, 0]
    return dots / (learned.norm() * reference.norm()).clamp_min(1e-12)


def kernel_similarity(learned: torch.Tensor,
                      references: Mapping[str, torch.Tensor]) -> list[KernelMatch]:
    """For each learned kernel, the nearest reference kernel and its cosine similarity.

    ``learned`` is ``(C, k_h, k_w)`` (e.g. ``net[0].weight[:, 0]``); ``references`` maps names to
    smaller 2-D kernels (the hand-made kernels of chapter 1). A small kernel is compared at every
    place inside the learned one (:func:`placed_cosines`). The nearest is the largest ``|cos|``:
    an edge kernel with the signs swapped finds the same edge, of the other polarity; the cosine
    keeps its sign so that this shows. Cosines near 1 mean "the same pattern, up to scale".
    """
    if learned.dim() != 3 or not references:
        raise ValueError("learned must be (C, k_h, k_w) and references a non-empty dict")
    matches = []
    for kernel in learned:
        best = None
        for name, reference in references.items():
            cosines = placed_cosines(kernel, reference)
            flat = int(cosines.abs().flatten().argmax())
            i, j = divmod(flat, cosines.shape[1])
            candidate = KernelMatch(name, float(cosines[i, j]), (i, j))
            if best is None or abs(candidate.cosine) > abs(best.cosine):
                best = candidate
        matches.append(best)
    return matches


# --------------------------------------------------------------------------------------------
# What a channel responds to
# --------------------------------------------------------------------------------------------


class TopPatches(NamedTuple):
    """The patches that excite each channel most: ``patches[c, r]`` is channel ``c``'s ``r``-th.

    ``patches`` is ``(C, k, channels, h, w)`` with ``(h, w)`` the receptive field's size; ``values``
    ``(C, k)`` the activations; ``where`` ``(C, k, 3)`` the image index and the output position
    ``(i, j)`` of each.
    """

    patches: torch.Tensor
    values: torch.Tensor
    where: torch.Tensor


def crop(image: torch.Tensor, rows: tuple[int, int], cols: tuple[int, int],
         fill: float = 0.0) -> torch.Tensor:
    """The inclusive block ``rows`` x ``cols`` of ``image`` ``(C, H, W)``; outside it, ``fill``.

    Receptive fields at the border reach into the padding: those pixels are ``fill``.
    """
    (r0, r1), (c0, c1) = rows, cols
    C, H, W = image.shape
    out = image.new_full((C, r1 - r0 + 1, c1 - c0 + 1), fill)
    top, bottom, left, right = max(r0, 0), min(r1, H - 1), max(c0, 0), min(c1, W - 1)
    if top <= bottom and left <= right:
        out[:, top - r0 : bottom - r0 + 1, left - c0 : right - c0 + 1] = \
            image[:, top : bottom + 1, left : right + 1]
    return out


def top_patches(net: nn.Sequential, index: int, images: torch.Tensor, k: int = 9,
                fill: float = 0.0) -> TopPatches:
    """For each channel of layer ``index``, the ``k`` input patches that activate it most.

    Layer ``index``'s output is computed for every image; for each channel the ``k`` largest
    values over all images and positions are kept, and each is shown as the input patch that
    output sees: its receptive field, :func:`cnnbook.shapes.receptive_field` of the layers up to
    ``index``, cropped from the image (``fill`` outside it).
    """
    layers = _check_sequential(net)
    images = _check_images(images)
    k = positive_int(k, "k")
    field = receptive_field(layers[: index + 1])[-1]
    maps = layer_output(net, images, index)
    if maps.dim() != 4:
        raise ValueError(f"layer {index} outputs shape {tuple(maps.shape)}: pick a layer whose "
                         "output is a stack of maps (N, C, H, W)")
    N, C, H, W = maps.shape
    values, flat = maps.transpose(0, 1).reshape(C, -1).topk(min(k, N * H * W), dim=1)
    n, position = flat // (H * W), flat % (H * W)
    where = torch.stack([n, position // W, position % W], dim=-1).cpu()
    patches = torch.stack([
        torch.stack([crop(images[a].cpu(), *field.bounds(i, j), fill=fill)
                     for a, i, j in where[c].tolist()])
        for c in range(C)
    ])
    return TopPatches(patches, values.cpu(), where)


# --------------------------------------------------------------------------------------------
# Where the network looks
# --------------------------------------------------------------------------------------------


def occlusion_map(net: nn.Module, image: torch.Tensor, target: int, patch: int = 5,
                  fill: float = 0.5, batch_size: int = 256) -> torch.Tensor:
    """How much class ``target``'s score drops when a ``patch`` x ``patch`` square hides a spot.

    ``image`` is ``(C, H, W)`` or ``(H, W)``. Entry ``(i, j)`` of the ``(H, W)`` map is
    ``score(image) - score(image with the square centred at (i, j) set to fill)`` (a square near
    the border is cut by it). Positive: the hidden pixels were evidence for the class; negative:
    against it. The scores are the network's outputs (before softmax), in evaluation mode.
    """
    image = _check_image(image)
    patch = positive_int(patch, "patch")
    _, H, W = image.shape
    half = patch // 2
    occluded = image.repeat(H * W, 1, 1, 1)
    for i in range(H):
        for j in range(W):
            occluded[i * W + j, :, max(i - half, 0) : i - half + patch,
                     max(j - half, 0) : j - half + patch] = fill
    device = _device(net)
    with _EvalMode(net), torch.no_grad():
        base = net(image[None].to(device))[0, target]
        scores = torch.cat([net(occluded[s : s + batch_size].to(device))[:, target]
                            for s in range(0, len(occluded), batch_size)])
    return (base - scores).reshape(H, W).cpu()


def saliency_map(net: nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """``|∂ score_target / ∂ pixel|``: how fast class ``target``'s score moves with each pixel.

    The gradient of the score with respect to the input, in evaluation mode, its absolute value
    (the largest over the image's channels): an ``(H, W)`` map.
    """
    image = _check_image(image)
    x = image[None].detach().to(_device(net)).clone().requires_grad_(True)
    with _EvalMode(net):
        net(x)[0, target].backward()
    return x.grad[0].abs().amax(dim=0).cpu()


def box_blur(a: torch.Tensor, size: int) -> torch.Tensor:
    """The mean over the ``size`` x ``size`` square centred at each entry of the 2-D map ``a``.

    Puts a gradient map on the scale of an occlusion map, whose every entry sums what a square
    of that size hides (zeros beyond the border).
    """
    size = positive_int(size, "size")
    pad = size // 2
    out = F.avg_pool2d(F.pad(a[None, None].double(), (pad, size - 1 - pad) * 2), size, stride=1)
    return out[0, 0].to(a.dtype)


def _ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 0, 1, ... of ``values`` (1-D), ties given the mean of their ranks (as Spearman's)."""
    order = values.argsort(stable=True)
    ordered = values[order]
    _, inverse, counts = torch.unique_consecutive(ordered, return_inverse=True,
                                                  return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() + 1) / 2
    ranks = torch.empty_like(mean_rank[inverse])
    ranks[order] = mean_rank[inverse]
    return ranks


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two maps: the correlation of their entries' ranks."""
    if a.shape != b.shape:
        raise ValueError(f"the maps must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    ra, rb = _ranks(a.detach().flatten().cpu()), _ranks(b.detach().flatten().cpu())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float(ra @ rb) / denominator if denominator > 0 else 0.0


class Agreement(NamedTuple):
    """How far two maps of the same image agree.

    ``rank_correlation``: Spearman's, in [-1, 1]; ``top_overlap``: the share of map ``a``'s top
    ``fraction`` of pixels that are also among ``b``'s; ``chance``: that share for unrelated
    maps (the fraction itself).
    """

    rank_correlation: float
    top_overlap: float
    chance: float


def map_agreement(a: torch.Tensor, b: torch.Tensor, fraction: float = 0.1) -> Agreement:
    """Rank correlation and top-``fraction`` overlap of two maps of the same image."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    correlation = rank_correlation(a, b)
    n = a.numel()
    k = max(1, round(fraction * n))
    top_a = set(a.detach().flatten().cpu().double().argsort(descending=True, stable=True)[:k]
                .tolist())
    top_b = set(b.detach().flatten().cpu().double().argsort(descending=True, stable=True)[:k]
                .tolist())
    return Agreement(correlation, len(top_a & top_b) / k, k / n)


# --------------------------------------------------------------------------------------------
# Shifts: equivariance of the maps, invariance of the predictions
# --------------------------------------------------------------------------------------------


def shift(images: torch.Tensor, dy: int, dx: int, fill: float = 0.0) -> torch.Tensor:
    """``images`` (last two axes ``H, W``) moved ``dy`` rows down and ``dx`` columns right.

    What moves out of the frame is lost; what comes in is ``fill`` (not wrapped around, as
    ``torch.roll`` would). Negative shifts move up and left.
    """
    for name, value in (("dy", dy), ("dx", dx)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int (pixels), got {value!r}")
    H, W = images.shape[-2:]
    out = torch.full_like(images, fill)
    if abs(dy) < H and abs(dx) < W:
        out[..., max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = \
            images[..., max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)]
    return out


def equivariance_error(layer: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                       dy: int, dx: int, margin: int) -> float:
    """Largest ``|layer(shift(x)) - shift(layer(x))|`` at least ``margin`` pixels from the border.

    A convolution (and anything acting pixel by pixel after it) commutes with a shift, except
    near the border, where pixels enter from the fill and the padding: ``margin`` leaves out the
    band where that can matter (the shift plus the kernel's reach). The layer must keep the map's
    size (``padding`` = half the kernel), so that both sides are aligned. 0 means equivariant.
    """
    images = _check_images(images)
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ValueError(f"margin must be a non-negative int (pixels), got {margin!r}")
    with torch.no_grad():
        moved_then_layer = layer(shift(images, dy, dx))
        layer_then_moved = shift(layer(images), dy, dx)
    if moved_then_layer.shape[-2:] != images.shape[-2:]:
        raise ValueError("equivariance_error compares maps of the input's size: give the layer "
                         "the padding that keeps it")
    H, W = images.shape[-2:]
    if 2 * margin >= min(H, W):
        raise ValueError(f"margin {margin} leaves nothing of a {H}x{W} map")
    inner = (..., slice(margin, H - margin), slice(margin, W - margin))
    return float((moved_then_layer[inner] - layer_then_moved[inner]).abs().max())


def predict(net: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The network's scores ``(N, classes)`` for ``images``, in evaluation mode, in batches."""
    images = _check_images(images)
    batch_size = positive_int(batch_size, "batch_size")
    with _EvalMode(net), torch.no_grad():
        return torch.cat([net(images[k : k + batch_size].to(_device(net))).cpu()
                          for k in range(0, len(images), batch_size)])


class ShiftResult(NamedTuple):
    """Accuracy on images shifted by ``pixels`` (averaged over the four directions), and the share
    of images whose predicted class differs from the prediction for the unshifted image."""

    pixels: int
    accuracy: float
    changed: float


def shift_test(net: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               shifts: Iterable[int] = (0, 1, 2, 3), fill: float = 0.0) -> list[ShiftResult]:
    """Accuracy and changed predictions when the test images move by each of ``shifts`` pixels.

    Each shift ``s`` moves every image right, left, down and up by ``s`` (four copies, filled with
    ``fill``, the background); the figures are the means over the four.
    """
    images = _check_images(images)
    labels = labels.cpu()
    before = predict(net, images).argmax(dim=1)
    results = []
    for s in shifts:
        s = int(s)
        directions = [(0, s), (0, -s), (s, 0), (-s, 0)] if s else [(0, 0)]
        accuracy = changed = 0.0
        for dy, dx in directions:
            after = predict(net, shift(images, dy, dx, fill)).argmax(dim=1)
            accuracy += float((after == labels).float().mean()) / len(directions)
            changed += float((after != before).float().mean()) / len(directions)
        results.append(ShiftResult(s, accuracy, changed))
    return results


# --------------------------------------------------------------------------------------------
# The mistakes
# --------------------------------------------------------------------------------------------


def confusion_matrix(true: torch.Tensor, predicted: torch.Tensor,
                     classes: int = 10) -> torch.Tensor:
    """``matrix[t, p]``: how many examples of true class ``t`` were predicted as ``p``.

    One ``bincount``: the pair ``(t, p)`` becomes the single index ``classes * t + p``.
    """
    if true.shape != predicted.shape:
        raise ValueError("true and predicted must have the same shape")
    pairs = true.cpu().long() * classes + predicted.cpu().long()
    return torch.bincount(pairs, minlength=classes * classes).reshape(classes, classes)


class ConfusedPair(NamedTuple):
    """``count`` examples of class ``true`` that the network predicted as ``predicted``."""

    true: int
    predicted: int
    count: int


def confused_pairs(matrix: torch.Tensor, k: int = 5) -> list[ConfusedPair]:
    """The ``k`` largest off-diagonal entries of a confusion matrix, largest first.

    Ties are broken by position (row, then column), so the list is the same on every machine.
    """
    counts = matrix.clone().cpu().long()
    counts.fill_diagonal_(-1)
    n = counts.shape[1]
    order = sorted(range(counts.numel()), key=lambda f: (-int(counts.flatten()[f]), f))
    return [ConfusedPair(f // n, f % n, int(counts.flatten()[f])) for f in order[:k]]


def wrong_examples(true: torch.Tensor, predicted: torch.Tensor, pair: Sequence[int],
                   k: int = 6) -> torch.Tensor:
    """Indices of the first ``k`` examples of class ``pair[0]`` predicted as ``pair[1]``."""
    mask = (true.cpu() == pair[0]) & (predicted.cpu() == pair[1])
    return mask.nonzero().flatten()[:k]
