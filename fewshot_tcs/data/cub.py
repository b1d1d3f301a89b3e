"""CUB-200-2011 (Wah et al. 2011) with the few-shot class split of Chen et al. 2019: 100 / 50 / 50 classes.

The split follows ``filelists/CUB/write_CUB_filelist.py`` of wyharveychen/CloserLookFewShot: over the class
folders in sorted order (0-based index i), i % 2 == 0 is base (``train``), i % 4 == 1 is ``val`` and
i % 4 == 3 is novel (``test``). Ids are paths relative to ``CUB_200_2011/`` (``images/<class>/<file>.jpg``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .filelist import FileListSource
from .paths import cache_root, data_roots

SPLITS = ("train", "val", "test")
FOLDER = "CUB_200_2011"
INDEX_FILES = ("images.txt", "image_class_labels.txt", "classes.txt")
DOWNLOAD_URL = "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1"
ARCHIVE = "CUB_200_2011.tgz"
ARCHIVE_MD5 = "97eceeb196236b17998738112f37df78"


def split_of(index: int) -> str:
    """The split of the class at ``index`` among the sorted class folders (Chen et al.'s rule)."""
    if index % 2 == 0:
        return "train"
    return "val" if index % 4 == 1 else "test"


def locate(root: str | os.PathLike | None = None) -> Path | None:
    """A complete ``CUB_200_2011`` folder: ``root`` itself or ``root/CUB_200_2011``, else under the data roots."""
    if root is not None:
        candidates = [Path(root).expanduser(), Path(root).expanduser() / FOLDER]
    else:
        candidates = [r / sub / FOLDER for r in data_roots() for sub in (".", "cub", "CUB")]
    for folder in candidates:
        if all((folder / f).is_file() for f in INDEX_FILES) and (folder / "images").is_dir():
            return folder
    return None


def read_index(path: Path) -> dict[int, str]:
    """A CUB ``<id> <value>`` file as ``{id: value}``."""
    index = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            key, _, value = line.strip().partition(" ")
            if not key.isdigit() or not value:
                raise ValueError(f"{path}:{n}: expected '<id> <value>'; got {line!r}")
            index[int(key)] = value.strip()
    return index


def download_archive(root: str | os.PathLike | None = None) -> Path:
    """Fetch and extract the official archive (1.1 GB, MD5-checked) into ``root`` or the cache."""
    from torchvision.datasets.utils import download_and_extract_archive

    target = Path(root).expanduser() if root is not None else cache_root() / "data"
    download_and_extract_archive(DOWNLOAD_URL, str(target), filename=ARCHIVE, md5=ARCHIVE_MD5)
    return target / FOLDER


def cub(
    split: str = "test", root: str | os.PathLike | None = None, download: bool = False, transform=None
) -> FileListSource:
    """One split of CUB-200-2011 from a local copy, or from the official archive when ``download=True``."""
    if split not in SPLITS:
        raise ValueError(f"CUB split must be one of {list(SPLITS)}; got {split!r}")
    folder = locate(root)
    where = str(root) if root is not None else ", ".join(str(r) for r in data_roots())
    if folder is None and download:
        try:
            folder = download_archive(root)
        except Exception as error:  # any network or archive failure
            raise FileNotFoundError(
                f"CUB-200-2011 is not in {where} and could not be downloaded: {error}. Extract {ARCHIVE} "
                f"({DOWNLOAD_URL}) there yourself."
            ) from error
    if folder is None:
        raise FileNotFoundError(
            f"CUB-200-2011 ({FOLDER}/{{{','.join(INDEX_FILES)}}} and images/) not found in {where}. Extract "
            f"{ARCHIVE} from {DOWNLOAD_URL} there (or into $FEWSHOT_TCS_DATA), or pass download=True when online."
        )
    images = read_index(folder / "images.txt")
    class_ids = read_index(folder / "image_class_labels.txt")
    class_names = read_index(folder / "classes.txt")
    split_by_class = {name: split_of(i) for i, name in enumerate(sorted(class_names.values()))}
    files, class_of = [], []
    for image_id, path in sorted(images.items()):
        class_id = class_ids.get(image_id)
        if class_id is None or not class_id.isdigit() or int(class_id) not in class_names:
            raise ValueError(f"{folder}: image {image_id} ({path}) has no valid class in image_class_labels.txt")
        name = class_names[int(class_id)]
        if split_by_class[name] == split:
            files.append(f"images/{path}")
            class_of.append(name)
    return FileListSource(folder, files, class_of, "cub", split, transform)
