"""The student methods: a TCSClassifier trained per episode from the evaluator's cached teacher features
(student-tcs-kd, TCS plus the tailored probe's decision, the library's default; student-tcs, the paper's
objective; student-ce, cross-entropy only)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..features import TeacherFeatures
from ..tcs.classifier import TCSClassifier
from .base import FewShotMethod, ItemSet

# The TCSClassifier settings that "auto" (or the data) decides at fit time; records keep what they became.
RESOLVED = (
    "image_size",
    "clean_crop",
    "train_stages",
    "lr",
    "bn_stats",
    "weight_interpolation",
    "lambda_mimic",
    "readout",
    "whiten",
)


class StudentMethod(FewShotMethod):
    """A TCSClassifier trained per episode from the evaluator's cached teacher features (no teacher pass)."""

    needs = "images+features"
    objective = "tcs"

    def __init__(self, **params: Any):
        _check_classifier_params(type(self).__name__, params)
        self.params = params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The named parameters and the TCSClassifier settings passed through (``clone`` keeps both)."""
        return {**super().get_params(deep=False), **self.params}

    def effective_params(self) -> dict[str, Any]:
        """Every setting the student trains with, the TCSClassifier defaults included (results record these)."""
        classifier = TCSClassifier(**{**self.params, "objective": self.objective}).get_params()
        return {**classifier, **self.get_params(deep=False)}

    def set_params(self, **params: Any) -> StudentMethod:
        own = super().get_params(deep=False)
        for key, value in params.items():
            if key in own:
                setattr(self, key, value)
            else:
                _check_classifier_params(type(self).__name__, {key: value})
                self.params[key] = value
        return self

    def _classifier(self, support: ItemSet) -> TCSClassifier:
        return TCSClassifier(**{**self.params, "objective": self.objective})

    def fit(self, support: ItemSet, y: Any = None, unlabeled: ItemSet | None = None) -> StudentMethod:
        if not isinstance(support, ItemSet) or support.images is None or support.features is None:
            raise ValueError(
                f"{self.name} needs the support's images and teacher features (pass source= and features= to evaluate)"
            )
        self.model_ = self._classifier(support)
        self.model_.fit(
            [(support.images.load(i), int(label)) for i, label in enumerate(support.labels)],
            unlabeled=None if unlabeled is None else [unlabeled.images.load(i) for i in range(len(unlabeled))],
            support_features=_teacher(support),
            unlabeled_features=None if unlabeled is None else _teacher(unlabeled),
        )
        self.classes_ = np.array([int(c) for c in self.model_.classes_])
        return self

    def predict_proba(self, query: ItemSet) -> np.ndarray:
        return self.model_.predict_proba(query.images)

    def resolved_settings(self) -> dict[str, Any]:
        """What the fitted student's "auto" settings became (for results records); none for a subclass that
        answers without training a classifier (a replay of recorded predictions)."""
        model = getattr(self, "model_", None)
        return {key: getattr(model, f"{key}_") for key in RESOLVED if hasattr(model, f"{key}_")}


class StudentTCS(StudentMethod):
    """The paper's TCS student: CE + mimic of the tailored teacher coordinates, with tailoring (objective "tcs")."""

    name = "student-tcs"


class StudentTCSKD(StudentMethod):
    """TCS plus the tailored probe's decision on every item and view (objective "tcs-kd", the library's default)."""

    name = "student-tcs-kd"
    objective = "tcs-kd"


class StudentCE(StudentMethod):
    """The same student trained with cross-entropy on the support only."""

    name = "student-ce"
    objective = "ce"


def _check_classifier_params(owner: str, params: dict[str, Any]) -> None:
    """Settings passed through to TCSClassifier must be its parameters (checked before any teacher pass)."""
    known = set(inspect.signature(TCSClassifier).parameters) - {"objective"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise TypeError(f"{owner} got unknown settings {unknown}; it passes TCSClassifier's on: {sorted(known)}")


def _teacher(items: ItemSet) -> TeacherFeatures:
    return TeacherFeatures(items.features, items.views, items.view_params)
