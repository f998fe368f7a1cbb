"""Training and evaluating a classifier: fast on the data at hand, with live feedback.

:func:`train` is the source's training recipe (cross-entropy, mini-batch SGD, test accuracy
after every epoch) organised so that the time goes into the network and not around it:

* the data sit on the device as whole tensors and batches are cut by indexing
  (:class:`cnnbook.data.BatchIterator`), with no worker processes and no per-image Python work;
* the loss and the number of correct predictions are summed *on the device*; the host reads them
  only a few times per epoch (to draw and to check that the loss is finite), not after every batch
  as the source does (each read waits for the device to finish: a "host sync");
* evaluation runs under ``torch.inference_mode`` in large batches;
* on the CPU, freed memory is kept for the next step instead of being returned to the operating
  system and faulted back in (:func:`reuse_freed_memory`);
* channels-last tensors (on by default on CPU and CUDA, about 15% faster convolutions here);
  optionally bf16 autocast and ``torch.compile`` (off by default: on this 2-core CPU, compiling
  takes 5-35 s and saves about 0.1-0.3 s per epoch).

:func:`train_source_style` is the source's loop written out faithfully (DataLoader input, a timer
around each step, two host syncs per batch, evaluation through the loader); ``python -m cnnbook
bench`` times both.

Throughput is reported two ways. ``examples_per_sec`` is the source's figure: training examples
divided by the time of the timed training work. Our timer runs over whole epochs of training
(fetching batches included, evaluation and drawing excluded, the device synchronised before the
clock stops); the source's runs around each step only, so it leaves out fetching the batch.
``wall_seconds`` is end-to-end: the whole call, evaluation, set-up and warm-up included.

What the time goes into, measured on the 2-core CPU this book was built on
(``python -m cnnbook bench``): the source's loop spends about 17 ms per batch of 256 in its timed
steps, of which under 8 ms is the network's arithmetic (the bare step of :func:`bare_step_rate`)
and the rest is the 4 DataLoader worker processes competing with the training for the two cores;
this loop spends about 8 ms, 97% of it the bare step. So here the book's loop is about 2.2x the
source's in examples/sec, close to the 2.3x ceiling of any loop running the same float32
kernels, and about 3.2x in end-to-end time (the source's loop also starts worker processes and
converts every image, for training and for evaluation, in every epoch).
"""

from __future__ import annotations

import copy
import ctypes
import io
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnbook.args import positive_int
from cnnbook.data import BatchIterator, FashionMNIST
from cnnbook.models import init_xavier

OPTIMIZERS = ("sgd", "sgd-momentum", "adam")
REPORTS = ("auto", "plot", "text", "none")
#: Reported points (loss, accuracy so far) per epoch, as the source's plot.
POINTS_PER_EPOCH = 5
DEVICE_ENV = "CNNBOOK_DEVICE"  # the device "auto" means, where it is set


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; ``.history`` holds the epochs before it."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


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


@dataclass
class History:
    """What a training run measured, epoch by epoch, and how it ended.

    ``status`` is ``"completed"``, ``"interrupted"`` (Ctrl-C: the history so far is returned) or
    ``"diverged"`` (the loss became NaN/inf: :class:`TrainingDivergedError` is raised and carries
    this history). ``points`` holds ``(epoch, loss, train accuracy)`` a few times per epoch
    (running averages over the epoch so far, as the source plots them).
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
        """Training examples per second of timed training work (the source's figure)."""
        return self.examples / self.train_seconds if self.train_seconds > 0 else float("nan")

    def summary(self) -> str:
        """The source's two result lines, plus the wall-clock time and how the run ended."""
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


# --------------------------------------------------------------------------------------------
# Live feedback: progress bar, and a plot (notebook) or lines (terminal)
# --------------------------------------------------------------------------------------------


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, classic notebook, VS Code, Colab)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveReport:
    """Shows training as it goes: a tqdm bar and a live plot (notebook) or text lines.

    ``mode`` is ``"plot"`` (a matplotlib figure, rendered without pyplot to a PNG and updated in
    place through an IPython display handle), ``"text"`` (one line per epoch), ``"none"``, or
    ``"auto"`` (plot in a notebook, text elsewhere). Drawing is throttled to ``min_interval``
    seconds so it never dominates a fast run.
    """

    def __init__(
        self,
        epochs: int,
        steps_per_epoch: int,
        mode: str = "auto",
        progress: bool = True,
        min_interval: float = 0.5,
    ) -> None:
        if mode not in REPORTS:
            raise ValueError(f"report must be one of {REPORTS}, got {mode!r}")
        notebook = in_notebook()
        self.mode = ("plot" if notebook else "text") if mode == "auto" else mode
        self.epochs = epochs
        self.min_interval = min_interval
        self.points: list[tuple[float, float, float]] = []
        self.tests: list[tuple[float, float]] = []
        self._handle = None
        self._last_draw = 0.0
        self._figure = None
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs * steps_per_epoch, unit="batch", desc="training")

    def steps(self, n: int = 1) -> None:
        """Advance the progress bar by ``n`` batches."""
        if self.bar is not None:
            self.bar.update(n)

    def point(self, epoch: float, loss: float, acc: float) -> None:
        """A running (loss, train accuracy) point inside an epoch."""
        self.points.append((epoch, loss, acc))
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.3f}", refresh=False)
        self._draw(force=False)

    def epoch_end(self, epoch: int, loss: float, acc: float, test_acc: float, secs: float) -> None:
        """An epoch's final figures."""
        self.tests.append((float(epoch), test_acc))
        line = (
            f"epoch {epoch}/{self.epochs}: loss {loss:.3f}, train acc {acc:.3f}, "
            f"test acc {test_acc:.3f} ({secs:.1f} s)"
        )
        if self.mode == "text":
            self._write(line)
        self._draw(force=True)

    def message(self, text: str) -> None:
        """A line of text that must be seen (divergence, interruption)."""
        if self.mode != "none":
            self._write(text)

    def close(self) -> None:
        """Close the bar and draw the last state."""
        self._draw(force=True)
        if self.bar is not None:
            self.bar.close()

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def _draw(self, force: bool) -> None:
        if self.mode != "plot" or not (self.points or self.tests):
            return
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        from IPython.display import Image, display

        image = Image(data=self.render_png(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def render_png(self) -> bytes:
        """The current plot as PNG bytes (train loss, train accuracy, test accuracy vs epoch)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if self._figure is None:
            self._figure = Figure(figsize=(5.5, 3.4), dpi=100, layout="constrained")
            FigureCanvasAgg(self._figure)
        fig = self._figure
        fig.clear()
        ax = fig.add_subplot()
        if self.points:
            x, loss, acc = zip(*self.points, strict=True)
            ax.plot(x, loss, "-", color="C0", label="train loss")
            ax.plot(x, acc, "--", color="C1", label="train acc")
        if self.tests:
            x, test = zip(*self.tests, strict=True)
            ax.plot(x, test, "-.o", color="C2", markersize=3, label="test acc")
        ax.set_xlabel("epoch")
        ax.set_xlim(0, self.epochs)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="center right")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Evaluation and training
# --------------------------------------------------------------------------------------------


_MALLOC_TUNED = False


def reuse_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse; returns whether it applies.

    A LeNet training step on the CPU allocates and frees some 20 MB of activations and
    gradients. By default glibc hands large freed blocks back to the operating system (blocks
    above the mmap threshold, and the top of the heap beyond the trim threshold), so the next
    step gets them back as fresh zero-filled pages: about 4,000 page faults per step, a third of
    the step's time on this 2-core machine. Raising the mmap threshold to its maximum (32 MiB)
    and the trim threshold to 1 GiB keeps that memory in the process, and the next step reuses it
    with no fault. The price: the process keeps its peak memory (a few hundred MB for LeNet).
    Linux with glibc only; elsewhere (macOS, Windows, musl) it does nothing and returns False.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's <malloc.h>
    _MALLOC_TUNED = mallopt(m_mmap_threshold, 32 << 20) == 1 and mallopt(
        m_trim_threshold, 1 << 30
    ) == 1
    return _MALLOC_TUNED


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _batches(data: object, batch_size: int) -> Iterable:
    # (images, labels) tensors are cut into views; anything else is taken to yield batches.
    pair = isinstance(data, tuple) and len(data) == 2
    if pair and all(isinstance(t, torch.Tensor) for t in data):
        return BatchIterator(data[0], data[1], batch_size, shuffle=False)
    return data  # type: ignore[return-value]


def evaluate(
    net: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor] | Iterable,
    device: str | torch.device | None = None,
    batch_size: int = 1000,
    channels_last: bool = False,
    amp: bool = False,
) -> float:
    """Accuracy of ``net`` on ``data``: a pair ``(images, labels)`` or an iterable of batches.

    Runs in evaluation mode under ``torch.inference_mode`` and counts correct predictions on the
    device, so the host waits only once, at the end. The network's mode is restored.
    """
    if device is None:
        first = next(net.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    count = 0
    was_training = net.training
    net.eval()
    autocast = _autocast(device, amp)
    try:
        with torch.inference_mode(), autocast:
            for x, y in _batches(data, positive_int(batch_size, "batch_size")):
                x = x.to(device, non_blocking=True)
                y = y.to(device, non_blocking=True)
                if channels_last and x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                correct += (net(x).argmax(dim=1) == y).sum()
                count += len(y)
    finally:
        net.train(was_training)
    if count == 0:
        raise ValueError("evaluate got no examples: pass a non-empty data set")
    return correct.item() / count


def _autocast(device: torch.device, amp: bool):
    if not amp:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def reinitialise(net: nn.Module) -> nn.Module:
    """Every layer afresh from the current random state, then xavier-uniform weights.

    Biases get PyTorch's default initialisation (the source leaves them so too); drawing them
    again here, after the seed is set, is what makes a seeded run repeat exactly.
    """
    for module in net.modules():
        if module is not net and callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
    return init_xavier(net)


def make_optimizer(
    name: str,
    params: Iterable[nn.Parameter],
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """``"sgd"`` (the source's), ``"sgd-momentum"`` (SGD with ``momentum``) or ``"adam"``.

    ``weight_decay`` adds ``weight_decay * w`` to every gradient (L2 regularisation).
    """
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, int | float):
        raise ValueError(f"weight_decay must be a number, got {weight_decay!r}")
    if not 0 <= weight_decay < 1:
        raise ValueError(f"weight_decay must be in [0, 1), got {weight_decay!r}: try 5e-4")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd-momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS} or a torch optimizer, got {name!r}")


def _check_lr(lr: float) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    return float(lr)


def train(
    net: nn.Module,
    data: FashionMNIST | tuple[Iterable, Iterable],
    epochs: int = 10,
    lr: float = 0.9,
    *,
    optimizer: str | torch.optim.Optimizer = "sgd",
    weight_decay: float = 0.0,
    batch_size: int = 256,
    device: str | torch.device = "auto",
    seed: int | None = 0,
    init: str | None = "xavier",
    channels_last: bool | None = None,
    amp: bool = False,
    compile: bool = False,
    eval_batch_size: int = 1000,
    max_loss: float | None = None,
    schedule: str | None = None,
    augment: bool = False,
    report: str = "auto",
    progress: bool = True,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train ``net`` with cross-entropy and return its :class:`History`.

    ``data`` is a :class:`~cnnbook.data.FashionMNIST` (tensors; batches of ``batch_size`` are
    drawn by a shuffled index seeded with ``seed``) or a pair ``(train_iter, test_iter)`` of
    iterables of batches (e.g. DataLoaders). ``optimizer`` is ``"sgd"`` (the source's),
    ``"sgd-momentum"`` (momentum 0.9), ``"adam"`` (each with ``weight_decay``) or a ready
    ``torch.optim.Optimizer`` over ``net``'s parameters. ``init="xavier"`` re-initialises every
    layer (xavier-uniform weights as the source, default biases; ``None`` keeps the parameters
    as they are); with ``seed`` set, the initialisation and the batch order reproduce.

    ``schedule="cosine"`` lowers the learning rate after every batch along half a cosine, from
    ``lr`` to 0 at the end of the last epoch. ``augment=True`` flips a random half of every
    training batch left to right (a flipped garment is still the same garment), so the network
    sees fresh variants of the images and overfits less.

    ``channels_last`` (``None``: on for CPU and CUDA, where it is faster for these
    convolutions), ``amp`` (bf16 autocast) and ``compile`` (``torch.compile``) are speed options.

    ``report`` is ``"auto"`` (live plot in a notebook, a line per epoch in a terminal),
    ``"plot"``, ``"text"`` or ``"none"``; ``progress`` shows a tqdm bar; ``callback(history)``
    runs at every reported point.

    Ends three ways (``history.status``): ``"completed"``; ``"interrupted"`` on Ctrl-C, which
    returns the history so far; ``"diverged"`` when the running loss becomes NaN or infinite, or
    exceeds ``max_loss`` (default: 10 x the loss of a uniform guess, ``10 ln(classes)``, 23 for
    10 classes; a sigmoid network at too large a learning rate saturates and its loss explodes to
    hundreds without ever becoming NaN). It is checked a few times per epoch and raises
    :class:`TrainingDivergedError`, whose message suggests a smaller ``lr`` and whose
    ``.history`` holds the epochs before it. Raising (rather than returning a flagged history)
    makes sure that a diverged run is never mistaken for a finished one.
    """
    wall_start = time.perf_counter()
    epochs = positive_int(epochs, "epochs")
    lr = _check_lr(lr)
    batch_size = positive_int(batch_size, "batch_size")
    device = choose_device(device)
    if max_loss is not None and not (isinstance(max_loss, int | float) and max_loss > 0):
        raise ValueError(f"max_loss must be a positive number or None, got {max_loss!r}")
    if init not in (None, "xavier"):
        raise ValueError(f"init must be 'xavier' or None, got {init!r}")
    if schedule not in (None, "cosine"):
        raise ValueError(f"schedule must be 'cosine' or None, got {schedule!r}")
    if seed is not None:
        torch.manual_seed(seed)
    if init == "xavier":
        reinitialise(net)
    if isinstance(data, FashionMNIST):
        train_iter: Iterable = BatchIterator(
            data.train_images.to(device),
            data.train_labels.to(device),
            batch_size,
            shuffle=True,
            seed=0 if seed is None else seed,
        )
        test_data: object = (data.test_images.to(device), data.test_labels.to(device))
    elif isinstance(data, tuple | list) and len(data) == 2:
        train_iter, test_data = data
    else:
        raise ValueError(
            "data must be a cnnbook.data.FashionMNIST (from load_fashion_mnist) or a pair "
            f"(train_iter, test_iter), got {type(data).__name__}"
        )
    steps_per_epoch = len(train_iter)  # type: ignore[arg-type]
    if steps_per_epoch == 0:
        raise ValueError("the training data yield no batch: pass at least one example")

    if channels_last is None:
        channels_last = device.type in ("cpu", "cuda")
    if device.type == "cpu":
        reuse_freed_memory()
    net.to(device)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if isinstance(optimizer, str):
        opt = make_optimizer(optimizer, net.parameters(), lr, weight_decay=weight_decay)
    elif isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer
    else:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS} or a torch optimizer")
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps_per_epoch)
    flips = torch.Generator().manual_seed(0 if seed is None else seed)
    model = torch.compile(net) if compile else net
    loss_fn = nn.CrossEntropyLoss()
    autocast = _autocast(device, amp)

    history = History(device=str(device))
    live = LiveReport(epochs, steps_per_epoch, report, progress)
    # The points where the host reads the running sums: as the source's plot, 5 per epoch.
    every = max(1, steps_per_epoch // POINTS_PER_EPOCH)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    timed_start = None
    limit = None
    seen = 0
    try:
        for epoch in range(epochs):
            net.train()
            loss_sum.zero_()
            correct.zero_()
            seen = 0
            epoch_start = time.perf_counter()
            timed_start = epoch_start
            for i, (x, y) in enumerate(train_iter):
                x = x.to(device, non_blocking=True)
                y = y.to(device, non_blocking=True)
                if augment:
                    flip = torch.rand(len(x), generator=flips) < 0.5
                    flip = flip.to(device, non_blocking=True).reshape(-1, *[1] * (x.dim() - 1))
                    x = torch.where(flip, x.flip(-1), x)
                if channels_last and x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                with autocast:
                    y_hat = model(x)
                    loss = loss_fn(y_hat, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if scheduler is not None:
                    scheduler.step()
                # Summed on the device: no host sync here.
                with torch.no_grad():
                    loss_sum += loss.detach().float() * len(y)
                    correct += (y_hat.argmax(dim=1) == y).sum()
                seen += len(y)
                live.steps()
                if (i + 1) % every == 0 or i + 1 == steps_per_epoch:
                    total, right = torch.stack([loss_sum, correct.float()]).tolist()
                    if limit is None:
                        # Cross-entropy of a uniform guess among the classes is ln(classes).
                        limit = 10 * math.log(y_hat.shape[-1]) if max_loss is None else max_loss
                    if not math.isfinite(total) or total / seen > limit:
                        _sync(device)
                        history.train_seconds += time.perf_counter() - timed_start
                        timed_start = None
                        _diverged(history, lr, total / seen, limit, epoch, i + 1,
                                  steps_per_epoch)  # fmt: skip
                    # Drawing is not training: the clock stops meanwhile (as the source's
                    # timer does around its plot).
                    history.train_seconds += time.perf_counter() - timed_start
                    timed_start = None
                    position = epoch + (i + 1) / steps_per_epoch
                    history.points.append((position, total / seen, right / seen))
                    live.point(position, total / seen, right / seen)
                    if callback is not None:
                        callback(history)
                    timed_start = time.perf_counter()
            _sync(device)
            history.train_seconds += time.perf_counter() - timed_start
            timed_start = None
            epoch_loss, epoch_acc = total / seen, right / seen
            history.examples += seen
            seen = 0
            test_acc = evaluate(
                model, test_data, device, eval_batch_size, channels_last=channels_last, amp=amp
            )
            history.train_loss.append(epoch_loss)
            history.train_acc.append(epoch_acc)
            history.test_acc.append(test_acc)
            live.epoch_end(epoch + 1, epoch_loss, epoch_acc, test_acc,
                           time.perf_counter() - epoch_start)  # fmt: skip
            if callback is not None:
                callback(history)
        history.status = "completed"
    except KeyboardInterrupt:
        if timed_start is not None:
            _sync(device)
            history.train_seconds += time.perf_counter() - timed_start
        history.examples += seen  # the timed part of the unfinished epoch
        history.status = "interrupted"
        history.message = (
            f"interrupted (Ctrl-C) after {history.epochs} complete epoch(s): "
            "returning the history so far"
        )
        live.message(history.message)
    finally:
        history.wall_seconds = time.perf_counter() - wall_start
        live.close()
    return history


def _diverged(
    history: History,
    lr: float,
    loss: float,
    limit: float,
    epoch: int,
    step: int,
    steps: int,
) -> None:
    history.status = "diverged"
    what = (
        f"the loss became {loss}"
        if not math.isfinite(loss)
        else f"the loss exploded to {loss:.4g} (above max_loss={limit:.3g})"
    )
    history.message = (
        f"training stopped: {what} in epoch {epoch + 1}, by batch {step} of {steps}. The "
        f"learning rate lr={lr:g} is too large for this network: try a smaller one (e.g. "
        f"lr={lr / 10:g}, and lower again if it still diverges)."
    )
    raise TrainingDivergedError(history.message, history)


# --------------------------------------------------------------------------------------------
# The source's loop, for comparison
# --------------------------------------------------------------------------------------------


def evaluate_source_style(net: nn.Module, data_iter: Iterable, device: torch.device) -> float:
    """The source's evaluation: batches from the loader, one host sync per batch."""
    net.eval()
    correct = count = 0
    with torch.no_grad():
        for x, y in data_iter:
            x, y = x.to(device), y.to(device)
            correct += float((net(x).argmax(dim=1) == y).sum())
            count += y.numel()
    return correct / count


def train_source_style(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    epochs: int,
    lr: float,
    device: str | torch.device = "cpu",
    seed: int | None = 0,
    init: bool = True,
) -> History:
    """The source's training loop, faithfully: the baseline of ``python -m cnnbook bench``.

    Xavier-uniform init, plain SGD, cross-entropy; a timer started before and stopped after each
    training step (so fetching the batch from the DataLoader is *not* timed); after each batch the
    loss and the accuracy are read on the host (``float(...)``, two syncs); test accuracy through
    the test loader after every epoch. ``examples_per_sec`` is the source's formula: examples of
    the last epoch times the number of epochs, divided by the timer's sum. No plot is drawn.
    ``init=False`` keeps the weights (to continue training; plain SGD has no state to lose).
    """
    wall_start = time.perf_counter()
    device = choose_device(device)
    if seed is not None:
        torch.manual_seed(seed)
    if init:
        reinitialise(net)
    net.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=_check_lr(lr))
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
        history.test_acc.append(evaluate_source_style(net, test_iter, device))
    history.examples = int(n * epochs)
    history.train_seconds = timer_sum
    history.status = "completed"
    history.wall_seconds = time.perf_counter() - wall_start
    return history


def bare_step_rate(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    lr: float = 0.9,
    batch_size: int = 256,
    steps: int = 100,
    warmup: int = 10,
    channels_last: bool = False,
    device: str | torch.device = "cpu",
) -> float:
    """Examples per second of the training step alone: the ceiling of any loop that runs it.

    A copy of ``net`` (``net`` itself is not changed) is trained for ``steps`` steps of forward,
    cross-entropy, backward and plain SGD on batches of ``batch_size`` cut, one after another,
    from ``images``/``labels`` already on ``device``: no data loading, no metrics, no host reads,
    no evaluation. A training loop that runs the same kernels (eager PyTorch, float32, the same
    memory format) spends at least this time per example; ``python -m cnnbook bench`` uses it
    to show how much of a loop's timed step is the network's own arithmetic.
    """
    device = choose_device(device)
    steps = positive_int(steps, "steps")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative int, got {warmup!r}")
    layout = torch.channels_last if channels_last else torch.contiguous_format
    images = images.to(device)
    if images.dim() == 4:
        images = images.contiguous(memory_format=layout)
    batches = list(BatchIterator(images, labels.to(device), batch_size, drop_last=True))
    if not batches:
        raise ValueError(
            f"bare_step_rate needs at least one full batch: got {len(labels)} examples for "
            f"batch_size={batch_size}; pass more examples or a smaller batch_size"
        )
    model = copy.deepcopy(net).to(device)
    model.train()
    if channels_last:
        model.to(memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=_check_lr(lr))
    loss_fn = nn.CrossEntropyLoss()
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            start = time.perf_counter()
        x, y = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)
