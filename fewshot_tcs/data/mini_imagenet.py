"""mini-ImageNet with the Ravi & Larochelle (2017) split: 64 / 16 / 20 classes of 600 images each.

A local copy comes in one of two layouts: ``root/images/<file>`` with ``root/{train,val,test}.csv``
(columns ``filename,label``), or ``root/{train,val,test}/<wnid>/<file>``. Without one, a Hugging Face
dataset with image and label (wnid) columns can stand in; its rows are pooled over its splits and grouped by
the split's wnids (``timm/mini-imagenet`` has the same 100 classes but 650 other images per class, so its
numbers are not comparable with published ones).
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .filelist import FileListSource
from .folder import image_files
from .hub import guess_columns, load_hub
from .huggingface import HFSource
from .paths import data_roots
from .source import ImageSource

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
HUB_DATASET = "timm/mini-imagenet"
FOLDERS = ("mini-imagenet", "mini_imagenet", "miniImagenet", "miniImageNet", "miniimagenet")

# The wnids of Ravi & Larochelle's train.csv / val.csv / test.csv (twitter-research/meta-learning-lstm,
# data/miniImagenet), as listed in a published loader that checks them against those files.
SPLIT_WNIDS = {
    "train": tuple(
        """n01532829 n01558993 n01704323 n01749939 n01770081 n01843383 n01910747 n02074367 n02089867 n02091831
        n02101006 n02105505 n02108089 n02108551 n02108915 n02111277 n02113712 n02120079 n02165456 n02457408
        n02606052 n02687172 n02747177 n02795169 n02823428 n02966193 n03017168 n03047690 n03062245 n03207743
        n03220513 n03337140 n03347037 n03400231 n03476684 n03527444 n03676483 n03838899 n03854065 n03888605
        n03908618 n03924679 n03998194 n04067472 n04243546 n04251144 n04258138 n04275548 n04296562 n04389033
        n04435653 n04443257 n04509417 n04515003 n04596742 n04604644 n04612504 n06794110 n07584110 n07697537
        n07747607 n09246464 n13054560 n13133613""".split()
    ),
    "val": tuple(
        """n01855672 n02091244 n02114548 n02138441 n02174001 n02950826 n02971356 n02981792 n03075370 n03417042
        n03535780 n03584254 n03770439 n03773504 n03980874 n09256479""".split()
    ),
    "test": tuple(
        """n01930112 n01981276 n02099601 n02110063 n02110341 n02116738 n02129165 n02219486 n02443484 n02871525
        n03127925 n03146219 n03272010 n03544143 n03775546 n04146614 n04149813 n04418357 n04522168
        n07613480""".split()
    ),
}


def layout(folder: Path, split: str) -> str | None:
    """``"csv"`` or ``"folders"`` when ``folder`` holds a mini-ImageNet copy with this split, else None."""
    if (folder / f"{split}.csv").is_file() and (folder / "images").is_dir():
        return "csv"
    if (folder / split).is_dir():
        return "folders"
    return None


def locate(split: str, root: str | os.PathLike | None = None) -> Path | None:
    """The first folder holding the split in a known layout: ``root`` itself, or a mini-ImageNet folder of a data
    root."""
    candidates = [Path(root).expanduser()] if root is not None else [r / f for r in data_roots() for f in FOLDERS]
    return next((c for c in candidates if layout(c, split) is not None), None)


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    """Files (as ``images/<filename>``) and wnids of a Ravi-Larochelle CSV."""
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows or [c.strip() for c in rows[0]] != ["filename", "label"]:
        raise ValueError(f"{path}: expected a header 'filename,label'; got {rows[0] if rows else 'an empty file'}")
    if any(len(row) != 2 for row in rows[1:]):
        raise ValueError(f"{path}: every row must be 'filename,label'")
    return [f"images/{row[0].strip()}" for row in rows[1:]], [row[1].strip() for row in rows[1:]]


def read_folders(folder: Path, split: str) -> tuple[list[str], list[str]]:
    """Files (relative to ``folder``) and wnids of ``folder/<split>/<wnid>/<file>``."""
    files = [p for p in image_files(folder / split) if len(p.relative_to(folder / split).parts) >= 2]
    return [p.relative_to(folder).as_posix() for p in files], [p.relative_to(folder / split).parts[0] for p in files]


def local_copy(folder: Path, split: str, transform=None) -> FileListSource:
    """The split from a local copy; warns when its classes are not the standard ones."""
    files, wnids = read_csv(folder / f"{split}.csv") if layout(folder, split) == "csv" else read_folders(folder, split)
    if not files:
        raise FileNotFoundError(f"mini-ImageNet: no images for split {split!r} in {folder}")
    unexpected = set(wnids) ^ set(SPLIT_WNIDS[split])
    if unexpected:
        log.warning(
            "mini-ImageNet %s in %s: %d classes differ from the Ravi-Larochelle split (e.g. %s); results will not be "
            "comparable with published ones",
            split,
            folder,
            len(unexpected),
            sorted(unexpected)[0],
        )
    return FileListSource(folder, files, wnids, "mini-imagenet", split, transform)


class HFClassSplitSource(ImageSource):
    """The rows of a Hugging Face dataset (all its splits pooled) whose class is one of ``class_names``.

    Ids are ``<dataset split>/<row>``; images are decoded on access.
    """

    def __init__(self, data: Any, class_names: list[str], name: str, split: str, transform=None):
        parts = dict(data) if isinstance(data, dict) else {str(getattr(data, "split", None) or "data"): data}
        image, label = guess_columns(next(iter(parts.values())))
        self._parts = {part: HFSource(ds, image, label, name=name, split=part) for part, ds in parts.items()}
        present = {s.classes[k] for s in self._parts.values() for k in np.unique(s.labels)}
        missing = sorted(set(class_names) - present)
        if missing:
            raise ValueError(
                f"{name}: the dataset lacks {len(missing)} of the {len(class_names)} {split} classes (e.g. "
                f"{missing[0]}); its {label!r} column must hold mini-ImageNet wnids"
            )
        ids, class_of, self._rows = [], [], []
        for part, source in self._parts.items():
            names = np.asarray(source.classes)[source.labels]
            for k in np.flatnonzero(np.isin(names, class_names)):
                ids.append(f"{part}/{k}")
                class_of.append(str(names[k]))
                self._rows.append((part, int(k)))
        classes = sorted(class_names)
        position = {c: i for i, c in enumerate(classes)}
        super().__init__(ids, [position[c] for c in class_of], classes, name, split, transform)

    def _load(self, i: int) -> Image.Image:
        part, k = self._rows[i]
        return self._parts[part].load(k)

    def describe(self, i: int) -> str:
        part, k = self._rows[i]
        return f"row {k} of split {part!r} of {self.name}"

    def identity(self, i: int) -> str:
        part, k = self._rows[i]
        return self._parts[part].identity(k)


def mini_imagenet(
    split: str = "test", root: Any = None, download: bool = False, transform=None
) -> FileListSource | HFClassSplitSource:
    """One split of mini-ImageNet.

    ``root``: a local copy (either layout), ``"hf:<repo or folder>"``, or a ``datasets`` Dataset / DatasetDict.
    Without root the data roots are searched (``mini-imagenet/``, ``miniImagenet/``, ...); ``download=True``
    then falls back to the hub dataset ``timm/mini-imagenet``.
    """
    if split not in SPLITS:
        raise ValueError(f"mini-ImageNet split must be one of {list(SPLITS)}; got {split!r}")
    wnids = list(SPLIT_WNIDS[split])
    if hasattr(root, "column_names"):
        return HFClassSplitSource(root, wnids, "mini-imagenet@hf", split, transform)
    if isinstance(root, str) and root.startswith("hf:"):
        return HFClassSplitSource(load_hub(root[3:]), wnids, f"mini-imagenet@{root}", split, transform)
    folder = locate(split, root)
    if folder is not None:
        return local_copy(folder, split, transform)
    searched = [str(root)] if root is not None else [str(r / FOLDERS[0]) for r in data_roots()]
    expected = (
        f"mini-ImageNet {split} not found in {', '.join(searched)}: expected images/<file> with {split}.csv "
        f"(filename,label), or {split}/<wnid>/<file>."
    )
    if not download:
        raise FileNotFoundError(
            f"{expected} Put a copy there (or in $FEWSHOT_TCS_DATA/mini-imagenet), pass root=, or download=True to "
            f"use the hub dataset {HUB_DATASET} when online."
        )
    try:
        data = load_hub(HUB_DATASET)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{expected} The hub fallback failed too: {error}") from error
    log.warning("mini-ImageNet from %s: same classes, other images than Ravi-Larochelle's", HUB_DATASET)
    return HFClassSplitSource(data, wnids, f"mini-imagenet@hf:{HUB_DATASET}", split, transform)
