"""Training and evaluation: devices, reproducibility, divergence, Ctrl-C, reports and the CLI.

Training runs here are tiny (a few hundred real Fashion-MNIST images, one or two epochs);
the full runs are the notebook's and ``python -m cnnbook bench``'s.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnnbook import __main__ as cli
from cnnbook import data, models
from cnnbook.train import (
    History,
    LiveReport,
    TrainingDivergedError,
    bare_step_rate,
    choose_device,
    evaluate,
    make_optimizer,
    train,
    train_source_style,
)

needs_data = pytest.mark.skipif(
    not all((data.DEBIAN_DIR / f"{n}.gz").is_file() for n in data.IDX_FILES),
    reason=f"Fashion-MNIST not installed: {data.APT_COMMAND}",
)
QUIET = {"report": "none", "progress": False}


@pytest.fixture(scope="module")
def small() -> data.FashionMNIST:
    return data.load_fashion_mnist("cpu").subset(1024, 512)


def synthetic(n: int = 256, seed: int = 0) -> data.FashionMNIST:
    """Random images whose label is the brightest quadrant: learnable, and needs no files."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, 28, 28, generator=g)
    quadrants = images.reshape(n, 2, 14, 2, 14).mean(dim=(2, 4)).reshape(n, 4)
    labels = quadrants.argmax(dim=1)
    return data.FashionMNIST(images, labels, images[: n // 4], labels[: n // 4])


# --- devices ----------------------------------------------------------------------------------


def test_choose_device_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch):
    mps = torch.backends.mps
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(mps, "is_available", lambda: False)
    assert choose_device("auto") == torch.device("cpu")
    monkeypatch.setattr(mps, "is_available", lambda: True)
    assert choose_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("auto") == torch.device("cuda")
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device(torch.device("cpu")) == torch.device("cpu")


def test_auto_device_follows_the_environment(monkeypatch: pytest.MonkeyPatch):
    # make test-gpu sets CNNBOOK_DEVICE=cuda so that every notebook's "auto" means the GPU, and
    # fails loudly, naming the variable, where there is none.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("CNNBOOK_DEVICE", "cpu")
    assert choose_device("auto") == torch.device("cpu")
    assert choose_device("cuda") == torch.device("cuda")  # an explicit device wins
    monkeypatch.setenv("CNNBOOK_DEVICE", "auto")
    assert choose_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CNNBOOK_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CNNBOOK_DEVICE='cuda' is set in the environment.*0 CUDA"):
        choose_device("auto")
    monkeypatch.setenv("CNNBOOK_DEVICE", "tpu")
    with pytest.raises(ValueError, match="CNNBOOK_DEVICE='tpu'.*must be 'auto', 'cpu'"):
        choose_device("auto")


def test_choose_device_rejects_missing_or_unknown_devices(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda' was asked for but this machine has 0 CUDA"):
        choose_device("cuda")
    with pytest.raises(ValueError, match="'mps' was asked for"):
        choose_device("mps")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu'"):
        choose_device("gpu please")


# --- evaluation -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_evaluate_counts_correct_predictions(seed: int):
    torch.manual_seed(seed)
    net = models.lenet_modern()
    dataset = synthetic(300, seed)
    net.train()
    net.eval()
    with torch.no_grad():
        expected = (net(dataset.train_images).argmax(1) == dataset.train_labels).float().mean()
    net.train()
    pair = (dataset.train_images, dataset.train_labels)
    assert evaluate(net, pair, batch_size=64) == pytest.approx(expected.item())
    batches = data.BatchIterator(*pair, 100, shuffle=True)
    assert evaluate(net, batches) == pytest.approx(expected.item())
    assert evaluate(net, pair, channels_last=True) == pytest.approx(expected.item())
    assert net.training  # restored
    with pytest.raises(ValueError, match="no examples"):
        evaluate(net, [])


# --- training ---------------------------------------------------------------------------------


@needs_data
def test_tiny_training_run_reduces_the_loss(small: data.FashionMNIST):
    net = models.lenet_modern()
    loss = nn.CrossEntropyLoss()

    def full_loss() -> float:
        net.eval()
        with torch.no_grad():
            return loss(net(small.train_images), small.train_labels).item()

    torch.manual_seed(0)
    models.init_xavier(net)
    before = full_loss()
    history = train(net, small, 2, 0.01, optimizer="adam", init=None, **QUIET)
    assert history.status == "completed" and history.epochs == 2
    assert full_loss() < 0.7 * before
    assert history.test_acc[-1] > 0.5  # ten classes: chance is 0.1
    assert history.examples == 2 * 1024 and history.examples_per_sec > 0
    assert 0 < history.train_seconds < history.wall_seconds
    assert len(history.points) == 2 * 4 and history.points[-1][0] == 2.0
    assert "examples/sec on cpu" in history.summary()


def test_same_seed_same_run_other_seed_other_run():
    dataset = synthetic(512)

    def run(seed: int) -> list[float]:
        return train(models.lenet("relu", "max"), dataset, 2, 0.1, seed=seed, **QUIET).train_loss

    first = run(1)
    assert run(1) == first
    assert run(2) != first


def test_each_optimizer_and_speed_option_trains():
    dataset = synthetic(256)
    options = (("sgd", 0.5, False), ("sgd-momentum", 0.05, True), ("adam", 0.003, False))
    for optimizer, lr, channels_last in options:
        history = train(
            models.lenet("relu", "max", True), dataset, 3, lr, optimizer=optimizer,
            batch_size=64, channels_last=channels_last, **QUIET,
        )  # fmt: skip
        assert history.train_loss[-1] < history.train_loss[0], optimizer
    net = models.lenet_modern()
    history = train(net, dataset, 1, 0.01, optimizer=torch.optim.Adam(net.parameters()), **QUIET)
    assert history.status == "completed"


def test_cosine_schedule_ends_at_zero_and_augment_changes_the_run():
    dataset = synthetic(256)
    net = models.lenet("relu", "max", True)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    train(net, dataset, 2, 0.1, optimizer=opt, schedule="cosine", batch_size=64, **QUIET)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)

    def run(augment: bool) -> list[float]:
        net = models.lenet("relu", "max", True)
        return train(net, dataset, 2, 0.05, optimizer="sgd-momentum", weight_decay=5e-4,
                     augment=augment, seed=4, **QUIET).train_loss  # fmt: skip

    flipped = run(True)
    assert flipped == run(True)  # the flips are drawn from the seed
    assert flipped != run(False)
    with pytest.raises(ValueError, match="schedule must be 'cosine' or None"):
        train(net, dataset, 1, 0.1, schedule="step", **QUIET)
    with pytest.raises(ValueError, match="weight_decay must be in"):
        train(net, dataset, 1, 0.1, weight_decay=2.0, **QUIET)


def test_bf16_autocast_on_cpu_runs():
    history = train(models.lenet_modern(), synthetic(128), 1, 0.01, optimizer="adam", amp=True,
                    **QUIET)  # fmt: skip
    assert math.isfinite(history.train_loss[0])


@needs_data
def test_lr_100_stops_with_a_message_that_suggests_a_smaller_lr(small: data.FashionMNIST):
    with pytest.raises(TrainingDivergedError) as info:
        train(models.lenet(), small, 3, 100.0, **QUIET)
    message = str(info.value)
    assert "loss exploded" in message and "lr=100 is too large" in message
    assert "try a smaller one (e.g. lr=10" in message
    history = info.value.history
    assert history.status == "diverged" and history.epochs == 0
    assert history.wall_seconds > 0


def test_nan_loss_is_reported_as_such():
    dataset = synthetic(256)
    poisoned = dataset.train_images.clone()
    poisoned[5, 0, 3, 3] = float("nan")
    broken = dataset._replace(train_images=poisoned)
    with pytest.raises(TrainingDivergedError, match="the loss became nan in epoch 1"):
        train(models.lenet(), broken, 1, 0.1, batch_size=64, **QUIET)


def test_max_loss_can_be_raised_or_checked():
    dataset = synthetic(128)
    with pytest.raises(TrainingDivergedError, match="above max_loss=0.5"):
        train(models.lenet(), dataset, 1, 0.1, max_loss=0.5, **QUIET)
    with pytest.raises(ValueError, match="max_loss must be a positive number"):
        train(models.lenet(), dataset, 1, 0.1, max_loss=-1, **QUIET)


def test_ctrl_c_returns_the_history_so_far():
    calls = []

    def press_ctrl_c(history: History) -> None:
        calls.append(len(history.points))
        if len(history.points) == 8 + 3:  # 8 points per epoch: the 3rd point of epoch 2
            raise KeyboardInterrupt

    history = train(models.lenet(), synthetic(512), 5, 0.5, batch_size=64,
                    callback=press_ctrl_c, **QUIET)  # fmt: skip
    assert history.status == "interrupted"
    assert history.epochs == 1 and len(history.test_acc) == 1
    assert "interrupted (Ctrl-C) after 1 complete epoch" in history.message
    assert history.train_seconds > 0 and history.wall_seconds >= history.train_seconds
    assert calls[-1] == 11 and len(history.points) == 11


def test_train_accepts_iterables_of_batches():
    dataset = synthetic(256)
    train_iter = data.BatchIterator(dataset.train_images, dataset.train_labels, 32, shuffle=True)
    test_iter = [(dataset.test_images, dataset.test_labels)]
    history = train(models.lenet("relu"), (train_iter, test_iter), 2, 0.1, **QUIET)
    assert history.epochs == 2 and history.examples == 512


def test_train_rejects_bad_arguments():
    dataset = synthetic(64)
    net = models.lenet()
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train(net, dataset, 0, 0.1, **QUIET)
    for lr in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lr must be a positive finite number"):
            train(net, dataset, 1, lr, **QUIET)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train(net, dataset, 1, 0.1, optimizer="rmsprop", **QUIET)
    with pytest.raises(ValueError, match="report must be one of"):
        train(net, dataset, 1, 0.1, report="loud", progress=False)
    with pytest.raises(ValueError, match="data must be a cnnbook.data.FashionMNIST"):
        train(net, dataset.train_images, 1, 0.1, **QUIET)
    with pytest.raises(ValueError, match="init must be 'xavier' or None"):
        train(net, dataset, 1, 0.1, init="kaiming", **QUIET)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("lbfgs", net.parameters(), 0.1)


def test_source_style_loop_matches_its_own_definition():
    dataset = synthetic(256)
    train_iter = data.BatchIterator(dataset.train_images, dataset.train_labels, 64, shuffle=True)
    test_iter = list(data.BatchIterator(dataset.test_images, dataset.test_labels, 64))
    history = train_source_style(models.lenet(), train_iter, test_iter, 2, 0.9)
    assert history.epochs == 2 and history.examples == 2 * 256
    assert history.examples_per_sec == pytest.approx(512 / history.train_seconds)
    assert 0.0 <= history.test_acc[-1] <= 1.0


def test_bare_step_rate_times_the_steps_on_a_copy(monkeypatch: pytest.MonkeyPatch):
    dataset = synthetic(256)
    net = models.lenet()
    before = [p.detach().clone() for p in net.parameters()]
    calls: list[int] = []
    net.register_forward_hook(lambda *_: calls.append(1))  # deep-copied with the net
    ticks = iter([10.0, 12.0])  # the clock starts after the warm-up and stops after the steps
    monkeypatch.setattr("cnnbook.train.time.perf_counter", lambda: next(ticks))
    rate = bare_step_rate(net, dataset.train_images, dataset.train_labels, 0.9, batch_size=64,
                          steps=6, warmup=2, channels_last=True)  # fmt: skip
    assert rate == 6 * 64 / 2.0
    assert len(calls) == 8  # warm-up and timed steps, each one forward pass
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_bare_step_rate_checks_its_arguments():
    dataset = synthetic(64)
    with pytest.raises(ValueError, match="at least one full batch: got 64 examples"):
        bare_step_rate(models.lenet(), dataset.train_images, dataset.train_labels, batch_size=128)
    with pytest.raises(ValueError, match="warmup must be a non-negative int"):
        bare_step_rate(models.lenet(), dataset.train_images, dataset.train_labels, warmup=-1)


# --- live report ------------------------------------------------------------------------------


def test_text_report_prints_a_line_per_epoch(capsys: pytest.CaptureFixture[str]):
    train(models.lenet("relu"), synthetic(128), 2, 0.1, report="text", progress=False)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2: loss ")


def test_plot_report_updates_one_display_in_place(monkeypatch: pytest.MonkeyPatch):
    import IPython.display

    shown: list[tuple[str, bytes]] = []

    class Handle:
        def update(self, image: IPython.display.Image) -> None:
            shown.append(("update", image.data))

    def display(image: IPython.display.Image, display_id: bool = False) -> Handle:
        shown.append(("display", image.data))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    history = train(models.lenet("relu"), synthetic(256), 2, 0.1, batch_size=32, report="plot",
                    progress=True)  # fmt: skip
    assert history.status == "completed"
    assert [kind for kind, _ in shown].count("display") == 1
    assert len(shown) >= 3  # first draw, then at least each epoch's end
    assert all(png.startswith(b"\x89PNG") for _, png in shown)


def test_live_report_checks_its_mode():
    with pytest.raises(ValueError, match="report must be one of"):
        LiveReport(1, 1, "fancy", progress=False)
    assert LiveReport(1, 1, "auto", progress=False).mode == "text"  # not in a notebook


# --- command line -----------------------------------------------------------------------------


@needs_data
def test_cli_train_quick_run(capsys: pytest.CaptureFixture[str]):
    code = cli.main(["train", "--model", "modern", "--epochs", "1", "--limit", "512",
                     "--no-progress", "--device", "cpu"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "training modern (91,402 parameters) on cpu: 512 training / 512 test" in out
    assert "sgd-momentum lr 0.1 (weight decay 0.0005, schedule cosine, flips on)" in out
    assert "examples/sec on cpu" in out


@needs_data
def test_cli_train_reports_divergence(capsys: pytest.CaptureFixture[str]):
    code = cli.main(["train", "--epochs", "1", "--limit", "512", "--lr", "100", "--no-progress"])
    assert code == 1
    assert "lr=100 is too large" in capsys.readouterr().err


@needs_data
def test_cli_bench_smoke(capsys: pytest.CaptureFixture[str]):
    code = cli.main(["bench", "--epochs", "1", "--rounds", "1", "--limit", "512",
                     "--workers", "0"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "source-style" in out and "book/source" in out and "x wall-clock" in out
    assert "bare step" in out and "examples/sec channels-last" in out and "ceiling" in out


def test_cli_reports_missing_data(tmp_path, monkeypatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    assert cli.main(["train", "--limit", "64", "--no-progress"]) == 2
    assert "sudo apt-get install dataset-fashion-mnist" in capsys.readouterr().err
