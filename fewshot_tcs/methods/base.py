"""The one interface every method follows: ``fit(support) -> self``, then ``predict(query)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

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


class FewShotMethod(ClassifierMixin, BaseEstimator):
    """Base of all methods, each a scikit-learn estimator (``get_params``, ``set_params``, ``clone``,
    ``score``). ``needs`` says what the evaluator must provide ("features", "images" or both);
    ``transductive`` methods look at the queries and are labelled so in results.

    A feature method may also evaluate many episodes at once as tensor operations, with the same results
    as ``fit`` then ``predict`` on each: ``fit_episodes(support (E, S, d), labels (E, S), unlabeled
    (E, U, d) | None) -> fitted`` and ``predict_episodes(fitted, query (E, Q, d)) -> (E, Q)`` labels.
    The evaluator uses them unless a subclass of the classes defining them overrides ``fit`` or prediction.
    """

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
        """Accuracy on labelled queries: ``y``, or the labels an ItemSet carries."""
        labels = query.labels if y is None and isinstance(query, ItemSet) else y
        if labels is None:
            raise ValueError("score needs the queries' labels: pass y, or an ItemSet with labels")
        return float(np.mean(self.predict(query) == np.asarray(labels)))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"


def as_features(data: Any, what: str) -> np.ndarray:
    """Features from an ItemSet, array or tensor -> ``(n, d)`` float32, checked finite (scikit-learn's
    ``check_array``: dense, 2-D, real, non-empty)."""
    if isinstance(data, ItemSet):
        if data.features is None:
            raise ValueError(f"{what} has no features; this method works on teacher features")
        data = data.features
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    features = check_array(data, dtype=np.float32, ensure_all_finite=False, input_name=f"{what} features")
    if not np.isfinite(features).all():
        bad = int((~np.isfinite(features)).any(axis=1).sum())
        raise ValueError(f"{what} features contain NaN or infinite values in {bad} row(s)")
    return features


def support_xy(support: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The support's features and labels, checked: equal lengths, class labels, at least two classes."""
    labels = support.labels if isinstance(support, ItemSet) else y
    if labels is None:
        raise ValueError(
            "support labels are missing: this method requires y to be passed, but the target y is None; "
            "call fit(features, y) or pass an ItemSet with labels"
        )
    features = as_features(support, "support")
    labels = column_or_1d(labels.cpu() if isinstance(labels, torch.Tensor) else labels, warn=True)
    if len(labels) != len(features):
        raise ValueError(f"support has {len(features)} feature rows but {len(labels)} labels")
    check_classification_targets(labels)
    if len(np.unique(labels)) < 2:
        raise ValueError("support has one class; few-shot classification needs at least two")
    return features, labels


class FeatureMethod(FewShotMethod):
    """A method on teacher features; checks query features against the support's dimension."""

    def _query(self, query: Any) -> np.ndarray:
        check_is_fitted(self, "classes_", msg=f"{type(self).__name__} is not fitted yet; call fit(support) first")
        features = as_features(query, "query")
        if features.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {features.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                "features as input (the dimension of the support's features)"
            )
        return features


def episode_classes(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Support labels ``(E, S)`` (ints >= 0) -> one-hot weights ``(E, C, S)`` float32 and counts ``(E, C)``.

    Class c of every episode is label value c; a value missing from an episode's support has count 0.
    """
    if labels.ndim != 2 or labels.numel() == 0 or int(labels.min()) < 0:
        raise ValueError(f"episode support labels must be a non-empty (E, S) array of ints >= 0; got {labels.shape}")
    one_hot = F.one_hot(labels, int(labels.max()) + 1).to(torch.float32).transpose(1, 2)
    counts = one_hot.sum(dim=2)
    single = torch.nonzero((counts > 0).sum(dim=1) < 2).flatten()
    if len(single):
        raise ValueError(
            f"the support of episode {int(single[0])} of the batch has a single class; few-shot classification needs "
            "at least two"
        )
    return one_hot, counts


def nearest_prototype(
    x: torch.Tensor, prototypes: torch.Tensor, present: torch.Tensor, x_scale: torch.Tensor | None = None
) -> torch.Tensor:
    """Index of the nearest prototype in squared L2 distance: x ``(E, Q, r)``, prototypes ``(E, C, r)``,
    ``present`` ``(E, C)`` bool (absent classes never win) -> ``(E, Q)``. ``x_scale`` ``(E, Q, 1)`` scales
    the rows of x first without writing a scaled copy (the memory traffic is most of the cost).

    ``argmin_c ||x - p_c||^2 = argmax_c 2 x.(p_c - m) - ||p_c||^2`` for any m: no ``(E, Q, C, r)``
    differences. With m the prototypes' mean the float32 dot products are small (features share a large
    common part), so their rounding rarely reorders near-equal distances; ``||p_c||^2`` is taken in float64.
    Ties go to the first class, as ``np.argmax`` does.
    """
    shifted = prototypes - prototypes.mean(dim=1, keepdim=True)
    dots = x @ shifted.transpose(1, 2)
    if x_scale is not None:
        dots = dots * x_scale
    scores = 2 * dots.double() - (prototypes.double() ** 2).sum(dim=2).unsqueeze(1)
    if not torch.isfinite(scores).all():
        raise ValueError("support or query features contain NaN or infinite values")
    return scores.masked_fill(~present.unsqueeze(1), -torch.inf).argmax(dim=2)
