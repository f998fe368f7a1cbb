"""The book's training loop against d2l's ``train_ch6`` loop, on the classic LeNet.

Both loops train the same LeNet (same xavier initialisation), with plain SGD at lr 0.9 and
batches of 256, alternating epoch by epoch in one process so that a busy spell of the machine
hits both. Rows labelled ``source-style`` are d2l's loop as the original article runs it
(:mod:`d2l_baseline`: torchvision DataLoader, ``ToTensor``, 4 worker processes); ``book`` is
:func:`cnnbook.train.train`. After each round the bare training step is timed too
(:func:`bare_step.bare_step_rate`): the ceiling of any loop running the same kernels.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import torch
from bare_step import bare_step_rate
from d2l_baseline import d2l_loaders, d2l_train

from cnnbook import datafiles
from cnnbook.data import FashionMNIST, load_fashion_mnist
from cnnbook.memory import reuse_freed_memory
from cnnbook.models import lenet, reinitialise
from cnnbook.train import CLASSIC, History, train

# DataLoader warns when it has more workers than cores: 4 on 2 cores is d2l's set-up.
_WORKER_WARNING = ".*worker processes in total.*"
#: One epoch of the original article's recipe, continuing from the weights as they are.
ONE_EPOCH = CLASSIC.replace(epochs=1, init=None)
#: Batches of the bare-step measurement (cycled), and its steps.
BARE_BATCHES, BARE_STEPS = 20, 100
#: The labels of the table (``source-style``: the loop of the original article, d2l's).
LABELS = {"d2l": "source-style", "book": "book"}


class Run:
    """One of the two loops, advanced one epoch at a time.

    Both loops train with plain SGD, which keeps no state between steps, so ``epochs`` calls of
    one epoch each are the same training as one call of ``epochs`` epochs: this is what lets the
    two loops alternate epoch by epoch. ``wall`` adds up the data set-up and every epoch's
    end-to-end time (training and evaluation).
    """

    def __init__(self, kind: str, args: argparse.Namespace, seed: int, device: torch.device):
        self.kind, self.seed, self.device = kind, seed, device
        start = time.perf_counter()
        self.net = lenet()
        torch.manual_seed(seed)
        reinitialise(self.net)
        if kind == "d2l":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_WORKER_WARNING)
                self.loaders = d2l_loaders(256, num_workers=args.workers, seed=seed,
                                           limit=args.limit)  # fmt: skip
        else:
            dataset = load_fashion_mnist(device)
            self.dataset: FashionMNIST = dataset.subset(args.limit, args.limit)
        self.wall = time.perf_counter() - start
        self.examples = 0
        self.timed = 0.0
        self.last: History | None = None

    def epoch(self, index: int) -> None:
        """Train one more epoch."""
        if self.kind == "d2l":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_WORKER_WARNING)
                history = d2l_train(self.net, *self.loaders, 1, 0.9, self.device, seed=None,
                                    init=False)  # fmt: skip
        else:
            # A new shuffling seed per epoch, as one long run draws a new order per epoch.
            seed = self.seed * 1000 + index
            history = train(self.net, self.dataset, ONE_EPOCH, device=self.device, seed=seed,
                            report="none", progress=False)  # fmt: skip
        self.examples += history.examples
        self.timed += history.train_seconds
        self.wall += history.wall_seconds
        self.last = history

    @property
    def rate(self) -> float:
        """Training examples per timed second so far."""
        return self.examples / self.timed


def bare_rates(book: Run) -> dict[str, float] | None:
    """The bare training step's examples/sec, channels-last and NCHW, on the book run's net."""
    images = book.dataset.train_images[: 256 * BARE_BATCHES]
    labels = book.dataset.train_labels[: 256 * BARE_BATCHES]
    if len(labels) < 256:
        print("  bare step     not measured: fewer than 256 training examples")
        return None
    return {
        name: bare_step_rate(book.net, images, labels, 0.9, 256, BARE_STEPS,
                             channels_last=layout, device=book.device)
        for name, layout in (("channels_last", True), ("nchw", False))
    }  # fmt: skip


def print_row(kind: str, rate: float, wall: float, results: str) -> None:
    """One loop's line of the table."""
    print(f"  {LABELS[kind]:13s} {rate:10,.0f} examples/sec   {wall:7.1f} s wall   {results}")


def print_ratio(book: tuple[float, float], d2l: tuple[float, float]) -> None:
    """The book's loop over d2l's: examples/sec, and wall-clock (lower is better)."""
    print(
        f"  {'book/source':13s} {book[0] / d2l[0]:9.2f}x examples/sec "
        f"{d2l[1] / book[1]:9.2f}x wall-clock"
    )


def print_bare(rates: dict[str, float], d2l_rate: float) -> None:
    """The bare step's rates and the ceiling they put on the book/d2l ratio."""
    print(
        f"  {'bare step':13s} {rates['channels_last']:10,.0f} examples/sec channels-last, "
        f"{rates['nchw']:,.0f} NCHW (the step alone: no data loading, metrics or evaluation)\n"
        f"  {'ceiling':13s} {rates['channels_last'] / d2l_rate:9.2f}x examples/sec: the bare "
        "channels-last step over the source-style loop (a loop running the same kernels "
        "cannot pass it)"
    )


def compare(args: argparse.Namespace, device: torch.device) -> dict[str, object]:
    """Run ``args.rounds`` rounds of both loops, print the table, return its figures."""
    rounds, epochs = max(1, args.rounds), max(1, args.epochs)
    # The allocator setting, applied to the process before either loop runs, so that the
    # comparison is between the loops and not between allocators.
    tuned = reuse_freed_memory()
    print(
        f"LeNet (sigmoid, avg-pool, xavier init), SGD lr 0.9, batch 256, {epochs} epochs, "
        f"on {device} ({os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads), "
        f"torch {torch.__version__}; malloc keeps freed memory: {tuned}"
        + (f"; first {args.limit} examples only" if args.limit else "")
    )
    print(
        "source-style: d2l's train_ch6 loop, as the original article runs it (torchvision "
        f"DataLoader, ToTensor, {args.workers} workers); book: cnnbook.train.train.\n"
        "The two loops alternate epoch by epoch. examples/sec: the original article's formula "
        "(training examples / timed seconds); source-style timer: around each step (fetching the "
        "batch from the DataLoader not timed); book timer: whole training epochs (fetching "
        "batches included, evaluation not). Wall: data set-up + training + evaluation, all epochs.",
        flush=True,
    )
    # Untimed warm-up: decode and verify the files once; both loops then read the same copy.
    datafiles.torchvision_root()
    datafiles.fashion_mnist_uint8()
    runs: dict[str, list[Run]] = {"d2l": [], "book": []}
    figures: dict[str, object] = {"rounds": []}
    for r in range(rounds):
        seed = args.seed + r
        pair = {kind: Run(kind, args, seed, device) for kind in ("d2l", "book")}
        for e in range(epochs):
            for kind in ("d2l", "book") if (r + e) % 2 == 0 else ("book", "d2l"):
                pair[kind].epoch(e)
        print(f"\nround {r + 1} (seed {seed})")
        for kind, run in pair.items():
            last = run.last
            print_row(kind, run.rate, run.wall, f"loss {last.train_loss[-1]:.3f}, train acc "
                      f"{last.train_acc[-1]:.3f}, test acc {last.test_acc[-1]:.3f}")  # fmt: skip
            runs[kind].append(run)
        print_ratio(*((pair[k].rate, pair[k].wall) for k in ("book", "d2l")))
        bare = bare_rates(pair["book"])
        if bare is not None:
            print_bare(bare, pair["d2l"].rate)
        figures["rounds"].append({
            "seed": seed,
            **{f"{kind}_{what}": value for kind, run in pair.items() for what, value in (
                ("examples_per_sec", run.rate), ("wall_seconds", run.wall),
                ("test_acc", run.last.test_acc[-1]))},
            "bare_step_examples_per_sec": bare,
        })  # fmt: skip
    if rounds > 1:
        print(f"\nall {rounds} rounds:")
        totals = {}
        for kind in ("d2l", "book"):
            rate = sum(run.examples for run in runs[kind]) / sum(run.timed for run in runs[kind])
            wall = sum(run.wall for run in runs[kind])
            totals[kind] = (rate, wall)
            accuracies = ", ".join(f"{run.last.test_acc[-1]:.3f}" for run in runs[kind])
            print_row(kind, rate, wall, f"test acc {accuracies}")
        print_ratio(totals["book"], totals["d2l"])
        figures["all_rounds"] = {
            f"{kind}_{what}": value for kind, (rate, wall) in totals.items()
            for what, value in (("examples_per_sec", rate), ("wall_seconds", wall))
        }  # fmt: skip
        measured = [r["bare_step_examples_per_sec"] for r in figures["rounds"]]
        measured = [rates for rates in measured if rates is not None]
        if measured:
            mean = {k: sum(m[k] for m in measured) / len(measured) for k in measured[0]}
            print_bare(mean, totals["d2l"][0])
    return figures
