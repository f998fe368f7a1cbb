"""Redraw latency of the live explorers: slider moved -> new picture, median over many moves.

    python benchmarks/bench_widgets.py

Target (issue 2): median <= 100 ms on the project's 2-core machine.
"""

from __future__ import annotations

from cnnbook.widgets import sliding_window_explorer


def main() -> None:
    """Move every control of the sliding-window explorer and report redraw times."""
    explorer = sliding_window_explorer()
    explorer.render_ms.clear()
    for _ in range(3):
        for step in range(explorer.step.max + 1):
            explorer.step.value = step
    for padding in (1, 2, 0):
        explorer.controls["padding"].value = padding
    for stride in (2, 3, 1):
        explorer.controls["stride"].value = stride
    times = sorted(explorer.render_ms)
    print(f"sliding-window explorer: {len(times)} redraws, median {explorer.median_render_ms():.1f}"
          f" ms, 90th percentile {times[int(0.9 * len(times))]:.1f} ms")


if __name__ == "__main__":
    main()
