"""A folder tree with one sub-folder per class: ``root/<class>/**/<image>``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PIL import Image

from .filelist import FileListSource

log = logging.getLogger(__name__)


def image_extensions() -> set[str]:
    """File suffixes PIL can open (lower case, with the dot)."""
    return {ext.lower() for ext in Image.registered_extensions()}


def is_image_file(path: Path, extensions: set[str]) -> bool:
    return path.is_file() and path.suffix.lower() in extensions and not path.name.startswith(".")


def image_files(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder``, sorted."""
    extensions = image_extensions()
    return sorted(p for p in folder.rglob("*") if is_image_file(p, extensions))


class FolderSource(FileListSource):
    """Images in ``root/<class>/...``; classes are the sub-folder names, ids the paths relative to root.

    Hidden files and files PIL does not recognise by suffix are ignored; images directly in ``root`` are
    ignored with a warning, since they have no class.
    """

    def __init__(self, root: str | os.PathLike, name: str | None = None, transform=None):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist")
        extensions = image_extensions()
        loose = [p.name for p in self.root.iterdir() if is_image_file(p, extensions)]
        if loose:
            log.warning(
                "%s: %d images directly in the folder have no class sub-folder and are ignored (e.g. %s)",
                self.root,
                len(loose),
                loose[0],
            )
        class_dirs = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        ids, class_of = [], []
        for class_dir in class_dirs:
            files = image_files(class_dir)
            if not files:
                log.warning("%s: class folder %r holds no images and is ignored", self.root, class_dir.name)
                continue
            ids += [p.relative_to(self.root).as_posix() for p in files]
            class_of += [class_dir.name] * len(files)
        if not ids:
            raise ValueError(
                f"no images found in {self.root}: expected one sub-folder per class, each holding images "
                f"(e.g. {self.root}/cat/001.jpg)"
            )
        super().__init__(self.root, ids, class_of, name or f"folder:{self.root.name}", transform=transform)
