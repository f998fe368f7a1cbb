"""The benchmarks' own code: d2l's baseline loop and loaders, the bare step, the results files.

The benchmarks are scripts in ``benchmarks/`` (not part of the package); their modules import
each other by name, so the folder goes on ``sys.path`` here as it does when a script runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from cnnbook import data, datafiles, models

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_lenet  # noqa: E402
from bare_step import bare_step_rate  # noqa: E402
from d2l_baseline import d2l_loaders, d2l_train  # noqa: E402
from results import write_results  # noqa: E402

needs_data = pytest.mark.skipif(
    not all((datafiles.DEBIAN_DIR / f"{n}.gz").is_file() for n in datafiles.IDX_FILES),
    reason=f"Fashion-MNIST not installed: {datafiles.APT_COMMAND}",
)


def random_images(n: int, seed: int = 0) -> data.FashionMNIST:
    """Random images and labels: the loops are timed here, not judged on what they learn."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, 28, 28, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return data.FashionMNIST(images, labels, images[: n // 4], labels[: n // 4])


def test_d2l_loop_matches_its_own_definition():
    dataset = random_images(256)
    train_iter = data.BatchIterator(dataset.train_images, dataset.train_labels, 64, shuffle=True)
    test_iter = list(data.BatchIterator(dataset.test_images, dataset.test_labels, 64))
    history = d2l_train(models.lenet(), train_iter, test_iter, 2, 0.9)
    assert history.epochs == 2 and history.examples == 2 * 256
    assert history.examples_per_sec == pytest.approx(512 / history.train_seconds)
    assert 0.0 <= history.test_acc[-1] <= 1.0


def test_bare_step_rate_times_the_steps_on_a_copy(monkeypatch: pytest.MonkeyPatch):
    dataset = random_images(256)
    net = models.lenet()
    before = [p.detach().clone() for p in net.parameters()]
    calls: list[int] = []
    net.register_forward_hook(lambda *_: calls.append(1))  # deep-copied with the net
    ticks = iter([10.0, 12.0])  # the clock starts after the warm-up and stops after the steps
    monkeypatch.setattr("bare_step.time.perf_counter", lambda: next(ticks))
    rate = bare_step_rate(net, dataset.train_images, dataset.train_labels, 0.9, batch_size=64,
                          steps=6, warmup=2, channels_last=True)  # fmt: skip
    assert rate == 6 * 64 / 2.0
    assert len(calls) == 8  # warm-up and timed steps, each one forward pass
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_bare_step_rate_checks_its_arguments():
    dataset = random_images(64)
    with pytest.raises(ValueError, match="at least one full batch: got 64 examples"):
        bare_step_rate(models.lenet(), dataset.train_images, dataset.train_labels, batch_size=128)
    with pytest.raises(ValueError, match="warmup must be a non-negative int"):
        bare_step_rate(models.lenet(), dataset.train_images, dataset.train_labels, warmup=-1)


@needs_data
def test_d2l_loaders_serve_the_verified_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(datafiles.CACHE_ENV, str(tmp_path / "cache"))
    train_iter, test_iter = d2l_loaders(64, num_workers=0, seed=1, limit=200)
    x, y = next(iter(train_iter))
    assert x.shape == (64, 1, 28, 28) and y.shape == (64,)
    assert sum(len(y) for _, y in test_iter) == 200


def test_results_name_the_machine_torch_and_date(tmp_path: Path):
    path = write_results("demo", {"examples_per_sec": 1.5}, {"epochs": 1}, directory=tmp_path)
    record = json.loads(path.read_text())
    assert path.parent == tmp_path and path.name.endswith(".json") and "_demo_" in path.name
    assert record["figures"] == {"examples_per_sec": 1.5} and record["options"] == {"epochs": 1}
    assert record["machine"]["torch"] == torch.__version__
    assert record["machine"]["cpu_count"] >= 1 and record["machine"]["platform"]
    assert record["date"][:4].isdigit()


@needs_data
def test_bench_lenet_prints_the_table_and_writes_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code = bench_lenet.main(["--epochs", "1", "--rounds", "1", "--limit", "512", "--workers", "0",
                             "--device", "cpu", "--results", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "source-style" in out and "book/source" in out and "x wall-clock" in out
    assert "bare step" in out and "examples/sec channels-last" in out and "ceiling" in out
    assert "d2l's train_ch6 loop" in out
    (written,) = tmp_path.glob("*_bench_lenet-compare_*.json")
    figures = json.loads(written.read_text())["figures"]["rounds"][0]
    assert figures["book_examples_per_sec"] > 0 and figures["d2l_examples_per_sec"] > 0
