"""The one interface every method follows: ``fit(support) -> self``, then ``predict(query)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..data import ImageSource


@dataclass
class ItemSet:
    """Items handed to a method: teacher features and/or images, with labels for a support set.

    Attributes:
        features: ``(n, d)`` float32 teacher features, when the evaluator has them.
        images: the same items as an ImageSource, when the evaluator has them.
        labels: ``(n,)`` int64 episode labels 0..n_way-1; None for queries and unlabelled items.
        views, view_params: ``(n, V, d)`` teacher features of recorded augmented views and their
            ``(n, V, 5)`` parameters, when the teacher pass cached views.
    """

    features: np.ndarray | None = None
    images: ImageSource | None = None
    labels: np.ndarray | None = None
    views: np.ndarray | None = None
    view_params: np.ndarray | None = None

    def __len__(self) -> int:
        if self.features is not None:
            return len(self.features)
        return len(self.images) if self.images is not None else 0


class FewShotMethod:
    """Base of all methods. ``needs`` says what the evaluator must provide ("features", "images" or both);
    ``transductive`` methods look at the queries and are labelled so in results."""

    name = "method"
    needs = "features"
    transductive = False

    def fit(self, support: Any, y: Any = None, unlabeled: Any = None) -> FewShotMethod:
        raise NotImplementedError

    def predict_proba(self, query: Any) -> np.ndarray:
        raise NotImplementedError

    def predict(self, query: Any) -> np.ndarray:
        """Predicted labels ``(n,)``: the most probable class of each query."""
        proba = self.predict_proba(query)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, query: Any, y: Any = None) -> float:
        """Accuracy on labelled queries."""
        labels = query.labels if isinstance(query, ItemSet) else np.asarray(y)
        return float(np.mean(self.predict(query) == labels))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


def as_features(data: Any, what: str) -> np.ndarray:
    """Features from an ItemSet, array or tensor -> ``(n, d)`` float32, checked finite."""
    if isinstance(data, ItemSet):
        if data.features is None:
            raise ValueError(f"{what} has no features; this method works on teacher features")
        data = data.features
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    features = np.asarray(data, dtype=np.float32)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"{what} features must be a non-empty (n, d) array; got shape {features.shape}")
    if not np.isfinite(features).all():
        bad = int((~np.isfinite(features)).any(axis=1).sum())
        raise ValueError(f"{what} features contain NaN or infinite values in {bad} row(s)")
    return features


def support_xy(support: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The support's features and labels, checked: equal lengths, at least two classes."""
    features = as_features(support, "support")
    labels = support.labels if isinstance(support, ItemSet) else y
    if labels is None:
        raise ValueError("support labels are missing: pass an ItemSet with labels, or fit(features, y)")
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if labels.ndim != 1 or len(labels) != len(features):
        raise ValueError(f"support has {len(features)} feature rows but {labels.size} labels")
    if len(np.unique(labels)) < 2:
        raise ValueError("support has a single class; few-shot classification needs at least two")
    return features, labels


class FeatureMethod(FewShotMethod):
    """A method on teacher features; checks query features against the support's dimension."""

    def _query(self, query: Any) -> np.ndarray:
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(support) first")
        features = as_features(query, "query")
        if features.shape[1] != self.n_features_in_:
            raise ValueError(
                f"query features have {features.shape[1]} dimensions; the support had {self.n_features_in_}"
            )
        return features
