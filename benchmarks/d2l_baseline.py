"""The baseline: d2l's chapter-6 training loop, written out faithfully.

Dive into Deep Learning (d2l) trains LeNet with ``d2l.train_ch6``, fed by
``d2l.load_data_fashion_mnist`` and evaluated by ``d2l.evaluate_accuracy_gpu``; the original
article the book follows runs exactly that code. These three functions reproduce it, so that
``bench_lenet.py`` can time the book's loop (:func:`cnnbook.train.train`) against it on the same
machine, network, initialisation and learning rate:

* :func:`d2l_loaders`: ``torchvision.datasets.FashionMNIST`` + ``ToTensor`` (after an optional
  ``Resize``) + ``DataLoader`` with 4 worker processes: every image is converted on its own;
* :func:`d2l_train`: xavier-uniform init, plain SGD, cross-entropy; a timer around each step
  (fetching the batch from the loader is *not* timed); the loss and the accuracy read on the
  host after every batch (two host syncs); the test accuracy through the loader after every
  epoch;
* :func:`d2l_evaluate`: batches from the loader, one host sync per batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import torch
from torch import nn

from cnnbook.args import positive_int
from cnnbook.data import torchvision_datasets
from cnnbook.models import reinitialise
from cnnbook.train import History, check_lr, choose_device


def d2l_loaders(
    batch_size: int = 256,
    num_workers: int = 4,
    resize: int | tuple[int, int] | None = None,
    download: bool = False,
    seed: int | None = None,
    limit: int | None = None,
):
    """d2l's ``load_data_fashion_mnist``: ``DataLoader``\\ s over the torchvision data sets.

    ``ToTensor`` (after an optional ``Resize``) runs on every image separately, in
    ``num_workers`` worker processes; the training loader reshuffles each epoch (from
    ``seed`` when given, so the order reproduces). ``limit`` keeps only the first ``limit``
    examples of each set (quick runs).
    """
    from torch.utils import data
    from torchvision import transforms

    batch_size = positive_int(batch_size, "batch_size")
    steps = [transforms.ToTensor()]
    if resize is not None:
        steps.insert(0, transforms.Resize(resize))
    train, test = torchvision_datasets(download=download, transform=transforms.Compose(steps))
    if limit is not None:
        limit = positive_int(limit, "limit")
        train = data.Subset(train, range(min(limit, len(train))))
        test = data.Subset(test, range(min(limit, len(test))))
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return (
        data.DataLoader(
            train, batch_size, shuffle=True, num_workers=num_workers, generator=generator
        ),
        data.DataLoader(test, batch_size, shuffle=False, num_workers=num_workers),
    )


def d2l_evaluate(net: nn.Module, data_iter: Iterable, device: torch.device) -> float:
    """d2l's ``evaluate_accuracy_gpu``: batches from the loader, one host sync per batch."""
    net.eval()
    correct = count = 0
    with torch.no_grad():
        for x, y in data_iter:
            x, y = x.to(device), y.to(device)
            correct += float((net(x).argmax(dim=1) == y).sum())
            count += y.numel()
    return correct / count


def d2l_train(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    epochs: int,
    lr: float,
    device: str | torch.device = "cpu",
    seed: int | None = 0,
    init: bool = True,
) -> History:
    """d2l's ``train_ch6``, faithfully: the baseline of ``bench_lenet.py``.

    Xavier-uniform init, plain SGD, cross-entropy; a timer started before and stopped after each
    training step (so fetching the batch from the DataLoader is *not* timed); after each batch the
    loss and the accuracy are read on the host (``float(...)``, two syncs); test accuracy through
    the test loader after every epoch. ``examples_per_sec`` is d2l's formula: examples of the last
    epoch times the number of epochs, divided by the timer's sum. No plot is drawn.
    ``init=False`` keeps the weights (to continue training; plain SGD has no state to lose).
    """
    wall_start = time.perf_counter()
    device = choose_device(device)
    if seed is not None:
        torch.manual_seed(seed)
    if init:
        reinitialise(net)
    net.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=check_lr(lr))
    loss_fn = nn.CrossEntropyLoss()
    history = History(device=str(device))
    timer_sum = 0.0
    n = 0
    for _ in range(positive_int(epochs, "epochs")):
        loss_total = correct = n = 0.0
        net.train()
        for x, y in train_iter:
            start = time.perf_counter()
            opt.zero_grad()
            x, y = x.to(device), y.to(device)
            y_hat = net(x)
            loss = loss_fn(y_hat, y)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_total += float(loss * x.shape[0])
                correct += float((y_hat.argmax(dim=1) == y).sum())
                n += x.shape[0]
            timer_sum += time.perf_counter() - start
        history.train_loss.append(loss_total / n)
        history.train_acc.append(correct / n)
        history.test_acc.append(d2l_evaluate(net, test_iter, device))
    history.examples = int(n * epochs)
    history.train_seconds = timer_sum
    history.status = "completed"
    history.wall_seconds = time.perf_counter() - wall_start
    return history
