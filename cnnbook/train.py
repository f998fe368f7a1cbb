"""Training a classifier: the textbook loop, driven by a recipe, fast on the data at hand.

A :class:`Recipe` says how to train (optimizer, learning rate, epochs, batch size, weight decay,
schedule, augmentation, initialisation): :data:`CLASSIC` is the original article's recipe for
LeNet, :data:`MODERN` the modern LeNet's. :func:`train` runs a recipe epoch by epoch:
:func:`train_epoch` (forward, loss, backward, update, batch after batch), then :func:`evaluate`
(the test accuracy), then the report (:class:`cnnbook.live_report.LiveReport`).

The time goes into the network and not around it:

* the data sit on the device as whole tensors and batches are cut by indexing
  (:class:`cnnbook.data.BatchIterator`), with no worker processes and no per-image Python work;
* the loss and the number of correct predictions are summed *on the device*; the host reads them
  only a few times per epoch (to draw and to check that the loss is finite), not after every
  batch as d2l's loop does (each read waits for the device to finish: a "host sync");
* evaluation runs under ``torch.inference_mode`` in large batches;
* the weights are stored channels-last on CPU and CUDA, the layout their convolution kernels
  prefer; bf16 autocast and ``torch.compile`` are options.

Throughput is reported two ways. ``examples_per_sec`` is the original article's figure: training
examples divided by the seconds of timed training work; the clock here runs over whole training
epochs (fetching batches included, evaluation and drawing excluded, the device synchronised
before it stops), while d2l's runs around each step only. ``wall_seconds`` is end-to-end: the
whole call, evaluation and set-up included. ``benchmarks/bench_lenet.py`` times this loop
against d2l's ``train_ch6`` loop and writes what it measures to ``benchmarks/results/``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn

from cnnbook.args import positive_int
from cnnbook.data import CLASS_NAMES, BatchIterator, FashionMNIST
from cnnbook.live_report import LiveReport
from cnnbook.memory import reuse_freed_memory
from cnnbook.models import MODELS, reinitialise

OPTIMIZERS = ("sgd", "sgd-momentum", "adam")
#: Reported points (loss, accuracy so far) per epoch, as the original article's plot.
POINTS_PER_EPOCH = 5
#: The default ``max_loss``: ten times the loss of a uniform guess among the ten classes.
MAX_LOSS = 10 * math.log(len(CLASS_NAMES))
DEVICE_ENV = "CNNBOOK_DEVICE"  # the device "auto" means, where it is set


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How to train a network, written once: used by :func:`train`, the CLI and the notebooks.

    ``model`` is the network the recipe is for, a name in :data:`cnnbook.models.MODELS` or a
    function that builds one (:meth:`make_model` builds it; :func:`train` trains whichever
    network it is given). ``optimizer`` is ``"sgd"`` (the original article's), ``"sgd-momentum"``
    (momentum 0.9), ``"adam"``, or a ready ``torch.optim.Optimizer`` over the network's
    parameters (which then keeps its own learning rate and weight decay). ``weight_decay`` adds
    ``weight_decay * w`` to every gradient (L2 regularisation). ``schedule="cosine"`` lowers the
    learning rate after every batch along half a cosine, from ``lr`` to 0 at the end of the last
    epoch. ``augment=True`` flips a random half of every training batch left to right (a flipped
    garment is still the same garment), so the network sees fresh variants of the images and
    overfits less. ``init="xavier"`` draws every layer afresh, with xavier-uniform weights,
    before training (``None`` keeps the parameters as they are).

    Every field is checked when a recipe is made, so a bad one raises a ``ValueError`` before any
    work starts. ``recipe.replace(lr=0.1)`` is a copy with the fields named changed.
    """

    model: str | Callable[[], nn.Module] = "lenet"
    optimizer: str | torch.optim.Optimizer = "sgd"
    lr: float = 0.9
    epochs: int = 10
    batch_size: int = 256
    weight_decay: float = 0.0
    schedule: str | None = None
    augment: bool = False
    init: str | None = "xavier"

    def __post_init__(self) -> None:
        if not (callable(self.model) or self.model in MODELS):
            raise ValueError(
                f"model must be one of {tuple(MODELS)} or a function that builds a network, "
                f"got {self.model!r}"
            )
        optimizer = self.optimizer
        if not (isinstance(optimizer, torch.optim.Optimizer) or optimizer in OPTIMIZERS):
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS} or a torch optimizer, got {optimizer!r}"
            )
        check_lr(self.lr)
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        check_weight_decay(self.weight_decay)
        if self.schedule not in (None, "cosine"):
            raise ValueError(f"schedule must be 'cosine' or None, got {self.schedule!r}")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be True or False, got {self.augment!r}")
        if self.init not in (None, "xavier"):
            raise ValueError(f"init must be 'xavier' or None, got {self.init!r}")

    def replace(self, **changes: object) -> Recipe:
        """A copy of this recipe with the fields named in ``changes`` changed (and checked)."""
        return dataclasses.replace(self, **changes)

    def make_model(self) -> nn.Module:
        """A new network of the recipe's ``model``."""
        return MODELS[self.model]() if isinstance(self.model, str) else self.model()

    def __str__(self) -> str:
        optimizer = self.optimizer
        if isinstance(optimizer, torch.optim.Optimizer):
            optimizer = type(optimizer).__name__
        return (
            f"{optimizer} lr {self.lr:g} (weight decay {self.weight_decay:g}, schedule "
            f"{self.schedule}, flips {'on' if self.augment else 'off'}), batch {self.batch_size}, "
            f"{self.epochs} epochs, init {self.init}"
        )


def check_lr(lr: float) -> float:
    """``lr`` as a float, or a ``ValueError`` if it is not a positive finite number."""
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    return float(lr)


def check_weight_decay(weight_decay: float) -> float:
    """``weight_decay``, or a ``ValueError`` if it is not a number in [0, 1)."""
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, int | float):
        raise ValueError(f"weight_decay must be a number, got {weight_decay!r}")
    if not 0 <= weight_decay < 1:
        raise ValueError(f"weight_decay must be in [0, 1), got {weight_decay!r}: try 5e-4")
    return weight_decay


#: The original article's recipe for the classic LeNet: xavier init, plain SGD at lr 0.9,
#: batches of 256, 10 epochs.
CLASSIC = Recipe(model="lenet", optimizer="sgd", lr=0.9, epochs=10, batch_size=256)
#: The modern LeNet's recipe: SGD with momentum at lr 0.1, weight decay 5e-4, a cosine schedule
#: and random flips, 10 epochs.
MODERN = Recipe(
    model="modern", optimizer="sgd-momentum", lr=0.1, epochs=10, batch_size=256,
    weight_decay=5e-4, schedule="cosine", augment=True,
)  # fmt: skip


def make_optimizer(
    name: str,
    params: Iterable[nn.Parameter],
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """``"sgd"`` (the original article's), ``"sgd-momentum"`` (SGD with ``momentum``) or ``"adam"``.

    ``weight_decay`` adds ``weight_decay * w`` to every gradient (L2 regularisation).
    """
    check_weight_decay(weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd-momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS} or a torch optimizer, got {name!r}")


def random_flips(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``images`` with a random half of them (each with probability 1/2) flipped left to right."""
    flip = torch.rand(len(images), generator=generator) < 0.5
    flip = flip.to(images.device).reshape(-1, *[1] * (images.dim() - 1))
    return torch.where(flip, images.flip(-1), images)


# --------------------------------------------------------------------------------------------
# Where to train, and what a run measured
# --------------------------------------------------------------------------------------------


def choose_device(device: str | torch.device = "auto") -> torch.device:
    """The device to train on: ``"auto"`` picks CUDA, then Apple's MPS, then the CPU.

    ``"auto"`` yields to the environment variable ``CNNBOOK_DEVICE`` where it is set, so that
    every notebook runs on the device a test run asks for (``make test-gpu`` sets ``cuda``; a
    reader on a GPU machine can set ``cpu`` to reproduce the stored CPU outputs). Any other
    value is checked: asking for ``"cuda"`` on a machine without one raises a ``ValueError``
    that says what is available.
    """
    wanted = os.environ.get(DEVICE_ENV) or "auto"
    if isinstance(device, str) and device == "auto" and wanted != "auto":
        try:
            return choose_device(wanted)
        except ValueError as error:
            message = f"{DEVICE_ENV}={wanted!r} is set in the environment: {error}"
            raise ValueError(message) from None
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}"
        ) from error
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index is not None and device.index >= count):
            raise ValueError(
                f"device {str(device)!r} was asked for but this machine has {count} CUDA "
                "device(s): use device='auto' or 'cpu'"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("device 'mps' was asked for but is not available: use 'auto'/'cpu'")
    return device


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has done its queued work (CUDA and MPS run ahead of the host)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class Stopwatch:
    """Adds up the seconds of timed work on ``device``.

    ``with clock:`` times a block and ``with clock.paused():`` leaves a part of it out; a block
    left by an exception (Ctrl-C, divergence) is not counted. The device finishes its queued
    work before the clock is read, so what is timed is work done, not work handed out.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = 0.0
        self._lap = 0.0
        self._since = 0.0

    def __enter__(self) -> Stopwatch:
        self._lap, self._since = 0.0, time.perf_counter()
        return self

    def __exit__(self, error_type: type | None, *_: object) -> None:
        self._stop()
        if error_type is None:
            self.seconds += self._lap

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave the block out of the time."""
        self._stop()
        try:
            yield
        finally:
            self._since = time.perf_counter()

    def _stop(self) -> None:
        synchronize(self.device)
        self._lap += time.perf_counter() - self._since


@dataclass
class History:
    """What a training run measured, epoch by epoch, and how it ended.

    ``status`` is ``"completed"``, ``"interrupted"`` (Ctrl-C: the history so far is returned) or
    ``"diverged"`` (the loss became NaN/inf: :class:`TrainingDivergedError` is raised and carries
    this history). ``points`` holds ``(epoch, loss, train accuracy)`` a few times per epoch
    (running averages over the epoch so far, as the original article plots them).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    points: list[tuple[float, float, float]] = field(default_factory=list)
    examples: int = 0
    train_seconds: float = 0.0
    wall_seconds: float = 0.0
    device: str = "cpu"
    status: str = "running"
    message: str = ""

    @property
    def epochs(self) -> int:
        """Completed epochs."""
        return len(self.train_loss)

    @property
    def examples_per_sec(self) -> float:
        """Training examples per second of timed training work (the original article's figure)."""
        return self.examples / self.train_seconds if self.train_seconds > 0 else float("nan")

    def add_epoch(self, loss: float, acc: float, test_acc: float, examples: int) -> None:
        """Record a completed epoch."""
        self.train_loss.append(loss)
        self.train_acc.append(acc)
        self.test_acc.append(test_acc)
        self.examples += examples

    def summary(self) -> str:
        """The original article's two result lines, the wall-clock time and how the run ended."""
        if not self.train_loss:
            lines = [f"no epoch completed ({self.status})"]
        else:
            lines = [
                f"loss {self.train_loss[-1]:.3f}, train acc {self.train_acc[-1]:.3f}, "
                f"test acc {self.test_acc[-1]:.3f}"
            ]
        lines.append(f"{self.examples_per_sec:.1f} examples/sec on {self.device}")
        lines.append(
            f"{self.epochs} epochs in {self.wall_seconds:.1f} s wall-clock (evaluation included)"
        )
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; ``.history`` holds the epochs before it."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


def check_loss(loss: float, max_loss: float, lr: float, where: str, history: History) -> None:
    """Raise :class:`TrainingDivergedError` if ``loss`` is NaN, infinite or above ``max_loss``.

    The message says what happened ``where`` and suggests a smaller learning rate; the error
    carries ``history``, marked ``"diverged"``.
    """
    if math.isfinite(loss) and loss <= max_loss:
        return
    what = (
        f"the loss became {loss}"
        if not math.isfinite(loss)
        else f"the loss exploded to {loss:.4g} (above max_loss={max_loss:.3g})"
    )
    history.status = "diverged"
    history.message = (
        f"training stopped: {what} {where}. The learning rate lr={lr:g} is too large for this "
        f"network: try a smaller one (e.g. lr={lr / 10:g}, and lower again if it still diverges)."
    )
    raise TrainingDivergedError(history.message, history)


# --------------------------------------------------------------------------------------------
# Evaluation and training
# --------------------------------------------------------------------------------------------


def evaluate(
    net: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor] | Iterable,
    device: str | torch.device | None = None,
    batch_size: int = 1000,
    channels_last: bool = False,
) -> float:
    """Accuracy of ``net`` on ``data``: a pair ``(images, labels)`` or an iterable of batches.

    Runs in evaluation mode under ``torch.inference_mode`` and counts correct predictions on the
    device, so the host waits only once, at the end. The network's mode is restored.
    """
    if device is None:
        first = next(net.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    batch_size = positive_int(batch_size, "batch_size")
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        data = BatchIterator(data[0], data[1], batch_size)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    count = 0
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            for x, y in data:
                x, y = x.to(device), y.to(device)
                if channels_last and x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                correct += (net(x).argmax(dim=1) == y).sum()
                count += len(y)
    finally:
        net.train(was_training)
    if count == 0:
        raise ValueError("evaluate got no examples: pass a non-empty data set")
    return correct.item() / count


def train_epoch(
    net: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_point: Callable[[int, float, float], None] | None = None,
) -> tuple[float, float, int]:
    """One pass over ``batches``: returns the mean loss, the training accuracy, the examples seen.

    For each mini-batch: forward, loss, backward, update (and a step of the learning-rate
    ``scheduler``, if any). The loss and the correct predictions are summed on the device, so
    the host does not wait for the device after every batch. It reads the running averages only
    ``POINTS_PER_EPOCH`` times, for ``on_point(batches_done, loss, accuracy)`` (the live plot,
    the divergence check), and at the end. ``batches`` is a sized iterable (``len`` works).
    """
    net.train()
    device = next(net.parameters()).device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen, steps = 0, len(batches)
    every = max(1, steps // POINTS_PER_EPOCH)
    for step, (x, y) in enumerate(batches, start=1):
        x, y = x.to(device), y.to(device)
        if augment is not None:
            x = augment(x)
        y_hat = net(x)
        loss = loss_fn(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        with torch.no_grad():
            loss_sum += loss * len(y)
            correct += (y_hat.argmax(dim=1) == y).sum()
        seen += len(y)
        if on_point is not None and (step % every == 0 or step == steps):
            on_point(step, loss_sum.item() / seen, correct.item() / seen)
    return loss_sum.item() / seen, correct.item() / seen, seen


def train(
    net: nn.Module,
    data: FashionMNIST | tuple[Iterable, Iterable],
    recipe: Recipe = CLASSIC,
    *,
    device: str | torch.device = "auto",
    seed: int | None = 0,
    report: str = "auto",
    progress: bool = True,
    callback: Callable[[History], None] | None = None,
    max_loss: float = MAX_LOSS,
    channels_last: bool | None = None,
    amp: bool = False,
    compile: bool = False,
) -> History:
    """Train ``net`` with cross-entropy as ``recipe`` says and return its :class:`History`.

    ``data`` is a :class:`~cnnbook.data.FashionMNIST` (tensors, moved to ``device``; batches
    are drawn by a shuffled index seeded with ``seed``) or a pair ``(train_iter, test_iter)``
    of iterables of batches (e.g. DataLoaders). With ``seed`` set, the initialisation, the
    batch order and the flips reproduce. ``report`` is ``"auto"`` (live plot in a notebook, a
    line per epoch in a terminal), ``"plot"``, ``"text"`` or ``"none"``; ``progress`` shows a
    tqdm bar; ``callback(history)`` runs at every reported point and after every epoch.
    ``channels_last`` (``None``: on for CPU and CUDA), ``amp`` (bf16 autocast) and ``compile``
    (``torch.compile``) are speed options (:func:`_for_speed`).

    Ends three ways (``history.status``): ``"completed"``; ``"interrupted"`` on Ctrl-C, which
    returns the history so far; ``"diverged"`` when the running loss becomes NaN or infinite,
    or exceeds ``max_loss`` (a sigmoid network at too large a learning rate saturates and its
    loss explodes to hundreds without ever becoming NaN). That is checked a few times per epoch
    and raises :class:`TrainingDivergedError`, whose message suggests a smaller ``lr`` and whose
    ``.history`` holds the epochs before it: a diverged run is never mistaken for a finished one.
    """
    wall_start = time.perf_counter()
    device = choose_device(device)
    if device.type == "cpu":
        reuse_freed_memory()  # no page faults for the memory each step frees and takes again
    if not (isinstance(max_loss, int | float) and max_loss > 0):
        raise ValueError(f"max_loss must be a positive number, got {max_loss!r}")
    if seed is not None:
        torch.manual_seed(seed)
    if recipe.init == "xavier":
        reinitialise(net)
    train_batches, test_data = _train_and_test_batches(data, recipe.batch_size, device, seed)
    model = _for_speed(net.to(device), device, channels_last, amp, compile)
    optimizer, scheduler = _optimizer(recipe, net, steps=recipe.epochs * len(train_batches))
    flips = torch.Generator().manual_seed(0 if seed is None else seed)
    augment = partial(random_flips, generator=flips) if recipe.augment else None
    loss_fn = nn.CrossEntropyLoss()
    history = History(device=str(device))
    live = LiveReport(recipe.epochs, len(train_batches), report, progress)
    clock = Stopwatch(device)

    def on_point(epoch: int, step: int, loss: float, acc: float) -> None:
        with clock.paused():  # checking and drawing are not training
            where = f"in epoch {epoch + 1}, by batch {step} of {len(train_batches)}"
            check_loss(loss, max_loss, recipe.lr, where, history)
            position = epoch + step / len(train_batches)
            history.points.append((position, loss, acc))
            live.point(position, loss, acc)
            if callback is not None:
                callback(history)

    try:
        for epoch in range(recipe.epochs):
            start = time.perf_counter()
            with clock:
                loss, acc, examples = train_epoch(
                    model, train_batches, loss_fn, optimizer, scheduler, augment,
                    on_point=partial(on_point, epoch),
                )
            test_acc = evaluate(model, test_data, device)
            history.add_epoch(loss, acc, test_acc, examples)
            live.epoch_end(epoch + 1, loss, acc, test_acc, time.perf_counter() - start)
            if callback is not None:
                callback(history)
        history.status = "completed"
    except KeyboardInterrupt:
        history.status = "interrupted"
        history.message = (
            f"interrupted (Ctrl-C) after {history.epochs} complete epoch(s): "
            "returning the history so far"
        )
        live.message(history.message)
    finally:
        history.train_seconds = clock.seconds
        history.wall_seconds = time.perf_counter() - wall_start
        live.close()
    return history


def _train_and_test_batches(
    data: object, batch_size: int, device: torch.device, seed: int | None
) -> tuple[Iterable, object]:
    """The training batches and the test data: ``data``'s tensors on ``device``, or its pair."""
    if isinstance(data, FashionMNIST):
        train_images, train_labels = data.train_images.to(device), data.train_labels.to(device)
        seed = 0 if seed is None else seed
        batches = BatchIterator(train_images, train_labels, batch_size, shuffle=True, seed=seed)
        return batches, (data.test_images.to(device), data.test_labels.to(device))
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ValueError(
            "data must be a cnnbook.data.FashionMNIST (from load_fashion_mnist) or a pair "
            f"(train_iter, test_iter), got {type(data).__name__}"
        )
    if len(data[0]) == 0:
        raise ValueError("the training data yield no batch: pass at least one example")
    return data[0], data[1]


def _for_speed(
    net: nn.Module, device: torch.device, channels_last: bool | None, amp: bool, compile: bool
) -> nn.Module:
    """``net`` as the loop calls it; its parameters stay ``net``'s own.

    Channels-last weights make every convolution run channels-last (the layout CPU and NVIDIA
    kernels prefer; ``None``: on for CPU and CUDA); ``compile`` runs it through
    ``torch.compile``; ``amp`` runs its forward pass under bf16 autocast.
    """
    if channels_last or (channels_last is None and device.type in ("cpu", "cuda")):
        net.to(memory_format=torch.channels_last)
    model = torch.compile(net) if compile else net
    return BF16Autocast(model) if amp else model


class BF16Autocast(nn.Module):
    """``net`` with its forward pass under bf16 autocast (mixed precision); float32 outputs."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self.net(x).float()


def _optimizer(
    recipe: Recipe, net: nn.Module, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """The recipe's optimizer over ``net``'s parameters, and its schedule over ``steps`` steps."""
    optimizer = recipe.optimizer
    if not isinstance(optimizer, torch.optim.Optimizer):
        optimizer = make_optimizer(
            optimizer, net.parameters(), recipe.lr, weight_decay=recipe.weight_decay
        )
    if recipe.schedule == "cosine":
        return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    return optimizer, None
