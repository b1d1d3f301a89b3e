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


def write_folder(
    source,
    root: str | os.PathLike,
    n_classes: int | None = None,
    per_class: int | None = None,
    seed: int = 0,
) -> Path:
    """Write images of ``source`` (any source kind, or a dataset name) as ``root/<class>/<n>.png``.

    ``n_classes`` classes and ``per_class`` images of each are drawn with ``seed`` (all when None), e.g. to
    turn a dataset into the folder layout that ``fit`` and ``fewshot-tcs fit`` read. Returns ``root``.
    """
    import numpy as np

    from . import as_source

    source = as_source(source)
    root = Path(root).expanduser()
    rng = np.random.default_rng(seed)
    by_class = source.indices_by_class()
    picked = np.arange(len(by_class))
    if n_classes is not None:
        if not 1 <= n_classes <= len(by_class):
            raise ValueError(f"n_classes must be between 1 and {len(by_class)} (the source's classes); got {n_classes}")
        picked = np.sort(rng.choice(len(by_class), n_classes, replace=False))
    for c in picked:
        indices = by_class[c]
        if per_class is not None:
            if per_class > len(indices):
                raise ValueError(
                    f"class {source.classes[c]!r} has {len(indices)} images; per_class={per_class} asks for more"
                )
            indices = np.sort(rng.choice(indices, per_class, replace=False))
        # Class names may hold path separators (e.g. Omniglot's alphabet/character): flatten them.
        folder = root / str(source.classes[c]).replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        for n, i in enumerate(indices):
            source.load(int(i)).save(folder / f"{n:04d}.png")
    return root
