"""Where the benchmarks write what they measured: ``benchmarks/results/``, one JSON file a run.

Each file is named by date, benchmark and machine (``2025-06-01_bench_lenet_x86_64-2cpu.json``)
and records, next to the figures, the machine (platform, processor, CPU count, GPU), the torch
version, the date and the options of the run, so that a figure is never read without them.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine(device: torch.device | None = None) -> dict[str, object]:
    """The machine a figure was measured on."""
    about: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if device is not None and device.type == "cuda":
        about["gpu"] = torch.cuda.get_device_name(device)
    return about


def write_results(
    name: str,
    figures: dict[str, object],
    options: dict[str, object],
    device: torch.device | None = None,
    directory: Path = RESULTS,
) -> Path:
    """Write one run's ``figures`` with its machine, torch version, date and ``options``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    about = machine(device)
    label = f"{platform.machine()}-{about['cpu_count']}cpu"
    if "gpu" in about:
        label += "-" + str(about["gpu"]).replace(" ", "-")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{now:%Y-%m-%d_%H%M%S}_{name}_{label}.json"
    record = {
        "benchmark": name,
        "date": now.isoformat(timespec="seconds"),
        "machine": about,
        "options": options,
        "figures": figures,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def report_redraws(times: dict[str, list[float]], where: str, as_json: bool) -> None:
    """Print each explorer's redraw count, median and 90th percentile (ms), or them as JSON."""
    summary = {name: {"redraws": len(t), "median_ms": round(statistics.median(t), 1),
                      "p90_ms": round(sorted(t)[int(0.9 * (len(t) - 1))], 1)}
               for name, t in times.items() if t}
    if as_json:
        print(json.dumps(summary, indent=1))
        return
    for name, s in summary.items():
        print(f"{name}: {s['redraws']} redraws {where}, median {s['median_ms']} ms, "
              f"90th percentile {s['p90_ms']} ms")
