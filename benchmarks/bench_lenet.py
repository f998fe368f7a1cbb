"""Benchmark: the classic LeNet trained with the original article's recipe (SGD lr 0.9, batch 256).

Modes (``--mode``):

* ``compare`` (the default): the book's loop (:func:`cnnbook.train.train`) against d2l's
  ``train_ch6`` loop, alternating epoch by epoch, with the bare training step as the ceiling
  (:mod:`lenet_vs_d2l`); prints the table, on any device;
* ``graph``: the whole training step as one CUDA graph, as fast as one GPU goes
  (:mod:`lenet_graph`; CUDA only);
* ``compile``: :func:`cnnbook.train.train` with ``compile=True``, after an untimed warm-up run
  that compiles;
* ``eager``: :func:`cnnbook.train.train` itself, on its own.

Every run writes what it measured, with the machine, the torch version, the date and the
options, to ``benchmarks/results/`` (``--results DIR`` elsewhere). For ``graph``, ``compile``
and ``eager``: examples/sec of the timed training (the original article's formula: training
examples divided by the time of the training epochs, the device synchronised before each
epoch's clock stops; evaluation excluded), the wall-clock of the epochs with evaluation after
each, the one-time set-up (data to the device, warm-up, graph capture or compilation)
separately, and the final accuracies.

Run: ``python benchmarks/bench_lenet.py [--epochs 10] [--rounds 2]``; a smoke check:
``python benchmarks/bench_lenet.py --epochs 1 --rounds 1 --limit 512 --workers 0``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from lenet_graph import run_graph
from lenet_vs_d2l import compare
from results import RESULTS, write_results

from cnnbook.data import load_fashion_mnist
from cnnbook.models import lenet
from cnnbook.train import CLASSIC, choose_device, train


def run_loop(args: argparse.Namespace, device: torch.device, compile: bool) -> dict[str, float]:
    """Train with :func:`cnnbook.train.train` (the book's loop), optionally compiled."""
    t0 = time.perf_counter()
    data = load_fashion_mnist(device).subset(args.limit, args.limit)
    net = lenet()
    recipe = CLASSIC.replace(epochs=args.epochs, batch_size=args.batch_size)
    options = dict(device=device, seed=args.seed, amp=args.amp, channels_last=args.channels_last,
                   compile=compile, report="none", progress=False)  # fmt: skip
    if compile:
        # Compile outside the measured run (torch.compile works lazily, at the first batches):
        # a short warm-up run fills the compilation cache that the measured run then reuses.
        train(net, data.subset(4 * args.batch_size, 1000), recipe.replace(epochs=1), **options)
    setup = time.perf_counter() - t0
    history = train(net, data, recipe, **options)
    return {
        "examples_per_sec": history.examples_per_sec,
        "wall": history.wall_seconds,
        "setup": setup,
        "loss": history.train_loss[-1],
        "train_acc": history.train_acc[-1],
        "test_acc": history.test_acc[-1],
    }


def run_timed(args: argparse.Namespace, device: torch.device) -> dict[str, object]:
    """``--repeats`` runs of the graph, compile or eager mode, printed; returns the figures."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{device} ({torch.get_num_threads()} threads)"
    print(
        f"LeNet, SGD lr 0.9, batch {args.batch_size}, {args.epochs} epochs on {name}; "
        f"mode {args.mode}, bf16 autocast {'on' if args.amp else 'off'}, channels-last "
        f"{'on' if args.channels_last else 'off'}, torch {torch.__version__}",
        flush=True,
    )
    runs = []
    for r in range(args.repeats):
        if args.mode == "graph":
            result = run_graph(args, device)
        else:
            result = run_loop(args, device, compile=args.mode == "compile")
        runs.append(result)
        print(
            f"run {r + 1}: {result['examples_per_sec']:,.0f} examples/sec timed, "
            f"{result['wall']:.2f} s wall for {args.epochs} epochs (evaluation included; "
            f"one-time set-up {result['setup']:.2f} s more), loss {result['loss']:.3f}, "
            f"train acc {result['train_acc']:.3f}, test acc {result['test_acc']:.3f}",
            flush=True,
        )
    best = max(runs, key=lambda r: r["examples_per_sec"])
    print(
        f"best: {best['examples_per_sec']:,.0f} examples/sec timed, "
        f"{min(r['wall'] for r in runs):.2f} s wall"
    )
    return {"runs": runs}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("compare", "graph", "compile", "eager"),
                        default="compare", help="default: compare (the table)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed (compare: of round 1; round k uses seed+k-1)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use the first N examples only (a smoke test, not a benchmark)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="where to write the figures (default: benchmarks/results/)")
    compare_options = parser.add_argument_group("compare")
    compare_options.add_argument("--rounds", type=int, default=2,
                                 help="rounds of one run of each loop (the epochs alternate)")
    compare_options.add_argument("--workers", type=int, default=4,
                                 help="DataLoader worker processes of d2l's loop (d2l: 4)")
    timed = parser.add_argument_group("graph, compile and eager")
    timed.add_argument("--batch-size", type=int, default=256)
    timed.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                       help="bf16 autocast (default: on for CUDA)")
    timed.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    timed.add_argument("--repeats", type=int, default=1, help="runs (the best is reported)")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the chosen mode, print the figures and write them."""
    parser = _parser()
    args = parser.parse_args(argv)
    device = choose_device(args.device)
    if args.amp is None:
        args.amp = device.type == "cuda"
    if args.mode == "graph" and device.type != "cuda":
        parser.error("--mode graph needs a CUDA device: use --mode eager on the CPU")
    figures = compare(args, device) if args.mode == "compare" else run_timed(args, device)
    options = {key: str(value) if isinstance(value, Path) else value
               for key, value in vars(args).items()}  # fmt: skip
    path = write_results(f"bench_lenet-{args.mode}", figures, options, device, args.results)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
