"""CIFAR-FS and FC100: few-shot class splits of CIFAR-100, read through torchvision's ``CIFAR100``.

Both pool the official train and test pickles (600 images per class) and keep the classes of one split.
Split lists, checked against two independent copies each:

- CIFAR-FS (Bertinetto et al. 2019, bertinetto/r2d2 ``data/CIFAR_FS/splits/bertinetto``): as shipped in
  torchmeta's ``assets/cifar100/cifar-fs/{train,val,test}.json``, equal to the split order of the CIFAR-FS
  class-name list in a second published repository.
- FC100 (Oreshkin et al. 2018, TADAM): by superclass, as in torchmeta's ``assets/cifar100/fc100`` and the
  TADAM-derived ``create_dataset_cifar100.py`` (superclass indices train {1-6, 9, 10, 15, 17-19},
  val {8, 11, 13, 16}, test {0, 7, 12, 14}).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .paths import cache_root, data_roots
from .source import ImageSource

SPLITS = ("train", "val", "test")
FOLDER = "cifar-100-python"
FILES = ("train", "test", "meta")
DOWNLOAD_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"

# The CIFAR-100 taxonomy: 20 superclasses of 5 classes each.
SUPERCLASSES = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}

CIFAR_FS_CLASSES = {
    "train": tuple(
        """apple aquarium_fish bear bee bottle bowl boy bridge bus can castle caterpillar chair clock cloud cockroach
        couch cup dinosaur dolphin elephant forest girl hamster house kangaroo keyboard lawn_mower lion lizard lobster
        mountain mouse mushroom oak_tree orange orchid palm_tree pear pine_tree plate porcupine possum rabbit raccoon
        ray road seal shrew skunk skyscraper snake spider squirrel streetcar sunflower tank tiger train trout tulip
        turtle willow_tree wolf""".split()
    ),
    "val": tuple(
        """beaver beetle butterfly camel cattle crab crocodile flatfish lamp maple_tree motorcycle otter sea shark
        television tractor""".split()
    ),
    "test": tuple(
        """baby bed bicycle chimpanzee fox leopard man pickup_truck plain poppy rocket rose snail sweet_pepper table
        telephone wardrobe whale woman worm""".split()
    ),
}

FC100_SUPERCLASSES = {
    "train": tuple(
        """fish flowers food_containers fruit_and_vegetables household_electrical_devices household_furniture
        large_man-made_outdoor_things large_natural_outdoor_scenes reptiles trees vehicles_1 vehicles_2""".split()
    ),
    "val": ("large_carnivores", "large_omnivores_and_herbivores", "non-insect_invertebrates", "small_mammals"),
    "test": ("aquatic_mammals", "insects", "medium_mammals", "people"),
}


def fc100_classes(split: str) -> tuple[str, ...]:
    """The 60 (train) or 20 (val, test) fine classes of an FC100 split, sorted."""
    return tuple(sorted(c for superclass in FC100_SUPERCLASSES[split] for c in SUPERCLASSES[superclass]))


def locate(root: str | os.PathLike | None = None) -> Path | None:
    """The folder holding a complete ``cifar-100-python/`` (torchvision's root), in ``root`` or the data roots."""
    bases = [Path(root).expanduser()] if root is not None else data_roots()
    for base in bases:
        # root may also be the cifar-100-python folder itself
        candidates = [base, base / "cifar100", base / "cifar-100"] + ([base.parent] if base.name == FOLDER else [])
        for candidate in candidates:
            if all((candidate / FOLDER / f).is_file() for f in FILES):
                return candidate
    return None


class CIFAR100Source(ImageSource):
    """The images of some CIFAR-100 classes, train and test pickles pooled; 32x32 RGB.

    Ids are ``train/<k>`` or ``test/<k>``: the image's position in that official pickle. Files are read with
    torchvision's ``CIFAR100``, which checks them against the official MD5 sums before unpickling.
    """

    def __init__(
        self,
        class_names: Sequence[str],
        name: str = "cifar-100",
        split: str | None = None,
        root: str | os.PathLike | None = None,
        download: bool = False,
        transform=None,
    ):
        base = locate(root)
        if base is None and download:
            base = self._download(name, root)
        if base is None:
            where = str(root) if root is not None else ", ".join(str(r) for r in data_roots())
            raise FileNotFoundError(
                f"{name}: CIFAR-100 ({FOLDER}/train, test, meta) not found in {where}. Download and extract "
                f"{DOWNLOAD_URL} there (or into $FEWSHOT_TCS_DATA), or pass download=True when online."
            )
        self.folder = base / FOLDER
        wanted = set(class_names)
        ids, class_of, pixels, self._md5 = [], [], [], {}
        for part, dataset in self._read(base).items():
            unknown = wanted - set(dataset.classes)
            if unknown:
                raise ValueError(f"{name}: {self.folder}/meta has no classes {sorted(unknown)}; is it CIFAR-100?")
            targets = np.asarray(dataset.targets)
            keep = np.flatnonzero(np.isin(np.asarray(dataset.classes)[targets], sorted(wanted)))
            ids += [f"{part}/{k}" for k in keep]
            class_of += [dataset.classes[t] for t in targets[keep]]
            pixels.append(dataset.data[keep])
            self._md5[part] = dataset.train_list[0][1] if part == "train" else dataset.test_list[0][1]
        self._pixels = np.concatenate(pixels)
        classes = sorted(wanted)
        position = {c: k for k, c in enumerate(classes)}
        super().__init__(ids, [position[c] for c in class_of], classes, name, split, transform)

    @staticmethod
    def _read(base: Path) -> dict:
        from torchvision.datasets import CIFAR100

        try:
            return {part: CIFAR100(str(base), train=part == "train") for part in ("train", "test")}
        except RuntimeError as error:  # torchvision's "not found or corrupted"
            raise OSError(
                f"CIFAR-100 files in {base / FOLDER} do not match the official MD5 sums ({error}); delete the "
                f"folder and extract {DOWNLOAD_URL} again"
            ) from error

    @staticmethod
    def _download(name: str, root: str | os.PathLike | None) -> Path:
        from torchvision.datasets import CIFAR100

        target = Path(root).expanduser() if root is not None else cache_root() / "data"
        try:
            CIFAR100(str(target), train=False, download=True)
        except Exception as error:  # any network or archive failure
            raise FileNotFoundError(
                f"{name}: CIFAR-100 is not here and could not be downloaded into {target}: {error}. Extract "
                f"{DOWNLOAD_URL} into {target} yourself, or pass root= to a folder that holds {FOLDER}/."
            ) from error
        return target

    def _load(self, i: int) -> Image.Image:
        return Image.fromarray(self._pixels[i])

    def describe(self, i: int) -> str:
        part, k = self.ids[i].split("/")
        return f"image {k} of {self.folder / part}"

    def identity(self, i: int) -> str:
        # The pickles were checked against these sums, so they pin the content.
        return f"{self.ids[i]}:{self._md5[self.ids[i].split('/')[0]]}"


def _check_split(dataset: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"{dataset} split must be one of {list(SPLITS)}; got {split!r}")


def cifar_fs(
    split: str = "test", root: str | os.PathLike | None = None, download: bool = False, transform=None
) -> CIFAR100Source:
    """CIFAR-FS (Bertinetto et al. 2019): 64 / 16 / 20 classes for ``train`` / ``val`` / ``test``."""
    _check_split("CIFAR-FS", split)
    return CIFAR100Source(CIFAR_FS_CLASSES[split], "cifar-fs", split, root, download, transform)


def fc100(
    split: str = "test", root: str | os.PathLike | None = None, download: bool = False, transform=None
) -> CIFAR100Source:
    """FC100 (Oreshkin et al. 2018): split by superclass, 60 / 20 / 20 classes for ``train`` / ``val`` / ``test``."""
    _check_split("FC100", split)
    return CIFAR100Source(fc100_classes(split), "fc100", split, root, download, transform)
