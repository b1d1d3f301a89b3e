"""A logistic-regression probe on frozen features (scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..features import l2_normalize
from .base import FeatureMethod, support_xy


class LogisticProbe(FeatureMethod):
    """Multinomial logistic regression on (optionally L2-normalised) features.

    Args:
        C: inverse L2 regularisation strength, as in scikit-learn.
        normalize: L2-normalise features first.
    """

    name = "logistic"

    def __init__(self, C: float = 1.0, normalize: bool = True, max_iter: int = 1000, random_state: int = 0):
        self.C = C
        self.normalize = normalize
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, support: Any, y: Any = None, unlabeled: Any = None) -> LogisticProbe:
        features, labels = support_xy(support, y)
        self.n_features_in_ = features.shape[1]
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        self.model_.fit(l2_normalize(features) if self.normalize else features, labels)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, query: Any) -> np.ndarray:
        x = self._query(query)
        return self.model_.predict_proba(l2_normalize(x) if self.normalize else x)
