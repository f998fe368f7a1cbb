"""Training and evaluation: recipes, devices, reproducibility, divergence, Ctrl-C, reports, CLI.

Training runs here are tiny (a few hundred real Fashion-MNIST images, one or two epochs);
the full runs are the notebook's and ``benchmarks/bench_lenet.py``'s.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys

import pytest
import torch
from torch import nn

from cnnbook import __main__ as cli
from cnnbook import data, datafiles, models
from cnnbook.live_report import LiveReport
from cnnbook.memory import reuse_freed_memory
from cnnbook.train import (
    CLASSIC,
    MODERN,
    POINTS_PER_EPOCH,
    History,
    Recipe,
    Stopwatch,
    TrainingDivergedError,
    choose_device,
    evaluate,
    make_optimizer,
    train,
    train_epoch,
)

needs_data = pytest.mark.skipif(
    not all((datafiles.DEBIAN_DIR / f"{n}.gz").is_file() for n in datafiles.IDX_FILES),
    reason=f"Fashion-MNIST not installed: {datafiles.APT_COMMAND}",
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


# --- recipes ----------------------------------------------------------------------------------


def test_the_two_recipes_are_the_articles_and_the_modern_one():
    assert (CLASSIC.optimizer, CLASSIC.lr, CLASSIC.batch_size) == ("sgd", 0.9, 256)
    assert CLASSIC.epochs == 10
    assert (CLASSIC.init, CLASSIC.weight_decay, CLASSIC.schedule, CLASSIC.augment) == (
        "xavier", 0.0, None, False)  # fmt: skip
    assert (MODERN.optimizer, MODERN.lr, MODERN.weight_decay) == ("sgd-momentum", 0.1, 5e-4)
    assert (MODERN.schedule, MODERN.augment, MODERN.epochs, MODERN.batch_size) == (
        "cosine", True, 10, 256)  # fmt: skip
    assert models.count_parameters(CLASSIC.make_model()) == 61_706
    assert models.count_parameters(MODERN.make_model()) == 91_402
    assert str(MODERN).startswith("sgd-momentum lr 0.1 (weight decay 0.0005, schedule cosine, ")
    changed = CLASSIC.replace(lr=0.1, epochs=3)
    assert (changed.lr, changed.epochs, changed.optimizer) == (0.1, 3, "sgd")
    assert CLASSIC.lr == 0.9  # a recipe is a value: replace makes a copy
    assert Recipe(model=lambda: models.lenet("relu")).make_model()[1].__class__ is nn.ReLU


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("model", "resnet", "model must be one of ('lenet', 'modern') or a function"),
        ("optimizer", "rmsprop", "optimizer must be one of ('sgd', 'sgd-momentum', 'adam') or a "
         "torch optimizer, got 'rmsprop'"),
        ("lr", -0.1, "lr must be a positive finite number, got -0.1"),
        ("lr", "0.1", "lr must be a positive finite number, got '0.1'"),
        ("epochs", 0, "epochs must be a positive int, got 0"),
        ("epochs", 2.5, "epochs must be a positive int, got 2.5"),
        ("batch_size", 0, "batch_size must be a positive int, got 0"),
        ("weight_decay", -1e-4, "weight_decay must be in [0, 1), got -0.0001"),
        ("schedule", "step", "schedule must be 'cosine' or None, got 'step'"),
        ("augment", "yes", "augment must be True or False, got 'yes'"),
        ("init", "kaiming", "init must be 'xavier' or None, got 'kaiming'"),
    ],
)  # fmt: skip
def test_a_recipe_refuses_bad_fields_when_made(field: str, value: object, message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        Recipe(**{field: value})
    with pytest.raises(ValueError, match=re.escape(message)):
        MODERN.replace(**{field: value})


def test_the_cli_starts_from_the_shared_recipes():
    def recipe(*argv: str) -> Recipe:
        return cli.recipe_from_args(cli._parser().parse_args(["train", *argv]))

    assert recipe("--model", "modern") == MODERN
    classic = recipe()
    assert dataclasses.replace(classic, model="lenet") == CLASSIC
    layers = [type(m).__name__ for m in classic.make_model()]
    assert layers[:3] == ["Conv2d", "Sigmoid", "AvgPool2d"]
    relu = recipe("--activation", "relu", "--pool", "max").make_model()
    assert [type(m).__name__ for m in relu][:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    adam = recipe("--optimizer", "adam", "--epochs", "2", "--batch-size", "64")
    assert (adam.optimizer, adam.lr, adam.epochs, adam.batch_size) == ("adam", 0.001, 2, 64)
    plain = recipe("--model", "modern", "--schedule", "none", "--no-augment", "--lr", "0.05")
    assert (plain.schedule, plain.augment, plain.lr) == (None, False, 0.05)
    assert plain.weight_decay == MODERN.weight_decay


# --- the loop and its helpers -------------------------------------------------------------------


def test_train_epoch_alone_trains_a_network():
    # A textbook loop needs nothing of train(): a network, batches, a loss and an optimizer.
    dataset = synthetic(640)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 4))
    batches = list(data.BatchIterator(dataset.train_images, dataset.train_labels, 32))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    points: list[tuple[int, float, float]] = []
    net.eval()
    first = train_epoch(net, batches, nn.CrossEntropyLoss(), optimizer,
                        on_point=lambda *point: points.append(point))  # fmt: skip
    assert net.training
    for _ in range(4):
        last = train_epoch(net, batches, nn.CrossEntropyLoss(), optimizer)
    loss, acc, examples = last
    assert examples == first[2] == 640
    assert loss < 0.7 * first[0] and acc > first[1] + 0.3
    assert [step for step, _, _ in points] == [4, 8, 12, 16, 20]  # 20 batches
    assert len(points) == POINTS_PER_EPOCH
    assert points[-1][1:] == pytest.approx(first[:2])  # the last point is the epoch's average


def test_stopwatch_leaves_out_pauses_and_failed_blocks(monkeypatch: pytest.MonkeyPatch):
    ticks = iter([0.0, 1.0, 3.0, 4.0, 10.0, 15.0])
    monkeypatch.setattr("cnnbook.train.time.perf_counter", lambda: next(ticks))
    clock = Stopwatch(torch.device("cpu"))
    with clock:  # 0 to 4, paused from 1 to 3: 2 s
        with clock.paused():
            pass
    assert clock.seconds == 2.0
    with pytest.raises(KeyboardInterrupt), clock:  # 10 to 15, interrupted: not counted
        raise KeyboardInterrupt
    assert clock.seconds == 2.0


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
    history = train(net, small, Recipe(epochs=2, lr=0.01, optimizer="adam", init=None), **QUIET)
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
        recipe = Recipe(epochs=2, lr=0.1)
        return train(models.lenet("relu", "max"), dataset, recipe, seed=seed, **QUIET).train_loss

    first = run(1)
    assert run(1) == first
    assert run(2) != first


def test_each_optimizer_and_speed_option_trains():
    dataset = synthetic(256)
    options = (("sgd", 0.5, False), ("sgd-momentum", 0.05, True), ("adam", 0.003, False))
    for optimizer, lr, channels_last in options:
        recipe = Recipe(epochs=3, lr=lr, optimizer=optimizer, batch_size=64)
        history = train(models.lenet("relu", "max", True), dataset, recipe,
                        channels_last=channels_last, **QUIET)  # fmt: skip
        assert history.train_loss[-1] < history.train_loss[0], optimizer
    net = models.lenet_modern()
    recipe = Recipe(epochs=1, lr=0.01, optimizer=torch.optim.Adam(net.parameters()))
    history = train(net, dataset, recipe, **QUIET)
    assert history.status == "completed"


def test_cosine_schedule_ends_at_zero_and_augment_changes_the_run():
    dataset = synthetic(256)
    net = models.lenet("relu", "max", True)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    train(net, dataset, Recipe(optimizer=opt, lr=0.1, epochs=2, schedule="cosine", batch_size=64),
          **QUIET)  # fmt: skip
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)

    def run(augment: bool) -> list[float]:
        net = models.lenet("relu", "max", True)
        recipe = Recipe(epochs=2, lr=0.05, optimizer="sgd-momentum", weight_decay=5e-4,
                        augment=augment)  # fmt: skip
        return train(net, dataset, recipe, seed=4, **QUIET).train_loss

    flipped = run(True)
    assert flipped == run(True)  # the flips are drawn from the seed
    assert flipped != run(False)
    with pytest.raises(ValueError, match="schedule must be 'cosine' or None"):
        train(net, dataset, Recipe(epochs=1, lr=0.1, schedule="step"), **QUIET)
    with pytest.raises(ValueError, match="weight_decay must be in"):
        train(net, dataset, Recipe(epochs=1, lr=0.1, weight_decay=2.0), **QUIET)


def test_bf16_autocast_on_cpu_runs():
    history = train(models.lenet_modern(), synthetic(128), Recipe(epochs=1, lr=0.01,
                    optimizer="adam"), amp=True, **QUIET)  # fmt: skip
    assert math.isfinite(history.train_loss[0])


@needs_data
def test_lr_100_stops_with_a_message_that_suggests_a_smaller_lr(small: data.FashionMNIST):
    with pytest.raises(TrainingDivergedError) as info:
        train(models.lenet(), small, CLASSIC.replace(epochs=3, lr=100.0), **QUIET)
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
        train(models.lenet(), broken, Recipe(epochs=1, lr=0.1, batch_size=64), **QUIET)


def test_max_loss_can_be_raised_or_checked():
    dataset = synthetic(128)
    recipe = Recipe(epochs=1, lr=0.1)
    with pytest.raises(TrainingDivergedError, match="above max_loss=0.5"):
        train(models.lenet(), dataset, recipe, max_loss=0.5, **QUIET)
    with pytest.raises(ValueError, match="max_loss must be a positive number"):
        train(models.lenet(), dataset, recipe, max_loss=-1, **QUIET)


def test_ctrl_c_returns_the_history_so_far():
    calls = []

    def press_ctrl_c(history: History) -> None:
        calls.append(len(history.points))
        if len(history.points) == 8 + 3:  # 8 points per epoch: the 3rd point of epoch 2
            raise KeyboardInterrupt

    history = train(models.lenet(), synthetic(512), Recipe(epochs=5, lr=0.5, batch_size=64),
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
    history = train(models.lenet("relu"), (train_iter, test_iter), Recipe(epochs=2, lr=0.1),
                    **QUIET)  # fmt: skip
    assert history.epochs == 2 and history.examples == 512


def test_train_rejects_bad_arguments():
    dataset = synthetic(64)
    net = models.lenet()
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train(net, dataset, CLASSIC.replace(epochs=0), **QUIET)
    for lr in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lr must be a positive finite number"):
            train(net, dataset, CLASSIC.replace(epochs=1, lr=lr), **QUIET)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train(net, dataset, CLASSIC.replace(epochs=1, optimizer="rmsprop"), **QUIET)
    one_epoch = CLASSIC.replace(epochs=1, lr=0.1)
    with pytest.raises(ValueError, match="report must be one of"):
        train(net, dataset, one_epoch, report="loud", progress=False)
    with pytest.raises(ValueError, match="data must be a cnnbook.data.FashionMNIST"):
        train(net, dataset.train_images, one_epoch, **QUIET)
    with pytest.raises(ValueError, match="init must be 'xavier' or None"):
        train(net, dataset, one_epoch.replace(init="kaiming"), **QUIET)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("lbfgs", net.parameters(), 0.1)


# --- live report ------------------------------------------------------------------------------


def test_text_report_prints_a_line_per_epoch(capsys: pytest.CaptureFixture[str]):
    train(models.lenet("relu"), synthetic(128), Recipe(epochs=2, lr=0.1), report="text",
          progress=False)  # fmt: skip
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
    history = train(models.lenet("relu"), synthetic(256), Recipe(epochs=2, lr=0.1, batch_size=32),
                    report="plot", progress=True)  # fmt: skip
    assert history.status == "completed"
    assert [kind for kind, _ in shown].count("display") == 1
    assert len(shown) >= 3  # first draw, then at least each epoch's end
    assert all(png.startswith(b"\x89PNG") for _, png in shown)
    # Drawn like every picture of the book: at twice the width it is shown at.
    assert b"cnnbook density" in shown[-1][1]


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


def test_cli_reports_missing_data(tmp_path, monkeypatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv(datafiles.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datafiles, "DEBIAN_DIR", tmp_path / "none")
    assert cli.main(["train", "--limit", "64", "--no-progress"]) == 2
    assert "sudo apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_reuse_freed_memory_is_idempotent():
    applied = reuse_freed_memory()
    assert isinstance(applied, bool)
    assert reuse_freed_memory() == applied
    assert sys.platform.startswith("linux") or not applied  # glibc's malloc only
