"""Fashion-MNIST's files: where they are looked for, how they are checked, how they are decoded.

The data set is four IDX files. :func:`find_fashion_mnist` looks for them in a list of places
(by default :func:`search_roots`: ``$CNNBOOK_DATA``, ``./data``, then where Debian's package
``dataset-fashion-mnist`` installs them), each holding the four files (gzip-compressed or not)
or torchvision's ``<root>/FashionMNIST/raw/`` layout; only when asked (``download=True``) does
torchvision fetch them into ``./data``. :func:`read_idx_file` checks a file's decompressed size
and SHA-256 against :data:`IDX_FILES`; :func:`fashion_mnist_uint8` decodes the verified files
once per process. :func:`torchvision_root` lays the verified files out the way
``torchvision.datasets.FashionMNIST`` reads them. Every function that searches takes the places
as a parameter (``roots``), so a caller can point it elsewhere without changing any global.
:mod:`cnnbook.data` turns the decoded bytes into tensors and batches.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

#: Environment variable naming a directory that holds the data set (searched first).
DATA_ENV = "CNNBOOK_DATA"
#: Where Debian's package ``dataset-fashion-mnist`` installs the data set (searched last).
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
#: The command that installs the data set on Debian and Ubuntu.
APT_COMMAND = "sudo apt-get install dataset-fashion-mnist"
#: Environment variable naming the cache directory for the torchvision layout.
CACHE_ENV = "CNNBOOK_CACHE"
#: Places to search: ``(description, directory)`` pairs; ``None`` for an unset variable.
Roots = Sequence[tuple[str, Path | None]]

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


def find_fashion_mnist(download: bool = False, roots: Roots | None = None) -> dict[str, Path]:
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


def fashion_mnist_uint8(download: bool = False, roots: Roots | None = None) -> RawFashionMNIST:
    """Find (in ``roots``, as :func:`find_fashion_mnist`), verify and decode the data set.

    Decoded once per process and set of files: later calls return the same tensors.
    """
    files = find_fashion_mnist(download=download, roots=roots)
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
# torchvision's layout of the same files
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where the torchvision layout is prepared: ``$CNNBOOK_CACHE`` or ``~/.cache/cnnbook``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnnbook"


def torchvision_root(download: bool = False, roots: Roots | None = None) -> Path:
    """A root that ``torchvision.datasets.FashionMNIST(root)`` reads without downloading.

    torchvision wants the uncompressed files in ``<root>/FashionMNIST/raw/``. If the verified
    files found by :func:`find_fashion_mnist` are already laid out that way, their root is
    returned; otherwise they are decompressed once into :func:`cache_dir`.
    """
    files = find_fashion_mnist(download=download, roots=roots)
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


# Files this process has verified, by (path, size, modification time): hashed once, not at every
# call (a benchmark builds the torchvision data sets again for every run).
_VERIFIED: set[tuple[str, int, int]] = set()


def _identity(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _verify_once(path: Path, name: str) -> None:
    if _identity(path) not in _VERIFIED:
        read_idx_file(path, name)
        _VERIFIED.add(_identity(path))
