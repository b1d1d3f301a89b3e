"""Features of a source's items: the arrays every method reads, memory-mapped from the cache or in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FeatureSet:
    """Features of a source's items: ``values`` is ``(n, d)``, row i belongs to ``ids[i]``.

    With augmented views, ``views`` is ``(n, V, d)`` and ``view_params`` ``(n, V, 5)`` (see ``features.views``).
    Arrays may be read-only memory maps.
    """

    ids: tuple[str, ...]
    values: np.ndarray
    backbone: str
    meta: dict = field(default_factory=dict)
    views: np.ndarray | None = None
    view_params: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(features)``: the ``(n, d)`` values (float32 unless ``dtype`` says otherwise)."""
        values = np.asarray(self.values, dtype=dtype or np.float32)
        return values.copy() if copy else values

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
        """Feature rows of the given ids, ``(len(ids), d)`` float32."""
        return np.asarray(self.values[self.rows(ids)], dtype=np.float32)

    def with_rows_of(self, other: FeatureSet) -> FeatureSet:
        """These rows followed by ``other``'s (the same backbone, other items). Items of ``other`` without
        views get NaN views, which nothing reads: views are for training items, never for queries."""
        views = view_params = None
        if self.views is not None:
            blank = np.full((len(other), *self.views.shape[1:]), np.nan, dtype=self.views.dtype)
            views = np.concatenate([self.views, blank if other.views is None else other.views])
            blank = np.full((len(other), *self.view_params.shape[1:]), np.nan, dtype=self.view_params.dtype)
            view_params = np.concatenate([self.view_params, blank if other.view_params is None else other.view_params])
        values = np.concatenate([self.values, other.values])
        return FeatureSet(self.ids + other.ids, values, self.backbone, dict(self.meta), views, view_params)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, ``(..., d)``; zero rows stay zero."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
