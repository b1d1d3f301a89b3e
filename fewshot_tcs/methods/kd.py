"""student-kd: classic knowledge distillation, the baseline TCS is measured against."""

from __future__ import annotations

from typing import Any

from ..linear_probe import class_scores
from ..tcs.classifier import TCSClassifier
from ..tcs.objective import KDObjective
from .base import ItemSet
from .logistic import LogisticProbe
from .students import StudentMethod


class StudentKD(StudentMethod):
    """Classic knowledge distillation: soft targets from the teacher on every augmented batch.

    Soft targets come from a logistic probe (inverse regularisation ``probe_C``) fitted on the support's
    teacher features; the student (same architecture and training settings as the others) matches them at
    ``temperature`` on labelled and unlabelled images, weighted ``alpha``, plus CE on the labelled ones.
    ``probe_C`` is 100 because at scikit-learn's 1 the probe on L2-normalised features is so smooth that
    its soft targets teach the student less than CE alone (docs/performance.md has the sweep).
    With ``teacher_in_loop=True`` (the cost baseline) the teacher runs on each batch's exact views. With
    False and ``teacher_views`` cached, the same soft targets are read from the cached view features (the
    teacher's features of the same recorded crops, equal up to float rounding) without the teacher's cost,
    for accuracy runs.
    """

    name = "student-kd"
    objective = "ce"  # of the classifier underneath; KD's loss replaces it (_KDClassifier)

    def __init__(
        self,
        temperature: float = 4.0,
        alpha: float = 0.5,
        probe_C: float = 100.0,
        teacher_in_loop: bool = True,
        **params: Any,
    ):
        self.temperature = temperature
        self.alpha = alpha
        self.probe_C = probe_C
        self.teacher_in_loop = teacher_in_loop
        super().__init__(**params)

    def _teachers(self) -> list | None:
        from ..backbones import create_backbone

        if not self.teacher_in_loop:
            return None
        if not hasattr(self, "teachers_"):
            names = self.params.get("backbone", "dinov2_vits14")
            names = [names] if isinstance(names, str) else list(names)
            pretrained = self.params.get("teacher_pretrained", True)
            self.teachers_ = [create_backbone(n, pretrained=pretrained, seed=0).eval() for n in names]
        return self.teachers_

    def _classifier(self, support: ItemSet) -> TCSClassifier:
        probe = LogisticProbe(C=self.probe_C).fit(support)
        classifier = _KDClassifier(**{**self.params, "objective": self.objective})
        weight, bias = class_scores(probe.model_)  # two classes: two logits, not scikit-learn's one score
        classifier.kd_objective_ = KDObjective(weight, bias, self.temperature, self.alpha, self._teachers())
        return classifier


class _KDClassifier(TCSClassifier):
    """The CE student of TCSClassifier with its objective replaced by KD (``kd_objective_``, set before
    ``fit``) on the same view bank; it saves and loads as the TCSClassifier it is."""

    def _objective(self, bank, labels, targets, student, teacher):
        return self.kd_objective_.bind(bank, labels, teacher), None
