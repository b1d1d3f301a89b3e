"""A Hugging Face ``datasets.Dataset`` with an image column and a label column."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from .memory import to_pil
from .source import ImageSource, class_names_for, read_image


class HFSource(ImageSource):
    """Items of a ``datasets.Dataset``; ids are row indices, classes come from a ``ClassLabel`` column."""

    def __init__(
        self,
        dataset: Any,
        image_column: str = "image",
        label_column: str = "label",
        name: str | None = None,
        split: str | None = None,
        transform=None,
    ):
        columns = list(dataset.column_names)
        for role, column in (("image", image_column), ("label", label_column)):
            if column not in columns:
                raise ValueError(
                    f"dataset has no {role} column {column!r}; its columns are {columns} (pass {role}_column=...)"
                )
        self.dataset = dataset
        self.image_column = image_column
        raw = dataset[label_column]
        feature = dataset.features[label_column]
        if hasattr(feature, "names"):
            classes, labels = list(feature.names), np.asarray(raw, dtype=np.int64)
        else:
            classes, labels = class_names_for(raw)
        info_name = getattr(getattr(dataset, "info", None), "dataset_name", None)
        split = split if split is not None else (str(dataset.split) if getattr(dataset, "split", None) else None)
        super().__init__(
            [str(k) for k in range(len(labels))],
            labels,
            classes,
            name or f"hf:{info_name or 'dataset'}",
            split,
            transform,
        )

    def _load(self, i: int) -> Image.Image:
        value = self.dataset[i][self.image_column]
        if isinstance(value, Image.Image):
            return value
        if isinstance(value, dict) and (value.get("bytes") or value.get("path")):
            return read_image(io.BytesIO(value["bytes"]) if value.get("bytes") else value["path"])
        if isinstance(value, str):
            return read_image(value)
        return to_pil(np.asarray(value))

    def identity(self, i: int) -> str:
        return f"{getattr(self.dataset, '_fingerprint', 'hf')}:{i}"
