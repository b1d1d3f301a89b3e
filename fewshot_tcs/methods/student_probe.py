"""The student backbone's own logistic probe: what a user gets from the small network without distillation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..features import extract_features, l2_normalize
from ..linear_probe import fit_logistic
from .base import FewShotMethod, ItemSet


class StudentProbe(FewShotMethod):
    """A logistic probe (C by cross-validation) on the pretrained student backbone's pooled features, at the
    backbone's native input size (its pretrained preprocessing), images from the episode; no teacher.

    Features go through the same cache as the teacher pass, so each image is encoded once over all episodes.
    """

    name = "student-probe"
    needs = "images"

    def __init__(self, student: str = "mobilenetv2_100", C: float | str = "cv", cache_dir: Any = None, **_: Any):
        self.student = student
        self.C = C
        self.cache_dir = cache_dir

    def _features(self, items: ItemSet) -> np.ndarray:
        from ..backbones import create_backbone

        if not hasattr(self, "backbone_"):
            self.backbone_ = create_backbone(self.student, pretrained=True)
        found = extract_features(self.backbone_, items.images, cache_dir=self.cache_dir, quiet=True)
        return l2_normalize(np.asarray(found.values, dtype=np.float32))

    def fit(self, support: ItemSet, y: Any = None, unlabeled: ItemSet | None = None) -> StudentProbe:
        if not isinstance(support, ItemSet) or support.images is None:
            raise ValueError(f"{self.name} needs the support's images (pass source= to evaluate)")
        self.model_ = fit_logistic(self._features(support), support.labels, self.C)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, query: ItemSet) -> np.ndarray:
        return self.model_.predict_proba(self._features(query))
