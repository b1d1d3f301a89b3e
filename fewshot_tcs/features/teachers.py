"""Teacher targets for TCS: one cached pass per teacher, several teachers joined into one feature space."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data import ImageSource
from .extract import extract_features
from .featureset import FeatureSet, l2_normalize


@dataclass
class TeacherFeatures:
    """Teacher features of some items: ``clean`` (n, D); with recorded views ``views`` (n, V, D) and
    ``view_params`` (n, V, 5)."""

    clean: np.ndarray
    views: np.ndarray | None = None
    view_params: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.clean)

    @classmethod
    def from_feature_set(cls, features: FeatureSet, ids: Sequence[str]) -> TeacherFeatures:
        rows = features.rows(ids)
        views = None if features.views is None else np.asarray(features.views[rows], dtype=np.float32)
        params = None if features.view_params is None else np.asarray(features.view_params[rows])
        return cls(np.asarray(features.values[rows], dtype=np.float32), views, params)


def join_teachers(feature_sets: Sequence[FeatureSet], normalize: bool = True) -> FeatureSet:
    """Several teachers' features of the same items as one set: each L2-normalised, then concatenated."""
    first = feature_sets[0]
    if any(fs.ids != first.ids for fs in feature_sets):
        raise ValueError("teacher feature sets must cover the same items in the same order")

    def prepare(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else (l2_normalize(np.asarray(x, np.float32)) if normalize else np.asarray(x))

    values = np.concatenate([prepare(fs.values) for fs in feature_sets], axis=-1)
    views = None
    if first.views is not None:
        views = np.concatenate([prepare(fs.views) for fs in feature_sets], axis=-1)
    name = "+".join(fs.backbone for fs in feature_sets)
    return FeatureSet(
        first.ids,
        values,
        backbone=name,
        meta={"teachers": [fs.meta for fs in feature_sets]},
        views=views,
        view_params=first.view_params,
    )


def teacher_pass(
    backbones: str | Sequence[str],
    source: ImageSource,
    *,
    views: int = 0,
    view_seed: int = 0,
    normalize: bool = True,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    seed: int | None = 0,
    cache_dir: str | os.PathLike | None = None,
    device=None,
    dtype: str = "float32",
    runtime: str = "auto",
    quiet: bool | None = None,
) -> FeatureSet:
    """Each teacher runs once over ``source`` (cached); a list of teachers gives their joined features.

    ``dtype`` ("float32" or "float16") is how the features are stored in the cache; float16 halves its size,
    and methods still compute in float32. ``runtime`` says where the teachers run (``extract_features``).
    ``seed`` initialises teachers run without pretrained weights, so such a run is repeatable (and resumable).
    """
    names = [backbones] if isinstance(backbones, str) else list(backbones)
    if not names:
        raise ValueError("at least one teacher backbone is needed")
    if weights is not None and len(names) > 1:
        raise ValueError("weights= names one file, so it needs exactly one teacher backbone")
    sets = [
        extract_features(
            name,
            source,
            pretrained=pretrained,
            weights=weights,
            seed=seed,
            views=views,
            view_seed=view_seed,
            cache_dir=cache_dir,
            device=device,
            dtype=dtype,
            runtime=runtime,
            quiet=quiet,
        )
        for name in names
    ]
    return join_teachers(sets, normalize=normalize)
