"""A logistic-regression probe on frozen features (scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..features import l2_normalize
from ..linear_probe import fit_logistic
from .base import FeatureMethod, support_xy


class LogisticProbe(FeatureMethod):
    """Multinomial logistic regression on (optionally L2-normalised) features.

    Args:
        C: inverse L2 regularisation strength, as in scikit-learn, or "cv" to choose it on each support by
            stratified cross-validation (see :func:`fewshot_tcs.linear_probe.fit_logistic`).
        normalize: L2-normalise features first.
    """

    name = "logistic"

    def __init__(self, C: float | str = 1.0, normalize: bool = True, max_iter: int = 1000, random_state: int = 0):
        self.C = C
        self.normalize = normalize
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, support: Any, y: Any = None, unlabeled: Any = None) -> LogisticProbe:
        features, labels = support_xy(support, y)
        self.n_features_in_ = features.shape[1]
        x = l2_normalize(features) if self.normalize else features
        self.model_ = fit_logistic(x, labels, self.C, self.max_iter, self.random_state)
        self.classes_, self.n_iter_ = self.model_.classes_, self.model_.n_iter_
        return self

    def predict_proba(self, query: Any) -> np.ndarray:
        x = self._query(query)
        return self.model_.predict_proba(l2_normalize(x) if self.normalize else x)


class LogisticCV(LogisticProbe):
    """The logistic probe with C chosen on each support by cross-validation: the teacher's tuned probe."""

    name = "logistic-cv"

    def __init__(self, C: float | str = "cv", normalize: bool = True, max_iter: int = 1000, random_state: int = 0):
        super().__init__(C, normalize, max_iter, random_state)
