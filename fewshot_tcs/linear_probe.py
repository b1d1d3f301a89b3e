"""Logistic regression with its regularisation chosen on the support itself, by stratified cross-validation.

A fixed ``C`` suits some feature scales and shot counts and starves others (at scikit-learn's 1 a probe on
L2-normalised features is so smooth that it underfits 5-shot tasks; at 100 it overfits 1-shot ones), so the
strongest simple baseline, and the soft targets the student learns from, pick ``C`` per task.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
FALLBACK_C = 10.0  # 1 image of some class: no fold can score it


def fit_logistic(
    x: np.ndarray, y: np.ndarray, C: float | str = "cv", max_iter: int = 1000, random_state: int = 0
) -> LogisticRegression:
    """A multinomial logistic regression on ``x`` (n, d); ``C="cv"`` picks C from :data:`C_GRID` by
    stratified k-fold accuracy (k = the smallest class count, at most 5; ties to the smaller C), or uses
    :data:`FALLBACK_C` when some class has a single example."""
    if C != "cv":
        return LogisticRegression(C=float(C), max_iter=max_iter, random_state=random_state).fit(x, y)
    folds = min(5, int(np.unique(y, return_counts=True)[1].min()))
    if folds < 2:
        return LogisticRegression(C=FALLBACK_C, max_iter=max_iter, random_state=random_state).fit(x, y)
    search = GridSearchCV(
        LogisticRegression(max_iter=max_iter, random_state=random_state),
        {"C": list(C_GRID)},
        cv=StratifiedKFold(folds, shuffle=True, random_state=random_state),
    )
    return search.fit(x, y).best_estimator_


def class_scores(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(C, d)`` and biases ``(C,)`` giving one logit per class, ``x @ W.T + b``, whose softmax is the
    model's ``predict_proba``: scikit-learn keeps one score ``s`` for class 1 with two classes, here ``-s/2`` and
    ``s/2``."""
    weight, bias = model.coef_, model.intercept_
    if len(model.classes_) == 2:
        weight, bias = np.concatenate([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
    return weight, bias
