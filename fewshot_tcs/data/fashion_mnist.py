"""Fashion-MNIST (Xiao et al. 2017) from its IDX files: Debian's package, a torchvision root, or a download."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .paths import cache_root, data_roots
from .source import ImageSource

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
PREFIX = {"train": "train", "test": "t10k"}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a numpy array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, file holds {array.size} values")
    return array.reshape(shape)


def _candidate_dirs(root: str | os.PathLike | None) -> list[Path]:
    bases = [Path(root).expanduser()] if root is not None else [DEBIAN_DIR, *data_roots()]
    dirs = []
    for base in bases:
        dirs += [base, base / "fashion-mnist", base / "FashionMNIST" / "raw"]
    return dirs


def _find(split: str, root: str | os.PathLike | None) -> tuple[Path, Path] | None:
    prefix = PREFIX[split]
    for directory in _candidate_dirs(root):
        for suffix in ("", ".gz"):
            images = directory / f"{prefix}-images-idx3-ubyte{suffix}"
            labels = directory / f"{prefix}-labels-idx1-ubyte{suffix}"
            if images.is_file() and labels.is_file():
                return images, labels
    return None


class FashionMNISTSource(ImageSource):
    """The train (60,000) or test (10,000) split; ids are ``<split>/<index>``, images 28x28 grayscale.

    Files are looked for under ``root`` (itself, ``fashion-mnist/`` or torchvision's ``FashionMNIST/raw/``)
    or, without root, in Debian's ``/usr/share/datasets/fashion-mnist`` and the data roots. Pixels are read
    on first access.
    """

    def __init__(
        self, split: str = "test", root: str | os.PathLike | None = None, download: bool = False, transform=None
    ):
        if split not in PREFIX:
            raise ValueError(f"Fashion-MNIST split must be 'train' or 'test'; got {split!r}")
        found = _find(split, root)
        if found is None and download:
            found = self._download(split)
        if found is None:
            raise FileNotFoundError(
                f"Fashion-MNIST {split} files ({PREFIX[split]}-images-idx3-ubyte[.gz]) not found in "
                f"{[str(d) for d in _candidate_dirs(root)][:4]}... Install Debian's dataset-fashion-mnist "
                f"(apt-get install dataset-fashion-mnist), pass root=, or download=True when online."
            )
        self.images_path, labels_path = found
        labels = read_idx(labels_path).astype(np.int64)
        self._pixels: np.ndarray | None = None
        super().__init__(
            [f"{split}/{k}" for k in range(len(labels))], labels, CLASSES, "fashion-mnist", split, transform
        )

    @staticmethod
    def _download(split: str) -> tuple[Path, Path] | None:
        from torchvision.datasets import FashionMNIST

        root = cache_root() / "data"
        try:
            FashionMNIST(str(root), train=split == "train", download=True)
        except Exception as error:  # any network failure
            raise FileNotFoundError(f"Fashion-MNIST is not here and could not be downloaded: {error}") from error
        return _find(split, root)

    @property
    def pixels(self) -> np.ndarray:
        """All images, ``(n, 28, 28)`` uint8."""
        if self._pixels is None:
            pixels = read_idx(self.images_path)
            if len(pixels) != len(self.labels):
                raise ValueError(
                    f"{self.images_path} holds {len(pixels)} images but its labels file {len(self.labels)}"
                )
            self._pixels = pixels
        return self._pixels

    def _load(self, i: int) -> Image.Image:
        return Image.fromarray(self.pixels[i])

    def describe(self, i: int) -> str:
        return f"image {i} of {self.images_path}"

    def identity(self, i: int) -> str:
        stat = self.images_path.stat()
        return f"{self.ids[i]}:{stat.st_size}:{stat.st_mtime_ns}"
