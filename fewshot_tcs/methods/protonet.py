"""Prototypical networks on frozen features (Snell et al. 2017): nearest class mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..features import l2_normalize
from .base import FeatureMethod, as_features, episode_classes, nearest_prototype, support_xy


@dataclass
class EpisodePrototypes:
    """Fitted state of many episodes: prototypes ``(E, C, d)``, which classes each support has ``(E, C)``,
    and the centring means ``(E, 1, d)`` (None without centring)."""

    prototypes: torch.Tensor
    present: torch.Tensor
    mean: torch.Tensor | None


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

    def _scores(self, query: Any) -> np.ndarray:
        """Negative squared distances to the prototypes, ``(n, n_classes)``."""
        x = self._prepare(self._query(query))
        return -((x[:, None, :] - self.prototypes_[None]) ** 2).sum(-1)

    def decision_function(self, query: Any) -> np.ndarray:
        """Negative squared distances to the prototypes ``(n, n_classes)``; with two classes, as in
        scikit-learn, ``(n,)``: how much nearer the second class's prototype is than the first's."""
        scores = self._scores(query)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, query: Any) -> np.ndarray:
        logits = self._scores(query) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def _prepare_episodes(self, x: torch.Tensor, mean: torch.Tensor | None) -> torch.Tensor:
        if mean is not None:
            x = x - mean
        return F.normalize(x, dim=-1, eps=1e-12) if self.normalize else x

    @torch.inference_mode()
    def fit_episodes(
        self, support: torch.Tensor, labels: torch.Tensor, unlabeled: torch.Tensor | None = None
    ) -> EpisodePrototypes:
        """``fit`` on E episodes at once: support ``(E, S, d)`` float32, labels ``(E, S)``, unlabeled ``(E, U, d)``."""
        one_hot, counts = episode_classes(labels)
        mean = None
        if self.center:
            pool = support if unlabeled is None else torch.cat([support, unlabeled], dim=1)
            mean = pool.mean(dim=1, keepdim=True)
        prototypes = one_hot @ self._prepare_episodes(support, mean) / counts.clamp(min=1).unsqueeze(2)
        return EpisodePrototypes(prototypes, counts > 0, mean)

    @torch.inference_mode()
    def predict_episodes(self, fitted: EpisodePrototypes, query: torch.Tensor) -> torch.Tensor:
        """``predict`` on each episode's queries ``(E, Q, d)`` -> labels ``(E, Q)``."""
        x = query if fitted.mean is None else query - fitted.mean
        scale = 1 / torch.linalg.vector_norm(x, dim=2, keepdim=True).clamp(min=1e-12) if self.normalize else None
        return nearest_prototype(x, fitted.prototypes, fitted.present, scale)
