"""Datasets shipped as ``<split>/<class>/<image>`` trees, zipped or extracted: CIFAR-10 JPEGs, ants and bees."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from PIL import Image

from .folder import image_extensions
from .paths import find_data
from .source import ImageSource, class_names_for, read_image

# name -> (archive stem under the data roots, splits, default split, what it is)
ARCHIVES = {
    "cifar10": ("cifar10/cifar10-jpg", ("train", "test"), "test", "CIFAR-10 as JPEG files (Krizhevsky 2009)"),
    "hymenoptera": ("hymenoptera/hymenoptera", ("train", "val"), "val", "ants and bees photographs"),
}


class ArchiveSource(ImageSource):
    """The images of one split of a ``<split>/<class>/<image>`` tree, in a zip file or an extracted folder.

    Ids are the member paths (``test/cat/0001.jpg``): relative to the dataset root and unique across splits,
    so an episode may draw its unlabelled pool from another split of the same dataset. Files PIL does not
    recognise by suffix are ignored, the way :class:`FolderSource` does.
    """

    def __init__(self, root: str | os.PathLike, split: str, name: str, transform=None):
        self.root = Path(root).expanduser()
        members = self._members(self.root)
        extensions = image_extensions()
        ids = sorted(
            m
            for m in members
            if m.count("/") == 2 and m.startswith(f"{split}/") and Path(m).suffix.lower() in extensions
        )
        if not ids:
            raise ValueError(f"{name}: no images under {split}/<class>/ in {self.root}")
        classes, labels = class_names_for([m.split("/")[1] for m in ids])
        self._zips: dict[int, zipfile.ZipFile] = {}
        super().__init__(ids, labels, classes, name, split, transform)

    @staticmethod
    def _members(root: Path) -> list[str]:
        if root.is_file():
            with zipfile.ZipFile(root) as archive:
                return [n for n in archive.namelist() if not n.endswith("/")]
        return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]

    def _archive(self) -> zipfile.ZipFile:
        # One handle per process: DataLoader workers must not share a forked file position.
        pid = os.getpid()
        if pid not in self._zips:
            self._zips[pid] = zipfile.ZipFile(self.root)
        return self._zips[pid]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_zips": {}}

    def _load(self, i: int) -> Image.Image:
        if self.root.is_file():
            return read_image(io.BytesIO(self._archive().read(self.ids[i])))
        return read_image(self.root / self.ids[i])

    def describe(self, i: int) -> str:
        return f"{self.root}:{self.ids[i]}" if self.root.is_file() else str(self.root / self.ids[i])

    def identity(self, i: int) -> str:
        if self.root.is_file():
            return f"{self.ids[i]}:crc{self._archive().getinfo(self.ids[i]).CRC:08x}"
        stat = (self.root / self.ids[i]).stat()
        return f"{self.ids[i]}:{stat.st_size}:{stat.st_mtime_ns}"


def archive_source(
    name: str, split: str | None = None, root: str | os.PathLike | None = None, transform=None
) -> ArchiveSource:
    """A split of a dataset of :data:`ARCHIVES`: ``<stem>.zip`` or its extracted folder, under ``root`` or
    the data roots (``$FEWSHOT_TCS_DATA``, the cache, ``shared/data`` beside the checkout)."""
    stem, splits, default, what = ARCHIVES[name]
    split = split or default
    if split not in splits:
        raise ValueError(f"{name} split must be one of {list(splits)}; got {split!r}")
    candidates = [f"{stem}.zip", stem, stem.split("/")[0]]
    if root is not None:
        found = next((Path(root) / c for c in candidates if (Path(root) / c).exists()), None)
        found = found or (Path(root) if (Path(root) / split).is_dir() or Path(root).is_file() else None)
    else:
        found = find_data(*candidates)
    if found is None:
        where = root if root is not None else "the data roots (fewshot_tcs.data.paths.data_roots())"
        raise FileNotFoundError(
            f"{name} ({what}): {stem}.zip not found in {where}. Put it (or its extracted {'/'.join(splits)} "
            f"folders) in <root>/{stem.split('/')[0]}/, or set FEWSHOT_TCS_DATA to that root."
        )
    return ArchiveSource(found, split, name, transform)
