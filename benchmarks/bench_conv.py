"""Benchmark: cnnbook's from-scratch convolutions against PyTorch's, forward pass on the CPU.

Times :func:`cnnbook.conv.conv2d` against :func:`torch.nn.functional.conv2d` and
:func:`cnnbook.transposed.conv_transpose2d` against :func:`torch.nn.functional.conv_transpose2d`
on one (8, 16, 64, 64) float32 input with 32 kernels of 3x3: padding 1, and for the transposed
convolution also the up-sampling case (stride 2, padding 1, output_padding 1), where the input
is spread out with zeros first. The two sides of each pair run alternately in one process, so
that a slow spell of the machine hits both; each figure is the median over the repeats.

Prints the times and the ratio ours / PyTorch, and flags every ratio above 20: the teaching ops
are written to be read, and within 20 times PyTorch's speed is all they aim for (the book trains
with PyTorch's own layers).

Run: ``python benchmarks/bench_conv.py [--repeats 30] [--threads N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from cnnbook.conv import conv2d
from cnnbook.transposed import conv_transpose2d

MAX_RATIO = 20.0


def time_once(fn: Callable[[], torch.Tensor]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    ours: Callable[[], torch.Tensor], theirs: Callable[[], torch.Tensor], repeats: int, warmup: int
) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``theirs``, timed alternately after ``warmup`` calls each."""
    torch.testing.assert_close(ours(), theirs(), rtol=1e-4, atol=1e-4)  # same computation
    for _ in range(warmup):
        ours()
        theirs()
    ours_times, theirs_times = [], []
    for _ in range(repeats):
        ours_times.append(time_once(ours))
        theirs_times.append(time_once(theirs))
    return statistics.median(ours_times), statistics.median(theirs_times)


def main() -> None:
    """Run the comparisons and print a small table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per function")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per function")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8, 16, 64, 64, generator=generator)
    weight = torch.randn(32, 16, 3, 3, generator=generator)  # conv2d: (C_out, C_in, k, k)
    weight_t = torch.randn(16, 32, 3, 3, generator=generator)  # transposed: (C_in, C_out, k, k)
    bias = torch.randn(32, generator=generator)
    up = dict(stride=2, padding=1, output_padding=1)

    cases = {
        "conv2d": (
            lambda: conv2d(x, weight, bias, padding=1),
            lambda: F.conv2d(x, weight, bias, padding=1),
        ),
        "conv_transpose2d": (
            lambda: conv_transpose2d(x, weight_t, bias, padding=1),
            lambda: F.conv_transpose2d(x, weight_t, bias, padding=1),
        ),
        "conv_transpose2d s2": (
            lambda: conv_transpose2d(x, weight_t, bias, **up),
            lambda: F.conv_transpose2d(x, weight_t, bias, **up),
        ),
    }
    print(
        f"input {tuple(x.shape)} float32, 32 kernels 3x3, padding 1 (s2: stride 2, "
        f"output_padding 1), CPU, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"median of {args.repeats} alternating runs"
    )
    print(f"{'op':<21}{'cnnbook (ms)':>14}{'PyTorch (ms)':>14}{'ours/PyTorch':>14}")
    with torch.inference_mode():
        for name, (ours, theirs) in cases.items():
            ours_s, theirs_s = compare(ours, theirs, args.repeats, args.warmup)
            ratio = ours_s / theirs_s
            flag = f"  above {MAX_RATIO:g}x" if ratio > MAX_RATIO else ""
            print(f"{name:<21}{ours_s * 1e3:>14.2f}{theirs_s * 1e3:>14.2f}{ratio:>14.2f}{flag}")


if __name__ == "__main__":
    main()
