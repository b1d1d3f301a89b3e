"""Image files named by an index (a CSV, a txt file, a split folder), with ids relative to the dataset root."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .source import ImageLoadError, ImageSource, class_names_for, read_image


class FileListSource(ImageSource):
    """Images at ``root/<file>`` for the given relative files, each with its class name.

    The ids are the relative paths, so episode files stay valid wherever the dataset is copied; classes are
    the sorted distinct class names. Every listed file must exist: a partial copy fails here, not mid-run.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        files: Sequence[str],
        class_of: Sequence[str],
        name: str,
        split: str | None = None,
        transform=None,
    ):
        self.root = Path(root)
        missing = [f for f in files if not (self.root / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{name}: {len(missing)} of {len(files)} listed images are missing under {self.root} "
                f"(e.g. {missing[0]}); the copy is incomplete: extract or download it again"
            )
        classes, labels = class_names_for(list(class_of))
        super().__init__(files, labels, classes, name, split, transform)

    def path(self, i: int) -> Path:
        return self.root / self.ids[i]

    def _load(self, i: int) -> Image.Image:
        path = self.path(i)
        if not path.is_file():
            raise ImageLoadError(f"cannot read image {path}: the file is gone")
        return read_image(path)

    def describe(self, i: int) -> str:
        return str(self.path(i))

    def identity(self, i: int) -> str:
        stat = self.path(i).stat()
        return f"{self.ids[i]}:{stat.st_size}:{stat.st_mtime_ns}"
