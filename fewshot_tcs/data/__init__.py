"""Where labelled images come from: folders, lists, arrays, Hugging Face datasets and named datasets.

Everything becomes an :class:`ImageSource`; :func:`as_source` accepts any of the kinds below.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..registry import Registry
from .archive import ArchiveSource, archive_source
from .cifar import CIFAR100Source, cifar_fs, fc100
from .cub import cub
from .fashion_mnist import FashionMNISTSource
from .filelist import FileListSource
from .folder import FolderSource, image_files, write_folder
from .hub import hub_source
from .huggingface import HFSource
from .memory import ArraySource, ListSource
from .mini_imagenet import HFClassSplitSource, mini_imagenet
from .omniglot import OmniglotSource, omniglot
from .source import ConcatSource, ImageLoadError, ImageSource, SubsetSource
from .transforms import ToRGB

SOURCES: Registry[Callable[..., ImageSource]] = Registry("dataset", hint=", folder:<path> or hf:<repo>")


def register_source(name: str, loader: Callable[..., ImageSource]) -> Callable[..., ImageSource]:
    """Add a named dataset: ``loader(split=None, root=None, download=False, transform=None, ...)`` returns
    its ImageSource; :func:`load_source` and :func:`list_sources` then know the name."""
    return SOURCES.add(name, loader)


def list_sources() -> list[str]:
    """Names accepted by :func:`load_source` (besides ``folder:<path>`` and ``hf:<repo>``)."""
    return SOURCES.names()


_BUILT_IN: dict[str, Callable[..., ImageSource]] = {
    "omniglot-small": lambda split=None, **kw: omniglot("small", **kw),
    "omniglot-small1": lambda split=None, **kw: omniglot("small1", **kw),
    "omniglot-small2": lambda split=None, **kw: omniglot("small2", **kw),
    "omniglot-background": lambda split=None, **kw: omniglot("background", **kw),
    "omniglot-evaluation": lambda split=None, **kw: omniglot("evaluation", **kw),
    "fashion-mnist": lambda split=None, download=False, **kw: FashionMNISTSource(
        split or "test", download=download, **kw
    ),
    "cifar-fs": lambda split=None, **kw: cifar_fs(split or "test", **kw),
    "fc100": lambda split=None, **kw: fc100(split or "test", **kw),
    "mini-imagenet": lambda split=None, **kw: mini_imagenet(split or "test", **kw),
    "cub": lambda split=None, **kw: cub(split or "test", **kw),
    "cifar10": lambda split=None, download=False, **kw: archive_source("cifar10", split, **kw),
    "hymenoptera": lambda split=None, download=False, **kw: archive_source("hymenoptera", split, **kw),
}
for _name, _loader in _BUILT_IN.items():
    register_source(_name, _loader)


def load_source(
    name: str, split: str | None = None, root: str | os.PathLike | None = None, download: bool = False, transform=None
) -> ImageSource:
    """A named dataset (see :func:`list_sources`), ``folder:<path>`` or ``hf:<repo>``; local copies first.

    Benchmarks default to their ``test`` split. For ``hf:<repo>``, ``root`` is the datasets cache folder and
    ``download`` is not needed: ``datasets`` fetches what its cache lacks.
    """
    if name.startswith("folder:"):
        return FolderSource(name.split(":", 1)[1], transform=transform)
    if name.startswith("hf:"):
        return hub_source(name[3:], split, cache_dir=root, transform=transform)
    loader = SOURCES[name]
    if name.startswith("omniglot"):
        return loader(split, root=root, download_missing=download, transform=transform)
    return loader(split, root=root, download=download, transform=transform)


def as_source(data: Any, labels: Any = None, **kwargs: Any) -> ImageSource:
    """Any supported kind of labelled images -> :class:`ImageSource`.

    Accepted: an ImageSource; a folder path (one sub-folder per class) or a dataset name; a Hugging Face
    ``datasets.Dataset``; ``(images, labels)`` arrays or ``images, labels=...``; a list of
    ``(path | PIL image | array, label)`` pairs.
    """
    if isinstance(data, ImageSource):
        return data
    if isinstance(data, (str, os.PathLike)):
        if _is_dataset_name(data):
            return load_source(data, **kwargs)
        if os.path.isdir(data):
            return FolderSource(data, **kwargs)
        raise FileNotFoundError(
            f"{data!r} is neither a folder of class sub-folders nor a dataset name ({list_sources()})"
        )
    if hasattr(data, "column_names") and hasattr(data, "features"):
        return HFSource(data, **kwargs)
    if labels is None and isinstance(data, tuple) and len(data) == 2 and _is_array(data[0]):
        data, labels = data
    if labels is not None:
        if _is_array(data):
            return ArraySource(data, labels, **kwargs)
        data = list(data)
        labels = list(labels)
        if len(data) != len(labels):
            raise ValueError(f"{len(data)} images but {len(labels)} labels; they must be equally many")
        return ListSource(list(zip(data, labels, strict=True)), **kwargs)
    if isinstance(data, (list, tuple)):
        return ListSource(data, **kwargs)
    raise TypeError(
        f"cannot make labelled images from {type(data).__name__}: pass a folder path, a dataset name, a "
        "datasets.Dataset, (images, labels) arrays, or a list of (image, label) pairs"
    )


def as_images(data: Any) -> ImageSource:
    """Images without labels (to predict, or unlabelled images for training) -> :class:`ImageSource`.

    Accepted: an ImageSource (its labels are ignored by callers), a folder (every image under it), a list of
    paths, PIL images or arrays, or one array / tensor batch.
    """
    if isinstance(data, ImageSource):
        return data
    if isinstance(data, (str, os.PathLike)):
        if not os.path.isdir(data):
            if os.path.isfile(data):
                return ListSource([(data, "?")], name="images")
            raise FileNotFoundError(f"{data!r} is neither an image file nor a folder of images")
        files = image_files(Path(data))
        if not files:
            raise ValueError(f"no images found under {data}")
        return ListSource([(f, "?") for f in files], name=f"folder:{Path(data).name}")
    if _is_array(data):
        if data.ndim < 3:
            raise ValueError(f"an image batch must be (N, H, W), (N, H, W, C) or (N, C, H, W); got {tuple(data.shape)}")
        return ArraySource(data, np.zeros(len(data), dtype=np.int64), class_names=["?"], name="images")
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("no images given")
        return ListSource([(image, "?") for image in data], name="images")
    raise TypeError(
        f"cannot read images from {type(data).__name__}: pass a folder, a list of paths / PIL images / "
        "arrays, an image batch, or an ImageSource"
    )


def as_any_images(data: Any, labels: Any = None) -> ImageSource:
    """Images with or without labels, whichever ``data`` is: every kind :func:`as_source` takes (a class
    folder, pairs, ``(images, labels)``, a dataset), else every kind :func:`as_images` takes (a folder of
    images, a list of images, a batch). For passes that need the images, not their labels."""
    if labels is not None or isinstance(data, ImageSource) or hasattr(data, "column_names"):
        return as_source(data, labels)
    if isinstance(data, (str, os.PathLike)):
        if _is_dataset_name(data):
            return load_source(data)
        has_classes = os.path.isdir(data) and any(
            p.is_dir() and not p.name.startswith(".") for p in Path(data).iterdir()
        )
        return FolderSource(data) if has_classes else as_images(data)
    pairs = isinstance(data, (list, tuple)) and data and all(isinstance(x, tuple) and len(x) == 2 for x in data)
    two_arrays = isinstance(data, tuple) and len(data) == 2 and _is_array(data[0])
    return as_source(data) if pairs or two_arrays else as_images(data)


def _is_dataset_name(value: Any) -> bool:
    """A name :func:`load_source` reads: a registered dataset, ``folder:<path>`` or ``hf:<repo>``."""
    return isinstance(value, str) and (value in SOURCES or value.startswith(("folder:", "hf:")))


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor))


__all__ = [
    "as_any_images",
    "ArchiveSource",
    "ArraySource",
    "CIFAR100Source",
    "ConcatSource",
    "FashionMNISTSource",
    "FileListSource",
    "FolderSource",
    "HFClassSplitSource",
    "HFSource",
    "ImageLoadError",
    "ImageSource",
    "ListSource",
    "OmniglotSource",
    "SubsetSource",
    "ToRGB",
    "archive_source",
    "as_source",
    "cifar_fs",
    "cub",
    "fc100",
    "hub_source",
    "list_sources",
    "register_source",
    "load_source",
    "mini_imagenet",
    "omniglot",
    "write_folder",
]
