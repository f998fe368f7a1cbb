"""Training-speed help from the C library: freed memory kept for the next step.

Not a teaching idea, a practical one: on Linux, a CPU training step of a small network can spend
a large share of its time in page faults unless glibc is told to keep freed memory. :func:`train`
calls :func:`reuse_freed_memory` once when it trains on the CPU; the benchmarks call it for both
loops they compare.
"""

from __future__ import annotations

import ctypes
import sys

_MALLOC_TUNED = False


def reuse_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse; returns whether it applies.

    A LeNet training step on the CPU allocates and frees some 20 MB of activations and
    gradients. By default glibc hands large freed blocks back to the operating system (blocks
    above the mmap threshold, and the top of the heap beyond the trim threshold), so the next
    step may get them back as fresh zero-filled pages, up to thousands of page faults per step
    (glibc adapts its thresholds as the process runs, so the count varies from none to
    thousands between runs, which is why the book measures the speed, not the faults). Raising
    the mmap threshold to its maximum (32 MiB) and the trim threshold to 1 GiB keeps that memory
    in the process, and the next step reuses it with no fault. The price: the process keeps its
    peak memory (a few hundred MB for LeNet). Linux with glibc only; elsewhere (macOS, Windows,
    musl) it does nothing and returns False.
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
