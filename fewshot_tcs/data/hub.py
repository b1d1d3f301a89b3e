"""Datasets on the Hugging Face hub (or already in its cache), loaded with ``datasets.load_dataset``."""

from __future__ import annotations

import logging
import os
from typing import Any

from .huggingface import HFSource

log = logging.getLogger(__name__)


def load_hub(repo: str, split: str | None = None, cache_dir: str | os.PathLike | None = None) -> Any:
    """``datasets.load_dataset(repo, split=split)``: a ``Dataset``, or a ``DatasetDict`` when split is None.

    The datasets cache is used first; a repo that is neither cached nor reachable gives a FileNotFoundError
    that says so and how to fix it. ``repo`` may also be a local folder of data files.
    """
    import datasets

    try:
        return datasets.load_dataset(repo, split=split, cache_dir=None if cache_dir is None else str(cache_dir))
    except OSError as error:  # offline (ConnectionError), unknown repo (DatasetNotFoundError), broken cache
        cache = cache_dir if cache_dir is not None else datasets.config.HF_DATASETS_CACHE
        raise FileNotFoundError(
            f"Hugging Face dataset {repo!r} could not be loaded: {error}. The first load needs internet, later "
            f"ones read the cache ({cache}); offline, copy such a cache there or give a local folder of the "
            f"dataset's files (hf:/path/to/folder)."
        ) from error


def guess_columns(dataset: Any) -> tuple[str, str]:
    """The image column (``image``, else the only ``Image`` feature) and the label column (``label``, else the
    first ``ClassLabel`` feature), so hub datasets load without naming their columns."""
    import datasets

    features = dataset.features
    images = [c for c, f in features.items() if isinstance(f, datasets.Image)]
    labels = [c for c, f in features.items() if isinstance(f, datasets.ClassLabel)]
    image = "image" if "image" in features else (images[0] if len(images) == 1 else None)
    label = "label" if "label" in features else (labels[0] if labels else None)
    if image is None or label is None:
        raise ValueError(
            f"cannot tell the image and label columns among {list(features)} (image features: {images}, "
            f"class-label features: {labels}); load it with datasets and use "
            "HFSource(dataset, image_column=..., label_column=...)"
        )
    if label != "label" and len(labels) > 1:
        log.warning("using %r as the label column of %s; pass label_column= to HFSource for another", label, labels)
    return image, label


def hub_source(repo: str, split: str | None, cache_dir: str | os.PathLike | None = None, transform=None) -> HFSource:
    """One split of a hub dataset as an :class:`HFSource` named ``hf:<repo>``."""
    if split is None:
        raise ValueError(f"hf:{repo} needs a split, e.g. load_source('hf:{repo}', split='train')")
    dataset = load_hub(repo, split, cache_dir)
    image, label = guess_columns(dataset)
    return HFSource(dataset, image, label, name=f"hf:{repo}", split=split, transform=transform)
