"""Command line: ``python -m cnnbook train ...`` and ``python -m cnnbook bench ...``.

``train`` runs the notebook's training from a terminal (progress bar and one line per epoch).
``bench`` times the source's training loop (torchvision DataLoader, ``ToTensor``, 4 workers) and
the book's loop on the same LeNet, batch size, learning rate and epochs, alternating in one
process, and prints both throughputs, the ratios and the accuracies.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence

import torch

from cnnbook import data as data_module
from cnnbook import models
from cnnbook import train as train_module

MODELS = ("lenet", "modern")
#: The training recipe of each model when the command line does not override it: the source's
#: for LeNet; for the modern LeNet the one that reaches 0.92 test accuracy in 10 epochs.
RECIPES: dict[str, dict] = {
    "lenet": {"optimizer": "sgd", "lr": 0.9, "weight_decay": 0.0, "schedule": None,
              "augment": False},
    "modern": {"optimizer": "sgd-momentum", "lr": 0.1, "weight_decay": 5e-4,
               "schedule": "cosine", "augment": True},
}  # fmt: skip
#: Learning rate when only the optimizer is changed.
DEFAULT_LR = {"sgd": 0.1, "sgd-momentum": 0.1, "adam": 0.001}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cnnbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train LeNet (or the modern LeNet) on Fashion-MNIST")
    train.add_argument("--model", choices=MODELS, default="lenet")
    train.add_argument("--activation", choices=sorted(models.ACTIVATIONS), default="sigmoid",
                       help="for --model lenet: the activation (default: the source's sigmoid)")
    train.add_argument("--pool", choices=sorted(models.POOLS), default="avg",
                       help="for --model lenet: the pooling (default: the source's average)")
    train.add_argument("--batch-norm", action="store_true",
                       help="for --model lenet: batch normalisation after each layer")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: the model's recipe, see --optimizer)")
    train.add_argument("--optimizer", choices=train_module.OPTIMIZERS, default=None,
                       help="default: sgd (lr 0.9) for lenet; sgd-momentum (lr 0.1, weight "
                       "decay 5e-4, cosine schedule, random flips) for modern")
    train.add_argument("--weight-decay", type=float, default=None)
    train.add_argument("--schedule", choices=("cosine", "none"), default=None)
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="random left-right flips of the training images")
    train.add_argument("--batch-size", type=int, default=256)
    train.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, ...")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=None,
                       help="train and test on the first N examples only (a quick check)")
    train.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="channels-last tensors (default: on for cpu and cuda)")
    train.add_argument("--amp", action="store_true", help="bf16 autocast (mixed precision)")
    train.add_argument("--compile", action="store_true", help="torch.compile the network")
    train.add_argument("--download", action="store_true",
                       help="download Fashion-MNIST into ./data if it is not found locally")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)  # fmt: skip

    bench = commands.add_parser(
        "bench", help="time the source-style loop against the book's loop (classic LeNet)"
    )
    bench.add_argument("--epochs", type=int, default=10)
    bench.add_argument("--rounds", type=int, default=2,
                       help="rounds of one run of each loop (the epochs alternate); one seed each")
    bench.add_argument("--seed", type=int, default=0, help="seed of round 1 (round k: seed+k-1)")
    bench.add_argument("--workers", type=int, default=4,
                       help="DataLoader worker processes of the source-style loop (source: 4)")
    bench.add_argument("--device", default="auto")
    bench.add_argument("--limit", type=int, default=None,
                       help="use the first N examples only (a smoke test, not a benchmark)")
    bench.set_defaults(handler=_bench)  # fmt: skip
    return parser


def _dataset(device: torch.device, limit: int | None, download: bool) -> data_module.FashionMNIST:
    dataset = data_module.load_fashion_mnist(device, download=download)
    return dataset if limit is None else dataset.subset(limit, limit)


def _train(args: argparse.Namespace) -> int:
    recipe = dict(RECIPES[args.model])
    if args.optimizer not in (None, recipe["optimizer"]):
        recipe.update(optimizer=args.optimizer, lr=DEFAULT_LR[args.optimizer])
    if args.lr is not None:
        recipe["lr"] = args.lr
    if args.weight_decay is not None:
        recipe["weight_decay"] = args.weight_decay
    if args.schedule is not None:
        recipe["schedule"] = None if args.schedule == "none" else args.schedule
    if args.augment is not None:
        recipe["augment"] = args.augment
    lr = recipe.pop("lr")
    if args.model == "lenet":
        net = models.lenet(args.activation, args.pool, args.batch_norm)
    else:
        net = models.lenet_modern()
    device = train_module.choose_device(args.device)
    dataset = _dataset(device, args.limit, args.download)
    print(
        f"training {args.model} ({models.count_parameters(net):,} parameters) on {device}: "
        f"{len(dataset.train_labels):,} training / {len(dataset.test_labels):,} test images, "
        f"{recipe['optimizer']} lr {lr:g} (weight decay {recipe['weight_decay']:g}, schedule "
        f"{recipe['schedule']}, flips {'on' if recipe['augment'] else 'off'}), batch "
        f"{args.batch_size}, {args.epochs} epochs, seed {args.seed}",
        flush=True,
    )
    try:
        history = train_module.train(
            net,
            dataset,
            args.epochs,
            lr,
            **recipe,
            batch_size=args.batch_size,
            device=device,
            seed=args.seed,
            channels_last=args.channels_last,
            amp=args.amp,
            compile=args.compile,
            report="text",
            progress=not args.no_progress,
        )
    except train_module.TrainingDivergedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(history.summary())
    return 130 if history.status == "interrupted" else 0


# DataLoader warns when it has more workers than cores: 4 on 2 cores is the source's set-up.
_WORKER_WARNING = ".*worker processes in total.*"


class _Run:
    """One of the two loops of ``bench``, advanced one epoch at a time.

    Both loops train the classic LeNet with plain SGD (lr 0.9), which keeps no state between
    steps, so ``epochs`` calls of one epoch each are the same training as one call of
    ``epochs`` epochs: this is what lets the two loops alternate epoch by epoch, so that a busy
    spell of the machine hits both. ``wall`` adds up the data set-up and every epoch's
    end-to-end time (training and evaluation).
    """

    def __init__(self, kind: str, args: argparse.Namespace, seed: int, device: torch.device):
        self.kind, self.args, self.seed, self.device = kind, args, seed, device
        start = time.perf_counter()
        self.net = models.lenet()
        torch.manual_seed(seed)
        train_module.reinitialise(self.net)
        if kind == "source":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_WORKER_WARNING)
                self.loaders = data_module.torchvision_loaders(
                    256, num_workers=args.workers, seed=seed, limit=args.limit
                )
        else:
            self.dataset = _dataset(device, args.limit, download=False)
        self.wall = time.perf_counter() - start
        self.examples = 0
        self.timed = 0.0
        self.last: train_module.History | None = None

    def epoch(self, index: int) -> None:
        if self.kind == "source":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_WORKER_WARNING)
                history = train_module.train_source_style(
                    self.net, *self.loaders, 1, 0.9, self.device, seed=None, init=False
                )
        else:
            # A new shuffling seed per epoch, as one long run draws a new order per epoch.
            history = train_module.train(
                self.net, self.dataset, 1, 0.9, batch_size=256, device=self.device,
                seed=self.seed * 1000 + index, init=None, report="none", progress=False,
            )  # fmt: skip
        self.examples += history.examples
        self.timed += history.train_seconds
        self.wall += history.wall_seconds
        self.last = history

    @property
    def rate(self) -> float:
        return self.examples / self.timed


#: Batches of the bare-step measurement (cycled), and its steps: about 2 s on a 2-core CPU.
BARE_BATCHES, BARE_STEPS = 20, 100


def _bare_rates(book: _Run, source_rate: float) -> tuple[float, float] | None:
    """The bare training step's examples/sec, channels-last and NCHW, on the book run's net."""
    images = book.dataset.train_images[: 256 * BARE_BATCHES]
    labels = book.dataset.train_labels[: 256 * BARE_BATCHES]
    if len(labels) < 256:
        print("  bare step     not measured: fewer than 256 training examples")
        return None
    rates = tuple(
        train_module.bare_step_rate(book.net, images, labels, 0.9, 256, BARE_STEPS,
                                    channels_last=layout, device=book.device)
        for layout in (True, False)
    )  # fmt: skip
    _print_bare(*rates, source_rate)
    return rates


def _print_bare(channels_last: float, nchw: float, source_rate: float) -> None:
    print(
        f"  {'bare step':13s} {channels_last:10,.0f} examples/sec channels-last, {nchw:,.0f} NCHW "
        "(the step alone: no data loading, metrics or evaluation)\n"
        f"  {'ceiling':13s} {channels_last / source_rate:9.2f}x examples/sec: the bare "
        "channels-last step over the source-style loop (a loop running the same kernels "
        "cannot pass it)"
    )


def _bench(args: argparse.Namespace) -> int:
    device = train_module.choose_device(args.device)
    rounds = max(1, args.rounds)
    epochs = max(1, args.epochs)
    # The allocator setting of the book's loop, applied to the process before either loop runs,
    # so that the comparison is between the loops and not between allocators.
    tuned = train_module.reuse_freed_memory()
    print(
        f"LeNet (sigmoid, avg-pool, xavier init), SGD lr 0.9, batch 256, {epochs} epochs, "
        f"on {device} ({os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads), "
        f"torch {torch.__version__}; malloc keeps freed memory: {tuned}"
        + (f"; first {args.limit} examples only" if args.limit else "")
    )
    print(
        "The two loops alternate epoch by epoch. examples/sec: the source's formula (training "
        "examples / timed seconds); source-style timer: around each step (fetching the batch "
        "from the DataLoader not timed); book timer: whole training epochs (fetching batches "
        "included, evaluation not). Wall: data set-up + training + evaluation, all epochs.",
        flush=True,
    )
    # Untimed warm-up: decode and verify the files once; both loops then read the same copy.
    data_module.torchvision_root()
    data_module.fashion_mnist_uint8()
    runs: dict[str, list[_Run]] = {"source": [], "book": []}
    bare: list[tuple[float, float] | None] = []
    for r in range(rounds):
        seed = args.seed + r
        pair = {kind: _Run(kind, args, seed, device) for kind in ("source", "book")}
        for e in range(epochs):
            order = ("source", "book") if (r + e) % 2 == 0 else ("book", "source")
            for kind in order:
                pair[kind].epoch(e)
        print(f"\nround {r + 1} (seed {seed})")
        for kind in ("source", "book"):
            run = pair[kind]
            last = run.last
            print(
                f"  {'source-style' if kind == 'source' else 'book':13s} "
                f"{run.rate:10,.0f} examples/sec   {run.wall:7.1f} s wall   "
                f"loss {last.train_loss[-1]:.3f}, train acc {last.train_acc[-1]:.3f}, "
                f"test acc {last.test_acc[-1]:.3f}"
            )
            runs[kind].append(run)
        src, book = pair["source"], pair["book"]
        print(
            f"  {'book/source':13s} {book.rate / src.rate:9.2f}x examples/sec "
            f"{src.wall / book.wall:9.2f}x wall-clock"
        )
        bare.append(_bare_rates(book, src.rate))
    if rounds > 1:
        print(f"\nall {rounds} rounds:")
        totals = {}
        for kind in ("source", "book"):
            examples = sum(run.examples for run in runs[kind])
            timed = sum(run.timed for run in runs[kind])
            wall = sum(run.wall for run in runs[kind])
            accuracies = ", ".join(f"{run.last.test_acc[-1]:.3f}" for run in runs[kind])
            totals[kind] = (examples / timed, wall)
            print(
                f"  {'source-style' if kind == 'source' else 'book':13s} "
                f"{examples / timed:10,.0f} examples/sec   {wall:7.1f} s wall   "
                f"test acc {accuracies}"
            )
        print(
            f"  {'book/source':13s} {totals['book'][0] / totals['source'][0]:9.2f}x examples/sec "
            f"{totals['source'][1] / totals['book'][1]:9.2f}x wall-clock"
        )
        measured = [rates for rates in bare if rates is not None]
        if measured:
            cl_rate, nchw = (sum(r[i] for r in measured) / len(measured) for i in (0, 1))
            _print_bare(cl_rate, nchw, totals["source"][0])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m cnnbook`` and of the ``cnnbook`` script."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (data_module.DataNotFoundError, data_module.DataCorruptedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
