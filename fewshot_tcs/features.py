"""Feature tables keyed by item id, and the features a method reads from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .data import ImageSource, ToRGB


@dataclass
class FeatureSet:
    """Features of a source's items: ``values`` is ``(n, d)`` float32, row i belongs to ``ids[i]``."""

    ids: tuple[str, ...]
    values: np.ndarray
    backbone: str
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.values):
            raise ValueError(f"{len(self.ids)} ids but {len(self.values)} feature rows")
        self._row = {item_id: k for k, item_id in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Positions of the given ids; KeyError naming the first id without features."""
        try:
            return np.fromiter((self._row[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as error:
            raise KeyError(f"no {self.backbone} features for item {error.args[0]!r}") from None

    def take(self, ids: Sequence[str]) -> np.ndarray:
        """Feature rows of the given ids, ``(len(ids), d)``."""
        return np.asarray(self.values[self.rows(ids)], dtype=np.float32)


def pixel_features(source: ImageSource, size: int = 28, mode: str = "L", quiet: bool = False) -> FeatureSet:
    """Raw pixels as features: each image resized to ``size x size`` in ``mode``, scaled to [0, 1]."""
    to_rgb = ToRGB()
    values = np.empty((len(source), size * size * len(mode)), dtype=np.float32)
    for i in tqdm(range(len(source)), desc=f"pixels of {source.name}", disable=quiet):
        image = to_rgb(source.load(i)).convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        values[i] = np.asarray(image, dtype=np.float32).ravel() / 255.0
    return FeatureSet(source.ids, values, backbone=f"pixels{size}{mode}")
