"""Fashion-MNIST as tensors on the device, served in mini-batches.

Two ways to feed a network, side by side:

* :func:`load_fashion_mnist` decodes the whole data set once into tensors (70,000 images of
  28 x 28 bytes: 55 MB) and puts it on the device as floats in [0, 1]; :class:`BatchIterator`
  then cuts mini-batches out of those tensors with one indexing operation per batch. No Python
  code runs per image, so feeding the network costs almost nothing next to training it.
* :func:`torchvision_datasets` is the usual PyTorch API (``torchvision.datasets.FashionMNIST``
  with ``ToTensor``, to be wrapped in a ``DataLoader``), which converts every image on its own
  in Python. It is what most tutorials show, d2l included.

Both read the same verified local files, found by :mod:`cnnbook.datafiles`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch

from cnnbook.args import check_tensor, positive_int
from cnnbook.datafiles import Roots, fashion_mnist_uint8, torchvision_root

#: The names of the ten classes, indexed by label (as in the data set's documentation).
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class FashionMNIST(NamedTuple):
    """The data set as float images ``(N, 1, 28, 28)`` in [0, 1] and int64 labels, on a device."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> FashionMNIST:
        """The first ``n_train`` training and ``n_test`` test examples (views, no copy)."""
        n_train = len(self.train_labels) if n_train is None else positive_int(n_train, "n_train")
        n_test = len(self.test_labels) if n_test is None else positive_int(n_test, "n_test")
        return FashionMNIST(
            self.train_images[:n_train],
            self.train_labels[:n_train],
            self.test_images[:n_test],
            self.test_labels[:n_test],
        )


def load_fashion_mnist(
    device: torch.device | str | None = None, download: bool = False, roots: Roots | None = None
) -> FashionMNIST:
    """The whole data set on ``device`` (default CPU): float images in [0, 1], int64 labels.

    The files are found in ``roots`` (default: :func:`cnnbook.datafiles.search_roots`) and
    verified. The bytes are converted on the device itself (uint8 is a quarter of the float's
    size to transfer), with the same arithmetic as ``ToTensor`` (``x / 255``), so both paths
    give identical inputs.
    """
    raw = fashion_mnist_uint8(download=download, roots=roots)
    device = torch.device("cpu") if device is None else torch.device(device)

    def images(x: torch.Tensor) -> torch.Tensor:
        return x.to(device).unsqueeze(1).float().div_(255)

    return FashionMNIST(
        images(raw.train_images),
        raw.train_labels.to(device),
        images(raw.test_images),
        raw.test_labels.to(device),
    )


class BatchIterator:
    """Mini-batches ``(images, labels)`` cut out of tensors that already sit on the device.

    Each pass (each ``iter()``) draws a fresh random order from a generator seeded once with
    ``seed``, so epoch 1, 2, ... differ from each other but a new iterator with the same seed
    repeats them exactly. A batch is one ``index_select`` on the device: no per-example Python
    work, no worker processes. Without shuffling, batches are views (no copy at all).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int = 256,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        check_tensor(images, "images", (2, 3, 4), "(N, ...) with one row per example")
        check_tensor(labels, "labels", (1,), "(N,)")
        if len(images) != len(labels):
            raise ValueError(
                f"images has {len(images)} examples but labels has {len(labels)}: "
                "pass one label per image"
            )
        if images.device != labels.device:
            raise ValueError(
                f"images are on {images.device} but labels on {labels.device}: "
                "move both to the same device"
            )
        if len(labels) == 0:
            raise ValueError("images and labels are empty: pass at least one example")
        self.images = images
        self.labels = labels
        self.batch_size = positive_int(batch_size, "batch_size")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        # A CPU generator: the same seed gives the same order on every device.
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def num_examples(self) -> int:
        """Examples per pass (without the dropped incomplete batch, if any)."""
        n = len(self.labels)
        return n - n % self.batch_size if self.drop_last else n

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, size = self.num_examples, self.batch_size
        if not self.shuffle:
            for start in range(0, n, size):
                yield self.images[start : start + size], self.labels[start : start + size]
            return
        order = torch.randperm(len(self.labels), generator=self.generator)
        order = order.to(self.images.device, non_blocking=True)
        for start in range(0, n, size):
            index = order[start : start + size]
            yield self.images.index_select(0, index), self.labels.index_select(0, index)


def text_labels(labels: torch.Tensor | Sequence[int]) -> list[str]:
    """The class names of integer labels.

    ``text_labels([0, 9]) == ['T-shirt/top', 'Ankle boot']``.
    """
    values = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
    if isinstance(values, int):
        values = [values]
    names = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10:
            raise ValueError(
                f"labels must be integers from 0 to 9 (Fashion-MNIST's ten classes), got {value!r}"
            )
        names.append(CLASS_NAMES[value])
    return names


def torchvision_datasets(
    download: bool = False, transform: object | None = None, roots: Roots | None = None
):
    """``torchvision.datasets.FashionMNIST`` train and test sets, ``ToTensor`` by default.

    They read the verified files (from ``roots``), laid out as torchvision expects by
    :func:`cnnbook.datafiles.torchvision_root`.
    """
    import torchvision
    from torchvision import transforms

    root = str(torchvision_root(download=download, roots=roots))
    transform = transforms.ToTensor() if transform is None else transform
    train = torchvision.datasets.FashionMNIST(root, train=True, transform=transform)
    test = torchvision.datasets.FashionMNIST(root, train=False, transform=transform)
    return train, test
