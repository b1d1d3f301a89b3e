"""The student backbone's own logistic probe: what a user gets from the small network without distillation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..features import extract_features, l2_normalize
from ..features.views import clean_views
from ..linear_probe import fit_logistic
from ..tcs.resolution import choose_view
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

    def _backbone(self):
        from ..backbones import create_backbone

        if not hasattr(self, "backbone_"):
            self.backbone_ = create_backbone(self.student, pretrained=True)
        return self.backbone_

    def _features(self, items: ItemSet) -> np.ndarray:
        found = extract_features(self._backbone(), items.images, cache_dir=self.cache_dir, quiet=True)
        return l2_normalize(np.asarray(found.values, dtype=np.float32))

    def fit(self, support: ItemSet, y: Any = None, unlabeled: ItemSet | None = None) -> StudentProbe:
        if not isinstance(support, ItemSet) or support.images is None:
            raise ValueError(f"{self.name} needs the support's images (pass source= to evaluate)")
        self._choose_view(support)
        self.model_ = fit_logistic(self._features(support), support.labels, self.C)
        self.classes_ = self.model_.classes_
        return self

    def _choose_view(self, support: ItemSet) -> None:
        """The native preprocessing needs no choice."""

    def predict_proba(self, query: ItemSet) -> np.ndarray:
        return self.model_.predict_proba(self._features(query))


class StudentViewProbe(StudentProbe):
    """The same probe at the view a TCS student of these images is given instead of the backbone's native one:
    the input size and clean crop ``fit`` chooses from the support's images (``tcs.resolution``) or those given,
    untrained.

    The pretrained network ``fit`` starts from, with a probe on its L2-normalised features (the fit's probe
    readout takes them unnormalised): what a student must beat for its training to have been worth it
    (``weight_interpolation=0`` deploys this network). Its features are not cached (they depend on the view
    chosen for each support).
    """

    name = "student-view-probe"

    def __init__(
        self,
        student: str = "mobilenetv2_100",
        C: float | str = "cv",
        image_size: int | str = "auto",
        clean_crop: float | str = "auto",
        cache_dir: Any = None,
        **_: Any,
    ):
        super().__init__(student, C, cache_dir)
        self.image_size = image_size
        self.clean_crop = clean_crop

    def _choose_view(self, support: ItemSet) -> None:
        info = self._backbone().info
        images = [support.images.load(i) for i in range(len(support.images))]
        self.image_size_, self.clean_crop_ = choose_view(
            images, int(info.input_size[-1]), info.crop_pct, self.image_size, self.clean_crop
        )

    @torch.inference_mode()
    def _features(self, items: ItemSet, batch_size: int = 256) -> np.ndarray:
        backbone, source = self._backbone(), items.images
        chunks = []
        for start in range(0, len(source), batch_size):
            images = [source.load(i) for i in range(start, min(len(source), start + batch_size))]
            views = clean_views(images, self.image_size_, self.clean_crop_, backbone.info.mean, backbone.info.std)
            chunks.append(backbone(views))
        return l2_normalize(torch.cat(chunks).float().numpy())
