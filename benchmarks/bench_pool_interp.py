"""Time cnnbook's pooling, unpooling and interpolation against PyTorch's own ops on the CPU.

Rerunnable: ``python benchmarks/bench_pool_interp.py [--repeats R] [--threads T ...]``. Each
case runs ours and PyTorch's alternately in one process (so both see the same machine state),
takes the median of the repeats, checks that the two results agree, and prints both times and
the ratio ours / PyTorch. The input is a (8, 16, 64, 64) float32 batch, as in a small CNN layer.
The "+grad" cases time the forward and the backward pass together, as in training.

Every ratio above 20 is flagged: the teaching ops are written to be read, and within 20 times
PyTorch's speed is all they aim for (the book trains with PyTorch's own layers). The figures go
to ``benchmarks/results/`` with the machine, torch version and date.

It runs once on one thread and once on torch's default thread count. Ours is several torch ops
where PyTorch's is one, so on a machine whose cores are busy with other work the multi-threaded
ratio grows: every op waits for all its threads. The one-thread table measures the algorithms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from results import RESULTS, write_results

from cnnbook.interpolate import interpolate
from cnnbook.pooling import max_unpool2d, pool2d

SHAPE = (8, 16, 64, 64)
MAX_RATIO = 20.0

Case = tuple[str, Callable[[], object], Callable[[], object]]


def with_grad(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Callable[[], object]:
    """Forward and backward pass of ``fn`` on ``x``; returns the output and the input gradient."""
    shape = fn(x).shape
    upstream = torch.randn(shape, generator=torch.Generator().manual_seed(1))  # same for both
    x = x.detach().requires_grad_()

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        y = fn(x)
        (grad,) = torch.autograd.grad(y, x, upstream)
        return y, grad

    return step


def cases(x: torch.Tensor) -> list[Case]:
    """(name, ours, PyTorch's) for every timed operation."""
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    p3 = {"kernel_size": 3, "stride": 2, "padding": 1}
    avg_ceil = {**p3, "ceil_mode": True, "count_include_pad": False}
    return [
        ("max 2x2 s2", lambda: pool2d(x, 2), lambda: F.max_pool2d(x, 2)),
        ("avg 2x2 s2", lambda: pool2d(x, 2, mode="avg"), lambda: F.avg_pool2d(x, 2)),
        ("max 3x3 s2 p1", lambda: pool2d(x, **p3), lambda: F.max_pool2d(x, **p3)),
        ("avg 3x3 s2 p1", lambda: pool2d(x, **p3, mode="avg"), lambda: F.avg_pool2d(x, **p3)),
        (
            "max 2x2 s2 +indices",
            lambda: pool2d(x, 2, return_indices=True),
            lambda: F.max_pool2d(x, 2, return_indices=True),
        ),
        (
            "max 3x3 s1 dil2",
            lambda: pool2d(x, 3, stride=1, dilation=2),
            lambda: F.max_pool2d(x, 3, stride=1, dilation=2),
        ),
        (
            "avg 3x3 s2 p1 ceil",
            lambda: pool2d(x, **avg_ceil, mode="avg"),
            lambda: F.avg_pool2d(x, **avg_ceil),
        ),
        (
            "max_unpool2d 2x2",
            lambda: max_unpool2d(values, indices, 2),
            lambda: F.max_unpool2d(values, indices, 2),
        ),
        (
            "max 3x3 s2 p1 +grad",
            with_grad(lambda t: pool2d(t, **p3), x),
            with_grad(lambda t: F.max_pool2d(t, **p3), x),
        ),
        (
            "avg 3x3 s2 p1 +grad",
            with_grad(lambda t: pool2d(t, **p3, mode="avg"), x),
            with_grad(lambda t: F.avg_pool2d(t, **p3), x),
        ),
        (
            "bilinear x2 up",
            lambda: interpolate(x, scale_factor=2, mode="bilinear"),
            lambda: F.interpolate(x, scale_factor=2, mode="bilinear"),
        ),
    ]


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(x: torch.Tensor, repeats: int) -> dict[str, float]:
    """Print one table at the current thread count; return the ratio of every case."""
    print(f"\n{torch.get_num_threads()} thread(s), median of {repeats} alternating runs")
    print(f"{'case':<22}{'ours ms':>10}{'torch ms':>10}{'ours/PyTorch':>14}")
    ratios = {}
    for name, ours, theirs in cases(x):
        torch.testing.assert_close(ours(), theirs())  # time only what agrees
        for _ in range(3):  # warm-up
            ours(), theirs()
        t_ours, t_theirs = [], []
        for _ in range(repeats):  # alternate, so drifts in machine load hit both sides
            t_ours.append(seconds(ours))
            t_theirs.append(seconds(theirs))
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        ratios[name] = a / b
        flag = f"  above {MAX_RATIO:g}x" if a / b > MAX_RATIO else ""
        print(f"{name:<22}{a * 1e3:>10.3f}{b * 1e3:>10.3f}{a / b:>14.2f}{flag}")
    worst = max(ratios, key=ratios.get)
    print(f"worst ratio ours/PyTorch: {ratios[worst]:.2f} ({worst})")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per case and side")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, torch.get_num_threads()],
        help="thread counts to run at (default: 1 and torch's default)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the figures")
    args = parser.parse_args()
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    print(f"input {tuple(x.shape)} float32 on the CPU, torch {torch.__version__}")
    figures = {}
    for threads in dict.fromkeys(args.threads):
        torch.set_num_threads(threads)
        figures[f"ratios_{threads}_threads"] = run(x, args.repeats)
    flagged = sorted({name for r in figures.values() for name, v in r.items() if v > MAX_RATIO})
    verdict = f"above {MAX_RATIO:g}x: {', '.join(flagged)}" if flagged else "none above 20x"
    print(f"\n{verdict}")
    options = {"shape": list(SHAPE), "repeats": args.repeats, "threads": args.threads}
    path = write_results("bench_pool_interp", figures, options, directory=args.results)
    print(f"figures written to {path}")


if __name__ == "__main__":
    main()
