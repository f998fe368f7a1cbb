"""The GPU paths of training (channels-last, bf16 autocast, torch.compile, the graph benchmark).

Skipped where there is no CUDA device; the CPU tests in test_train.py run the same code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnbook import data, models
from cnnbook.train import CLASSIC, Recipe, choose_device, evaluate, train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
QUIET = {"report": "none", "progress": False}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small() -> data.FashionMNIST:
    return data.load_fashion_mnist("cuda").subset(4096, 2048)


def test_auto_picks_cuda():
    assert choose_device("auto").type == "cuda"


@pytest.mark.parametrize("amp", [False, True])
def test_training_on_cuda_learns(small: data.FashionMNIST, amp: bool):
    recipe = Recipe(epochs=2, lr=0.01, optimizer="adam")
    history = train(models.lenet_modern(), small, recipe, device="cuda", amp=amp, **QUIET)
    assert history.device.startswith("cuda")
    assert history.test_acc[-1] > 0.7
    assert history.train_loss[-1] < history.train_loss[0]


def test_cuda_and_cpu_evaluate_agree(small: data.FashionMNIST):
    torch.manual_seed(0)
    net = models.lenet_modern().eval()
    cpu = evaluate(net, (small.test_images.cpu(), small.test_labels.cpu()), "cpu")
    gpu = evaluate(net.cuda(), (small.test_images, small.test_labels), "cuda", channels_last=True)
    assert abs(cpu - gpu) <= 2 / len(small.test_labels)  # float rounding may flip one or two


def test_seeded_cuda_runs_reproduce_closely(small: data.FashionMNIST):
    one_epoch = CLASSIC.replace(epochs=1)
    runs = [train(models.lenet(), small, one_epoch, device="cuda", seed=3, **QUIET) for _ in "ab"]
    assert runs[0].train_loss[0] == pytest.approx(runs[1].train_loss[0], rel=1e-3)


def test_compiled_training_runs(small: data.FashionMNIST):
    history = train(models.lenet(), small.subset(1024, 512), CLASSIC.replace(epochs=1),
                    device="cuda", compile=True, **QUIET)  # fmt: skip
    assert history.status == "completed"


def test_graph_benchmark_script_runs(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_lenet.py"), "--mode", "graph",
         "--epochs", "2", "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "examples/sec timed" in result.stdout
    assert len(list(tmp_path.glob("*_bench_lenet-graph_*.json"))) == 1
