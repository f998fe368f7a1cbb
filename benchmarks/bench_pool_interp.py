"""Time cnnbook's pooling and interpolation against PyTorch's own ops on the CPU.

Rerunnable: ``python benchmarks/bench_pool_interp.py [--repeats R] [--threads T ...]``. Each
case runs ours and PyTorch's alternately in one process (so both see the same machine state),
takes the median of the repeats, checks that the two outputs agree, and prints both times and
the ratio ours / PyTorch. The input is a (8, 16, 64, 64) float32 batch, as in a small CNN layer.

It runs once on one thread and once on torch's default thread count. Ours is several torch ops
where PyTorch's is one, so on a machine whose cores are busy with other work the multi-threaded
ratio grows: every op waits for all its threads. The one-thread table measures the algorithms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from cnnbook.interpolate import interpolate
from cnnbook.pooling import pool2d

SHAPE = (8, 16, 64, 64)


def cases(
    x: torch.Tensor,
) -> list[tuple[str, Callable[[], torch.Tensor], Callable[[], torch.Tensor]]]:
    """(name, ours, PyTorch's) for every timed operation."""
    return [
        ("max 2x2 s2", lambda: pool2d(x, 2), lambda: F.max_pool2d(x, 2)),
        ("avg 2x2 s2", lambda: pool2d(x, 2, mode="avg"), lambda: F.avg_pool2d(x, 2)),
        (
            "max 3x3 s2 p1",
            lambda: pool2d(x, 3, stride=2, padding=1),
            lambda: F.max_pool2d(x, 3, stride=2, padding=1),
        ),
        (
            "avg 3x3 s2 p1",
            lambda: pool2d(x, 3, stride=2, padding=1, mode="avg"),
            lambda: F.avg_pool2d(x, 3, stride=2, padding=1),
        ),
        (
            "max 2x2 s2 +indices",
            lambda: pool2d(x, 2, return_indices=True)[0],
            lambda: F.max_pool2d(x, 2, return_indices=True)[0],
        ),
        (
            "bilinear x2 up",
            lambda: interpolate(x, scale_factor=2, mode="bilinear"),
            lambda: F.interpolate(x, scale_factor=2, mode="bilinear"),
        ),
    ]


def seconds(fn: Callable[[], torch.Tensor]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(x: torch.Tensor, repeats: int) -> float:
    """Print one table at the current thread count; return the worst ratio."""
    print(f"\n{torch.get_num_threads()} thread(s), median of {repeats} alternating runs")
    print(f"{'case':<22}{'ours ms':>10}{'torch ms':>10}{'ratio':>8}")
    worst = 0.0
    for name, ours, theirs in cases(x):
        torch.testing.assert_close(ours(), theirs())  # time only what agrees
        for _ in range(3):  # warm-up
            ours(), theirs()
        t_ours, t_theirs = [], []
        for _ in range(repeats):  # alternate, so drifts in machine load hit both sides
            t_ours.append(seconds(ours))
            t_theirs.append(seconds(theirs))
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        worst = max(worst, a / b)
        print(f"{name:<22}{a * 1e3:>10.3f}{b * 1e3:>10.3f}{a / b:>8.2f}")
    print(f"worst ratio ours/PyTorch: {worst:.2f}")
    return worst


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
    args = parser.parse_args()
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    print(f"input {tuple(x.shape)} float32 on the CPU, torch {torch.__version__}")
    for threads in dict.fromkeys(args.threads):
        torch.set_num_threads(threads)
        run(x, args.repeats)


if __name__ == "__main__":
    main()
