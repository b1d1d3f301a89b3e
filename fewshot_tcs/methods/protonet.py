"""Prototypical networks on frozen features (Snell et al. 2017): nearest class mean."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import FeatureMethod, as_features, support_xy


def l2_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class ProtoNet(FeatureMethod):
    """Nearest centroid on L2-normalised features.

    Args:
        normalize: L2-normalise features before averaging (the usual choice for SSL features).
        center: subtract the mean of the support (and unlabelled) features first, which removes the
            shared component that dominates cosine similarity of SSL features.
        temperature: softmax temperature on negative squared distances for ``predict_proba``.
    """

    name = "protonet"

    def __init__(self, normalize: bool = True, center: bool = False, temperature: float = 0.1):
        self.normalize = normalize
        self.center = center
        self.temperature = temperature

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        if self.center:
            x = x - self.mean_
        return l2_normalize(x) if self.normalize else x

    def fit(self, support: Any, y: Any = None, unlabeled: Any = None) -> ProtoNet:
        features, labels = support_xy(support, y)
        self.n_features_in_ = features.shape[1]
        pool = features
        if unlabeled is not None and self.center:
            pool = np.concatenate([features, as_features(unlabeled, "unlabeled")])
        self.mean_ = pool.mean(axis=0)
        self.classes_, codes = np.unique(labels, return_inverse=True)
        prepared = self._prepare(features)
        self.prototypes_ = np.stack([prepared[codes == c].mean(axis=0) for c in range(len(self.classes_))])
        return self

    def decision_function(self, query: Any) -> np.ndarray:
        """Negative squared distances to the prototypes, ``(n, n_classes)``."""
        x = self._prepare(self._query(query))
        return -((x[:, None, :] - self.prototypes_[None]) ** 2).sum(-1)

    def predict_proba(self, query: Any) -> np.ndarray:
        logits = self.decision_function(query) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)
