"""Omniglot (Lake et al. 2015): handwritten characters, one class per character of an alphabet."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .paths import cache_root, find_data
from .source import ImageSource, read_image

SUBSETS = {
    "background": ("images_background",),
    "evaluation": ("images_evaluation",),
    "small1": ("images_background_small1",),
    "small2": ("images_background_small2",),
    "small": ("images_background_small1", "images_background_small2"),
}
DOWNLOAD_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"


class OmniglotSource(ImageSource):
    """Omniglot from official zips or extracted folders (``alphabet/character/*.png``).

    Ids are ``alphabet/character/file.png``; classes are ``alphabet/character``. Several archives may be
    given: an id present in more than one (small1 and small2 share Greek and Latin, file for file) is kept
    once, from the first archive that has it.
    """

    def __init__(
        self, roots: Sequence[str | os.PathLike], name: str = "omniglot", split: str | None = None, transform=None
    ):
        self.roots = [Path(r).expanduser() for r in roots]
        members: dict[str, tuple[int, str]] = {}
        for k, root in enumerate(self.roots):
            for member in self._list_pngs(root):
                item_id = "/".join(member.split("/")[-3:])
                members.setdefault(item_id, (k, member))
        if not members:
            raise ValueError(f"no Omniglot images (alphabet/character/*.png) in {[str(r) for r in self.roots]}")
        ids = sorted(members)
        class_of = [item_id.rsplit("/", 1)[0] for item_id in ids]
        classes = sorted(set(class_of))
        position = {c: i for i, c in enumerate(classes)}
        self._members = [members[item_id] for item_id in ids]
        self._zips: dict[tuple[int, int], zipfile.ZipFile] = {}
        super().__init__(ids, [position[c] for c in class_of], classes, name, split, transform)

    @staticmethod
    def _list_pngs(root: Path) -> list[str]:
        if not root.exists():
            raise FileNotFoundError(f"Omniglot archive or folder {root} does not exist")
        if root.is_file():
            with zipfile.ZipFile(root) as archive:
                return [n for n in archive.namelist() if n.endswith(".png") and n.count("/") >= 2]
        return [
            p.relative_to(root).as_posix() for p in sorted(root.rglob("*.png")) if len(p.relative_to(root).parts) >= 3
        ]

    def _archive(self, k: int) -> zipfile.ZipFile:
        # One handle per process: DataLoader workers must not share a forked file position.
        key = (k, os.getpid())
        if key not in self._zips:
            self._zips[key] = zipfile.ZipFile(self.roots[k])
        return self._zips[key]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_zips"] = {}
        return state

    def _load(self, i: int) -> Image.Image:
        k, member = self._members[i]
        if self.roots[k].is_file():
            return read_image(io.BytesIO(self._archive(k).read(member)))
        return read_image(self.roots[k] / member)

    def describe(self, i: int) -> str:
        k, member = self._members[i]
        return f"{self.roots[k]}:{member}" if self.roots[k].is_file() else str(self.roots[k] / member)

    def identity(self, i: int) -> str:
        k, member = self._members[i]
        if self.roots[k].is_file():
            return f"{self.ids[i]}:crc{self._archive(k).getinfo(member).CRC:08x}"
        stat = (self.roots[k] / member).stat()
        return f"{self.ids[i]}:{stat.st_size}:{stat.st_mtime_ns}"


def locate(archive: str, root: str | os.PathLike | None = None) -> Path | None:
    """An Omniglot archive (``<archive>.zip`` or its extracted folder) under ``root`` or the data roots."""
    candidates = [f"{archive}.zip", archive, f"omniglot-py/{archive}"]
    if root is not None:
        for rel in candidates:
            if (Path(root) / rel).exists():
                return Path(root) / rel
        return None
    return find_data(*(f"omniglot/{rel}" for rel in candidates))


def download(archive: str) -> Path:
    """Fetch an official Omniglot zip into the cache (needs internet)."""
    from torchvision.datasets.utils import download_url

    target = cache_root() / "data" / "omniglot"
    download_url(f"{DOWNLOAD_URL}/{archive}.zip", str(target), filename=f"{archive}.zip")
    return target / f"{archive}.zip"


def omniglot(
    subset: str = "small", root: str | os.PathLike | None = None, download_missing: bool = False, transform=None
) -> OmniglotSource:
    """A named Omniglot subset: ``background``, ``evaluation``, ``small1``, ``small2`` or ``small`` (both)."""
    if subset not in SUBSETS:
        raise ValueError(f"unknown Omniglot subset {subset!r}; choose from {sorted(SUBSETS)}")
    paths = []
    for archive in SUBSETS[subset]:
        path = locate(archive, root)
        if path is None and download_missing:
            try:
                path = download(archive)
            except Exception as error:  # any network failure
                raise FileNotFoundError(
                    f"Omniglot {archive}.zip is not here and could not be downloaded: {error}"
                ) from error
        if path is None:
            where = root if root is not None else "the data roots (fewshot_tcs.data.paths.data_roots())"
            raise FileNotFoundError(
                f"Omniglot {archive}.zip not found in {where}. Put it in <root>/omniglot/, set FEWSHOT_TCS_DATA, "
                f"or pass download=True when online."
            )
        paths.append(path)
    return OmniglotSource(paths, name=f"omniglot-{subset}", split=subset, transform=transform)
