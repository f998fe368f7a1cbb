"""Fashion-MNIST: where its files are found, how they are checked, and the batches served."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
import torch

from cnnbook import data, datafiles
from cnnbook.data import CLASS_NAMES, BatchIterator, text_labels
from cnnbook.datafiles import (
    IDX_FILES,
    DataCorruptedError,
    DataNotFoundError,
    find_fashion_mnist,
    read_idx_file,
)

DEBIAN = datafiles.DEBIAN_DIR  # kept before any test patches datafiles.DEBIAN_DIR
HAVE_DEBIAN_COPY = all((DEBIAN / f"{name}.gz").is_file() for name in IDX_FILES)
needs_data = pytest.mark.skipif(
    not HAVE_DEBIAN_COPY, reason=f"Fashion-MNIST not installed: {datafiles.APT_COMMAND}"
)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data set anywhere: $CNNBOOK_DATA unset, cwd empty, the Debian directory missing."""
    monkeypatch.delenv(datafiles.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datafiles, "DEBIAN_DIR", tmp_path / "no-debian-package")
    monkeypatch.setenv(datafiles.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path


def fake_files(directory: Path, gz: bool = False) -> Path:
    """Four placeholder files with the data set's names (the finder does not read them)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in IDX_FILES:
        (directory / (f"{name}.gz" if gz else name)).write_bytes(b"placeholder")
    return directory


# --- finding ----------------------------------------------------------------------------------


def test_search_order_env_then_cwd_then_debian(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    env_dir = fake_files(isolated / "env")
    cwd_dir = fake_files(isolated / "data", gz=True)
    debian = fake_files(isolated / "no-debian-package", gz=True)
    monkeypatch.setenv(datafiles.DATA_ENV, str(env_dir))
    assert {p.parent for p in find_fashion_mnist().values()} == {env_dir}
    monkeypatch.delenv(datafiles.DATA_ENV)
    found = find_fashion_mnist()
    assert {p.parent for p in found.values()} == {cwd_dir}
    assert all(p.name.endswith(".gz") for p in found.values())
    for path in found.values():
        path.unlink()
    assert {p.parent for p in find_fashion_mnist().values()} == {debian}


def test_torchvision_layout_under_a_root_is_found(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    raw = fake_files(isolated / "somewhere" / "FashionMNIST" / "raw")
    monkeypatch.setenv(datafiles.DATA_ENV, str(isolated / "somewhere"))
    assert {p.parent for p in find_fashion_mnist().values()} == {raw}


def test_uncompressed_file_preferred_and_partial_directory_skipped(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    both = fake_files(isolated / "both", gz=True)
    fake_files(both)
    assert all(p.suffix != ".gz" for p in find_fashion_mnist_in(both, monkeypatch).values())
    partial = isolated / "partial"
    partial.mkdir()
    (partial / "train-images-idx3-ubyte").write_bytes(b"x")  # three files missing
    monkeypatch.setenv(datafiles.DATA_ENV, str(partial))
    with pytest.raises(DataNotFoundError):
        find_fashion_mnist()


def find_fashion_mnist_in(directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv(datafiles.DATA_ENV, str(directory))
    return find_fashion_mnist()


def test_missing_data_error_names_every_place_and_the_fix(isolated: Path):
    with pytest.raises(DataNotFoundError) as info:
        find_fashion_mnist(download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "$CNNBOOK_DATA (not set)" in message
    assert str(isolated / "data") in message
    assert str(isolated / "data" / "FashionMNIST" / "raw") in message
    assert str(isolated / "no-debian-package") in message
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "CNNBOOK_DATA=" in message
    assert "download=True" in message
    with pytest.raises(DataNotFoundError, match="dataset-fashion-mnist"):
        data.load_fashion_mnist()


def test_search_places_are_a_parameter(tmp_path: Path):
    # The notebook shows the missing-data error this way: no working directory or module
    # global is changed, and the caller's places are the ones reported.
    places = [("$CNNBOOK_DATA", tmp_path / "env"), ("./data", None), ("Debian", tmp_path / "deb")]
    with pytest.raises(DataNotFoundError) as info:
        find_fashion_mnist(roots=places)
    message = str(info.value)
    assert f"{tmp_path / 'env'}  [$CNNBOOK_DATA]" in message
    assert "./data (not set)" in message
    assert f"{tmp_path / 'deb' / 'FashionMNIST' / 'raw'}  [Debian]" in message
    assert str(datafiles.DEBIAN_DIR) not in message
    complete = tmp_path / "deb"
    complete.mkdir()
    for name in datafiles.IDX_FILES:
        (complete / name).write_bytes(b"")
    assert set(find_fashion_mnist(roots=places)) == set(datafiles.IDX_FILES)


def test_loading_takes_the_search_places_too(tmp_path: Path):
    nowhere = [("an empty folder", tmp_path)]
    with pytest.raises(DataNotFoundError, match="an empty folder"):
        data.load_fashion_mnist(roots=nowhere)
    with pytest.raises(DataNotFoundError, match="an empty folder"):
        data.torchvision_datasets(roots=nowhere)
    if HAVE_DEBIAN_COPY:
        here = data.load_fashion_mnist(roots=[("Debian", DEBIAN)])
        assert here.test_labels.shape == (10_000,)


def test_missing_data_error_names_the_env_directory(isolated: Path, monkeypatch):
    monkeypatch.setenv(datafiles.DATA_ENV, str(isolated / "typo"))
    with pytest.raises(DataNotFoundError, match="typo"):
        find_fashion_mnist()


def test_failed_download_is_reported_with_the_fix(isolated: Path, monkeypatch):
    def offline(root: Path) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(datafiles, "_download", offline)
    with pytest.raises(DataNotFoundError, match="download into ./data failed.*no network") as info:
        find_fashion_mnist(download=True)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


# --- verification -----------------------------------------------------------------------------


def labels_file(payload: bytes) -> bytes:
    """An IDX labels file with ``payload`` as its labels (60,000 of them for the right size)."""
    return (2049).to_bytes(4, "big") + len(payload).to_bytes(4, "big") + payload


def test_wrong_size_is_detected_and_named(tmp_path: Path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(labels_file(bytes(100)))
    with pytest.raises(DataCorruptedError, match="train-labels-idx1-ubyte is corrupted: size") as e:
        read_idx_file(path)
    assert str(path) in str(e.value) and "--reinstall" in str(e.value)


@pytest.mark.parametrize("gz", [False, True])
def test_right_size_wrong_content_is_detected_by_checksum(tmp_path: Path, gz: bool):
    content = labels_file(bytes(60_000))
    assert len(content) == IDX_FILES["train-labels-idx1-ubyte"].size
    path = tmp_path / ("train-labels-idx1-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(DataCorruptedError, match="SHA-256 of the content") as info:
        read_idx_file(path)
    assert hashlib.sha256(content).hexdigest() in str(info.value)


def test_truncated_and_garbage_gzip_are_detected(tmp_path: Path):
    truncated = tmp_path / "t10k-labels-idx1-ubyte.gz"
    truncated.write_bytes(gzip.compress(labels_file(bytes(10_000)))[:-20])
    with pytest.raises(DataCorruptedError, match=r"t10k-labels-idx1-ubyte.gz is corrupted"):
        read_idx_file(truncated)
    garbage = tmp_path / "t10k-images-idx3-ubyte.gz"
    garbage.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataCorruptedError, match="cannot be read"):
        read_idx_file(garbage)


def test_unknown_file_name_is_refused(tmp_path: Path):
    path = tmp_path / "mnist.bin"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="not one of the Fashion-MNIST files"):
        read_idx_file(path)


def test_corrupted_file_stops_loading(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    directory = fake_files(isolated / "bad")
    monkeypatch.setenv(datafiles.DATA_ENV, str(directory))
    with pytest.raises(DataCorruptedError, match=str(directory)):
        datafiles.fashion_mnist_uint8()


# --- the real data set ------------------------------------------------------------------------


@needs_data
def test_debian_copy_verifies_and_decodes():
    raw = datafiles.fashion_mnist_uint8()
    assert raw.train_images.shape == (60_000, 28, 28) and raw.train_images.dtype == torch.uint8
    assert raw.test_images.shape == (10_000, 28, 28)
    assert raw.train_labels.dtype == torch.int64
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    assert torch.bincount(raw.train_labels).tolist() == [6000] * 10
    assert torch.bincount(raw.test_labels).tolist() == [1000] * 10
    assert datafiles.fashion_mnist_uint8() is raw  # decoded once per process


@needs_data
def test_load_fashion_mnist_gives_floats_in_unit_range():
    dataset = data.load_fashion_mnist("cpu")
    raw = datafiles.fashion_mnist_uint8()
    assert dataset.train_images.shape == (60_000, 1, 28, 28)
    assert dataset.train_images.dtype == torch.float32
    assert 0.0 == dataset.train_images.min() and dataset.train_images.max() == 1.0
    torch.testing.assert_close(dataset.test_images[:, 0] * 255, raw.test_images.float())
    small = dataset.subset(100, 30)
    assert small.train_images.shape[0] == 100 and small.test_labels.shape == (30,)
    with pytest.raises(ValueError, match="n_train"):
        dataset.subset(0)


@needs_data
def test_uncompressed_copy_gives_the_same_tensors(isolated: Path, monkeypatch):
    copy = isolated / "copy"
    copy.mkdir()
    for name in IDX_FILES:
        (copy / name).write_bytes(gzip.decompress((DEBIAN / f"{name}.gz").read_bytes()))
    monkeypatch.setenv(datafiles.DATA_ENV, str(copy))
    assert read_idx_file(copy / "t10k-labels-idx1-ubyte")[:4] == (2049).to_bytes(4, "big")
    ours = datafiles.fashion_mnist_uint8()
    monkeypatch.delenv(datafiles.DATA_ENV)
    monkeypatch.setattr(datafiles, "DEBIAN_DIR", DEBIAN)
    debian = datafiles.fashion_mnist_uint8()
    assert ours is not debian
    for a, b in zip(ours, debian, strict=True):
        assert torch.equal(a, b)


@needs_data
def test_torchvision_path_reads_the_same_images(isolated: Path, monkeypatch):
    monkeypatch.setattr(datafiles, "DEBIAN_DIR", DEBIAN)
    train, test = data.torchvision_datasets()
    assert (isolated / "cache" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    dataset = data.load_fashion_mnist()
    generator = torch.Generator().manual_seed(0)
    for index in torch.randint(0, 10_000, (20,), generator=generator).tolist():
        image, label = test[index]
        assert torch.equal(image, dataset.test_images[index])  # ToTensor == our x / 255
        assert label == dataset.test_labels[index].item()
    assert len(train) == 60_000
    # The prepared layout is reused when it is already there; a damaged copy is written again.
    assert datafiles.torchvision_root() == isolated / "cache"
    cached = isolated / "cache" / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    cached.write_bytes(bytes(cached.stat().st_size))
    assert datafiles.torchvision_root() == isolated / "cache"
    digest = hashlib.sha256(cached.read_bytes()).hexdigest()
    assert digest == IDX_FILES["t10k-labels-idx1-ubyte"].sha256


# --- batches ----------------------------------------------------------------------------------


def indexed(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose single pixel is their own index, so that a batch says what it holds."""
    ids = torch.arange(n)
    return ids.float().reshape(n, 1, 1, 1), ids


@pytest.mark.parametrize("n, batch_size", [(1000, 256), (512, 256), (7, 3), (5, 10)])
def test_shuffled_batches_cover_every_example_once(n: int, batch_size: int):
    images, labels = indexed(n)
    batches = BatchIterator(images, labels, batch_size, shuffle=True, seed=3)
    seen = []
    for x, y in batches:
        assert x.shape[1:] == (1, 1, 1) and len(x) == len(y) <= batch_size
        assert torch.equal(x.flatten().long(), y)  # images and labels stay paired
        seen.append(y)
    order = torch.cat(seen)
    assert len(seen) == len(batches) == -(-n // batch_size)
    assert sorted(order.tolist()) == list(range(n))
    assert n < 8 or not torch.equal(order, torch.arange(n))  # shuffled


def test_batches_reproduce_from_the_seed_and_change_per_epoch():
    images, labels = indexed(300)

    def epochs(seed: int, count: int) -> list[list[int]]:
        batches = BatchIterator(images, labels, 64, shuffle=True, seed=seed)
        return [torch.cat([y for _, y in batches]).tolist() for _ in range(count)]

    first = epochs(0, 3)
    assert epochs(0, 3) == first
    assert first[0] != first[1] != first[2]
    assert epochs(1, 1)[0] != first[0]


def test_drop_last_and_unshuffled_views():
    images, labels = indexed(10)
    batches = BatchIterator(images, labels, 4, drop_last=True)
    assert len(batches) == 2 and batches.num_examples == 8
    got = [y.tolist() for _, y in batches]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7]]
    x, _ = next(iter(BatchIterator(images, labels, 4)))
    assert x.data_ptr() == images.data_ptr()  # a view, no copy
    assert [len(y) for _, y in BatchIterator(images, labels, 4)] == [4, 4, 2]


def test_batch_iterator_rejects_bad_input():
    images, labels = indexed(10)
    with pytest.raises(ValueError, match="images has 10 examples but labels has 9"):
        BatchIterator(images, labels[:9])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        BatchIterator(images, labels, 0)
    with pytest.raises(ValueError, match="labels must have shape"):
        BatchIterator(images, labels.reshape(2, 5))
    with pytest.raises(ValueError, match="empty"):
        BatchIterator(images[:0], labels[:0])


def test_text_labels():
    assert text_labels([0, 9]) == ["T-shirt/top", "Ankle boot"]
    assert text_labels(torch.tensor([3, 3, 8])) == ["Dress", "Dress", "Bag"]
    assert text_labels(torch.tensor(5)) == ["Sandal"]
    assert len(CLASS_NAMES) == 10
    with pytest.raises(ValueError, match="from 0 to 9"):
        text_labels([10])
    with pytest.raises(ValueError, match="from 0 to 9"):
        text_labels(torch.tensor([0.5]))
