"""Fashion-MNIST: finding the files, checking them, and serving mini-batches fast.

Two ways to feed a network, side by side:

* :func:`load_fashion_mnist` decodes the whole data set once into tensors (70,000 images of
  28 x 28 bytes: 55 MB) and puts it on the device as floats in [0, 1]; :class:`BatchIterator`
  then cuts mini-batches out of those tensors with one indexing operation per batch. No Python
  code runs per image, so feeding the network costs almost nothing next to training it.
* :func:`torchvision_datasets` / :func:`torchvision_loaders` are the usual PyTorch API
  (``torchvision.datasets.FashionMNIST`` + ``ToTensor`` + ``DataLoader`` with worker processes),
  which converts every image on its own in Python. It is what most tutorials show, and the
  baseline of ``python -m cnnbook bench``.

Both read the same verified local files. They are looked for, in order, in ``$CNNBOOK_DATA``,
``./data`` and ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``),
each either as the four IDX files (gzip-compressed or not) or in torchvision's
``<root>/FashionMNIST/raw/`` layout. Only when asked (``download=True``) does torchvision fetch
them into ``./data``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

from cnnbook.args import check_tensor, positive_int

#: Environment variable naming a directory that holds the data set (searched first).
DATA_ENV = "CNNBOOK_DATA"
#: Where Debian's package ``dataset-fashion-mnist`` installs the data set (searched last).
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
#: The command that installs the data set on Debian and Ubuntu.
APT_COMMAND = "sudo apt-get install dataset-fashion-mnist"
#: Environment variable naming the cache directory for the torchvision layout.
CACHE_ENV = "CNNBOOK_CACHE"

#: The names of the ten classes, indexed by label (as in the data set's documentation).
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class IdxFile:
    """One of the four IDX files: its name and the size and SHA-256 of its *decompressed* bytes."""

    name: str
    size: int
    sha256: str


# Reference sizes and SHA-256 digests of the decompressed IDX files, computed once from Debian's
# copy (package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/*.gz) with
# `zcat FILE | sha256sum`. Debian re-compressed the files, so the .gz bytes (and their md5) differ
# from the upstream files that torchvision checks; the decompressed content is what matters, and it
# is the same whichever copy (Debian, upstream, a torchvision download) it came from.
IDX_FILES: dict[str, IdxFile] = {
    f.name: f
    for f in (
        IdxFile(
            "train-images-idx3-ubyte",
            47_040_016,
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        IdxFile(
            "train-labels-idx1-ubyte",
            60_008,
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        IdxFile(
            "t10k-images-idx3-ubyte",
            7_840_016,
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        IdxFile(
            "t10k-labels-idx1-ubyte",
            10_008,
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    )
}


class DataNotFoundError(FileNotFoundError):
    """Fashion-MNIST is in none of the places searched, and was not (or could not be) downloaded."""


class DataCorruptedError(ValueError):
    """A Fashion-MNIST file exists but its content is not the data set (wrong size or checksum)."""


# --------------------------------------------------------------------------------------------
# Finding and checking the files
# --------------------------------------------------------------------------------------------


def search_roots() -> list[tuple[str, Path | None]]:
    """The places searched for the data set, in order, as ``(description, directory)`` pairs.

    The directory is ``None`` for ``$CNNBOOK_DATA`` when the variable is not set. Each place is
    read at call time (environment, working directory, :data:`DEBIAN_DIR`), so a notebook run
    from another directory searches its own ``./data``.
    """
    env = os.environ.get(DATA_ENV)
    return [
        (f"${DATA_ENV}", Path(env).expanduser() if env else None),
        ("./data", Path.cwd() / "data"),
        (f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})", DEBIAN_DIR),
    ]


def _candidate_dirs(root: Path) -> list[Path]:
    # The files themselves, or torchvision's layout under a root (which a download creates).
    return [root, root / "FashionMNIST" / "raw"]


def _file_in(directory: Path, name: str) -> Path | None:
    # An uncompressed file wins over a .gz one: it is faster to read and to hash.
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _files_in(directory: Path) -> dict[str, Path] | None:
    found = {name: _file_in(directory, name) for name in IDX_FILES}
    if all(found.values()):
        return found  # type: ignore[return-value]
    return None


def _not_found_message(looked: Sequence[str], download_error: str | None) -> str:
    names = ", ".join(f"{name}[.gz]" for name in IDX_FILES)
    lines = ["Fashion-MNIST was not found. Looked for the four files", f"  {names}", "in:"]
    lines += [f"  - {place}" for place in looked]
    if download_error:
        lines.append(f"The download into ./data failed: {download_error}")
    lines += [
        "Fix it in one of these ways:",
        f"  - install Debian's copy: {APT_COMMAND}",
        f"  - or set {DATA_ENV}=/path/to/a/directory/with/the/four/files",
        "  - or, where the network allows, download it with torchvision: pass download=True "
        "(python -m cnnbook ... --download), which saves it under ./data",
    ]
    return "\n".join(lines)


def find_fashion_mnist(
    download: bool = False, roots: Sequence[tuple[str, Path | None]] | None = None
) -> dict[str, Path]:
    """Locate the four IDX files and return ``{name: path}`` (paths may end in ``.gz``).

    Searches ``roots``, ``(description, directory)`` pairs, in order (by default
    :func:`search_roots`); the first directory holding all four files wins.
    With ``download=True`` and nothing found, torchvision downloads the data set into
    ``./data/FashionMNIST/raw``. Raises :class:`DataNotFoundError` naming every place looked at
    and the command that fixes it. The files are *not* verified here: see :func:`read_idx_file`.
    """
    looked: list[str] = []
    for description, root in search_roots() if roots is None else roots:
        if root is None:
            looked.append(f"{description} (not set)")
            continue
        for directory in _candidate_dirs(root):
            found = _files_in(directory)
            if found is not None:
                return found
            looked.append(f"{directory}  [{description}]")
    download_error = None
    if download:
        try:
            _download(Path.cwd() / "data")
        except Exception as error:  # noqa: BLE001 - any failure is reported with the fix
            download_error = f"{type(error).__name__}: {error}".strip()
        else:
            found = _files_in(Path.cwd() / "data" / "FashionMNIST" / "raw")
            if found is not None:
                return found
            download_error = "torchvision reported success but the files are not there"
    raise DataNotFoundError(_not_found_message(looked, download_error))


def _download(root: Path) -> None:
    import torchvision

    for train in (True, False):
        torchvision.datasets.FashionMNIST(root=str(root), train=train, download=True)


def read_idx_file(path: Path | str, name: str | None = None) -> bytes:
    """Read one IDX file (decompressing ``.gz``) and check its size and SHA-256.

    ``name`` is the data set's name for the file (e.g. ``"train-images-idx3-ubyte"``); by default
    it is taken from ``path``. Raises :class:`DataCorruptedError` naming the file and the fix when
    the content is not the expected one (truncated download, damaged disk, another data set).
    """
    path = Path(path)
    if name is None:
        name = path.name.removesuffix(".gz")
    if name not in IDX_FILES:
        raise ValueError(
            f"{path} is not one of the Fashion-MNIST files {sorted(IDX_FILES)}: "
            "pass name= to say which one it is"
        )
    spec = IDX_FILES[name]
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                # Read one byte past the expected size so an over-long file is caught too.
                data = stream.read(spec.size + 1)
        else:
            if path.stat().st_size != spec.size:
                _corrupted(path, f"size {path.stat().st_size:,} bytes, expected {spec.size:,}")
            data = path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        if isinstance(error, FileNotFoundError):
            raise
        _corrupted(path, f"it cannot be read ({type(error).__name__}: {error})")
    if len(data) != spec.size:
        what = "more than" if len(data) > spec.size else f"{len(data):,} bytes,"
        _corrupted(path, f"decompressed size {what} expected {spec.size:,} bytes")
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        _corrupted(path, f"SHA-256 of the content {digest}, expected {spec.sha256}")
    return data


def _corrupted(path: Path, problem: str) -> None:
    raise DataCorruptedError(
        f"Fashion-MNIST file {path} is corrupted: {problem}. Fix: delete it and get a fresh copy "
        f"({APT_COMMAND} --reinstall for Debian's copy, or download=True for a new download), "
        f"or point {DATA_ENV} at a good copy."
    )


def _decode_idx(data: bytes, name: str) -> torch.Tensor:
    # IDX: a big-endian magic number (0x0000 08 <ndims> for unsigned bytes), ndims 32-bit
    # sizes, then the bytes in row-major order.
    magic, = struct.unpack(">i", data[:4])
    ndims = magic & 0xFF
    if magic >> 8 != 0x08 or ndims not in (1, 3):
        raise DataCorruptedError(f"{name}: not an IDX file of unsigned bytes (magic {magic:#x})")
    shape = struct.unpack(f">{ndims}i", data[4 : 4 + 4 * ndims])
    offset = 4 + 4 * ndims
    if math.prod(shape) != len(data) - offset:
        raise DataCorruptedError(f"{name}: header shape {shape} does not match the data length")
    # bytearray: torch.frombuffer needs a writable buffer to avoid sharing read-only memory.
    flat = torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8)
    return flat.reshape(shape)


class RawFashionMNIST(NamedTuple):
    """The decoded data set: uint8 images ``(N, 28, 28)`` and int64 labels ``(N,)``."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


_RAW_CACHE: dict[tuple[Path, ...], RawFashionMNIST] = {}
_RAW_LOCK = threading.Lock()


def fashion_mnist_uint8(download: bool = False) -> RawFashionMNIST:
    """Find, verify and decode the data set once per process (later calls return the cache)."""
    files = find_fashion_mnist(download=download)
    key = tuple(files[name].resolve() for name in IDX_FILES)
    with _RAW_LOCK:
        if key not in _RAW_CACHE:
            decoded = {
                name: _decode_idx(read_idx_file(path, name), name) for name, path in files.items()
            }
            _RAW_CACHE[key] = RawFashionMNIST(
                decoded["train-images-idx3-ubyte"],
                decoded["train-labels-idx1-ubyte"].long(),
                decoded["t10k-images-idx3-ubyte"],
                decoded["t10k-labels-idx1-ubyte"].long(),
            )
        return _RAW_CACHE[key]


# --------------------------------------------------------------------------------------------
# The fast path: whole tensors on the device, mini-batches by indexing
# --------------------------------------------------------------------------------------------


class FashionMNIST(NamedTuple):
    """The data set as float images ``(N, 1, 28, 28)`` in [0, 1] and int64 labels, on a device."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> FashionMNIST:
        """The first ``n_train`` training and ``n_test`` test examples (views, no copy)."""
        n_train = len(self.train_labels) if n_train is None else positive_int(n_train, "n_train")
        n_test = len(self.test_labels) if n_test is None else positive_int(n_test, "n_test")
        return FashionMNIST(
            self.train_images[:n_train],
            self.train_labels[:n_train],
            self.test_images[:n_test],
            self.test_labels[:n_test],
        )


def load_fashion_mnist(
    device: torch.device | str | None = None, download: bool = False
) -> FashionMNIST:
    """The whole data set on ``device`` (default CPU): float images in [0, 1], int64 labels.

    The bytes are converted on the device itself (uint8 is a quarter of the float's size to
    transfer), with the same arithmetic as ``ToTensor`` (``x / 255``), so both paths give
    identical inputs.
    """
    raw = fashion_mnist_uint8(download=download)
    device = torch.device("cpu") if device is None else torch.device(device)

    def images(x: torch.Tensor) -> torch.Tensor:
        return x.to(device).unsqueeze(1).float().div_(255)

    return FashionMNIST(
        images(raw.train_images),
        raw.train_labels.to(device),
        images(raw.test_images),
        raw.test_labels.to(device),
    )


class BatchIterator:
    """Mini-batches ``(images, labels)`` cut out of tensors that already sit on the device.

    Each pass (each ``iter()``) draws a fresh random order from a generator seeded once with
    ``seed``, so epoch 1, 2, ... differ from each other but a new iterator with the same seed
    repeats them exactly. A batch is one ``index_select`` on the device: no per-example Python
    work, no worker processes. Without shuffling, batches are views (no copy at all).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int = 256,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        check_tensor(images, "images", (2, 3, 4), "(N, ...) with one row per example")
        check_tensor(labels, "labels", (1,), "(N,)")
        if len(images) != len(labels):
            raise ValueError(
                f"images has {len(images)} examples but labels has {len(labels)}: "
                "pass one label per image"
            )
        if images.device != labels.device:
            raise ValueError(
                f"images are on {images.device} but labels on {labels.device}: "
                "move both to the same device"
            )
        if len(labels) == 0:
            raise ValueError("images and labels are empty: pass at least one example")
        self.images = images
        self.labels = labels
        self.batch_size = positive_int(batch_size, "batch_size")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        # A CPU generator: the same seed gives the same order on every device.
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def num_examples(self) -> int:
        """Examples per pass (without the dropped incomplete batch, if any)."""
        n = len(self.labels)
        return n - n % self.batch_size if self.drop_last else n

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, size = self.num_examples, self.batch_size
        if not self.shuffle:
            for start in range(0, n, size):
                yield self.images[start : start + size], self.labels[start : start + size]
            return
        order = torch.randperm(len(self.labels), generator=self.generator)
        order = order.to(self.images.device, non_blocking=True)
        for start in range(0, n, size):
            index = order[start : start + size]
            yield self.images.index_select(0, index), self.labels.index_select(0, index)


def text_labels(labels: torch.Tensor | Sequence[int]) -> list[str]:
    """The class names of integer labels.

    ``text_labels([0, 9]) == ['T-shirt/top', 'Ankle boot']``.
    """
    values = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
    if isinstance(values, int):
        values = [values]
    names = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10:
            raise ValueError(
                f"labels must be integers from 0 to 9 (Fashion-MNIST's ten classes), got {value!r}"
            )
        names.append(CLASS_NAMES[value])
    return names


# --------------------------------------------------------------------------------------------
# The usual PyTorch path: torchvision Dataset + DataLoader
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where the torchvision layout is prepared: ``$CNNBOOK_CACHE`` or ``~/.cache/cnnbook``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnnbook"


def torchvision_root(download: bool = False) -> Path:
    """A root that ``torchvision.datasets.FashionMNIST(root)`` reads without downloading.

    torchvision wants the uncompressed files in ``<root>/FashionMNIST/raw/``. If the verified
    files found by :func:`find_fashion_mnist` are already laid out that way, their root is
    returned; otherwise they are decompressed once into :func:`cache_dir`.
    """
    files = find_fashion_mnist(download=download)
    directories = {path.parent for path in files.values()}
    if len(directories) == 1 and all(path.suffix != ".gz" for path in files.values()):
        directory = directories.pop()
        if directory.name == "raw" and directory.parent.name == "FashionMNIST":
            for name, path in files.items():
                _verify_once(path, name)
            return directory.parent.parent
    root = cache_dir()
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        target = raw / name
        if target.is_file():
            try:
                _verify_once(target, name)
                continue
            except DataCorruptedError:
                pass  # a stale or partial copy in our own cache: write it again
        data = read_idx_file(path, name)
        # Write then rename, so a reader never sees a half-written file.
        partial = target.with_name(f"{name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(target)
        _VERIFIED.add(_identity(target))
    return root


# Files this process has verified, by (path, size, modification time): checked once, not at
# every call (python -m cnnbook bench builds the torchvision loaders once per run).
_VERIFIED: set[tuple[str, int, int]] = set()


def _identity(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _verify_once(path: Path, name: str) -> None:
    if _identity(path) not in _VERIFIED:
        read_idx_file(path, name)
        _VERIFIED.add(_identity(path))


def torchvision_datasets(download: bool = False, transform: object | None = None):
    """``torchvision.datasets.FashionMNIST`` train and test sets, ``ToTensor`` by default."""
    import torchvision
    from torchvision import transforms

    root = str(torchvision_root(download=download))
    transform = transforms.ToTensor() if transform is None else transform
    train = torchvision.datasets.FashionMNIST(root, train=True, transform=transform)
    test = torchvision.datasets.FashionMNIST(root, train=False, transform=transform)
    return train, test


def torchvision_loaders(
    batch_size: int = 256,
    num_workers: int = 4,
    resize: int | tuple[int, int] | None = None,
    download: bool = False,
    seed: int | None = None,
    limit: int | None = None,
):
    """The source's data pipeline: ``DataLoader``\\ s over the torchvision data sets.

    ``ToTensor`` (after an optional ``Resize``) runs on every image separately, in
    ``num_workers`` worker processes; the training loader reshuffles each epoch (from
    ``seed`` when given, so the order reproduces). ``limit`` keeps only the first ``limit``
    examples of each set (quick runs).
    """
    from torch.utils import data
    from torchvision import transforms

    batch_size = positive_int(batch_size, "batch_size")
    steps = [transforms.ToTensor()]
    if resize is not None:
        steps.insert(0, transforms.Resize(resize))
    train, test = torchvision_datasets(download=download, transform=transforms.Compose(steps))
    if limit is not None:
        limit = positive_int(limit, "limit")
        train = data.Subset(train, range(min(limit, len(train))))
        test = data.Subset(test, range(min(limit, len(test))))
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return (
        data.DataLoader(
            train, batch_size, shuffle=True, num_workers=num_workers, generator=generator
        ),
        data.DataLoader(test, batch_size, shuffle=False, num_workers=num_workers),
    )
