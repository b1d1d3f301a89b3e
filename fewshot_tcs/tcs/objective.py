"""Training objectives of the student: TCS (CE + coordinate mimic + optional eLSH), TCS with the tailored
probe's decision on every view, and CE alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..features import TeacherFeatures
from ..features.views import ViewTransform
from ..linear_probe import class_scores, fit_logistic
from .losses import ELSH, mimic_loss
from .student import Student


def cross_entropy_part(
    student: Student, coords: torch.Tensor, items: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """CE of the masked head on the labelled members of a batch (zero when none are labelled)."""
    y = labels[items]
    known = y >= 0
    if not known.any():
        # Zero, but through the head: under DDP every parameter must take part in every step.
        return student.head(coords, mask).sum() * 0
    return F.cross_entropy(student.head(coords[known], mask).float(), y[known])


class TCSObjective:
    """CE on labelled items + ``lambda_mimic`` x mimic of the teacher's coordinates on every item.

    ``targets`` (n, A, r) holds each item's target per view (A = 1: the clean target serves every view).
    The mimic term uses the mask without its gradient, so the importance that drives tailoring measures
    how much the classification depends on a coordinate, not how badly it is imitated.

    ``normalize_mimic`` divides the mimic term by the targets' mean variance per coordinate (clean views of
    all items), making it a relative error: 1 is no better than predicting the mean target. L2-normalised
    teacher features give coordinates of variance ~0.005, so without it the term is ~300x smaller than CE
    and ``lambda_mimic`` would depend on the teacher's feature scale.
    """

    def __init__(
        self,
        targets: torch.Tensor,
        labels: torch.Tensor,
        lambda_mimic: float = 1.0,
        elsh: ELSH | None = None,
        lambda_elsh: float = 0.0,
        normalize_mimic: bool = True,
    ):
        self.targets = targets
        self.labels = labels
        self.lambda_mimic = lambda_mimic
        self.mimic_scale = 1 / float(targets[:, 0].var(dim=0).mean().clamp_min(1e-12)) if normalize_mimic else 1.0
        self.elsh = elsh
        self.lambda_elsh = lambda_elsh
        # Target bits of every item and view, computed once from the cached targets.
        self.bits = None if elsh is None else elsh.bits(targets.flatten(0, 1)).reshape(*targets.shape[:2], -1)

    def to(self, device: torch.device) -> TCSObjective:
        self.targets, self.labels = self.targets.to(device), self.labels.to(device)
        if self.elsh is not None:
            self.elsh.to(device)
            self.bits = self.bits.to(device)
        return self

    def _view(self, views: torch.Tensor) -> torch.Tensor:
        return views if self.targets.shape[1] > 1 else torch.zeros_like(views)

    def _coordinate_terms(
        self, coords: torch.Tensor, items: torch.Tensor, view: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        """``lambda_mimic`` x mimic (+ ``lambda_elsh`` x eLSH) of the targets of these items and views."""
        mimic = mimic_loss(coords, self.targets[items, view], mask.detach()) * self.mimic_scale
        loss, parts = self.lambda_mimic * mimic, {"mimic": mimic.detach()}
        if self.elsh is not None and self.lambda_elsh > 0:
            elsh = self.elsh.loss(coords, self.bits[items, view])
            loss = loss + self.lambda_elsh * elsh
            parts["elsh"] = elsh.detach()
        return loss, parts

    def __call__(
        self, student: Student, images: torch.Tensor, items: torch.Tensor, views: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        coords = student.coords(images).float()
        ce = cross_entropy_part(student, coords, items, self.labels, mask)
        loss, parts = self._coordinate_terms(coords, items, self._view(views), mask)
        return ce + loss, {"ce": ce.detach(), **parts}


def tailored_probe_logits(
    targets: torch.Tensor, labels: torch.Tensor, C: float | str = 100.0, seed: int = 0
) -> torch.Tensor:
    """Logits ``(n, A, C)`` of a logistic probe in the tailored coordinates, read on every item and view.

    The probe is fitted on the labelled items' targets (every cached view, each an augmented example of
    its class), with inverse regularisation ``C``, or C chosen by cross-validation over the clean views for
    "cv"; coordinates are divided by their overall spread first, so C means the same whatever the teacher's
    feature scale.
    """
    n, a, r = targets.shape
    known = (labels >= 0).numpy()
    scale = float(targets[:, 0].std(dim=0).mean().clamp_min(1e-12))
    z = targets.numpy() / scale
    if C == "cv":
        C = fit_logistic(z[known, 0], labels.numpy()[known], "cv", random_state=seed).C
    views = z[known].reshape(-1, r)
    weight, bias = class_scores(fit_logistic(views, np.repeat(labels.numpy()[known], a), C, random_state=seed))
    logits = z.reshape(-1, r) @ weight.T + bias
    return torch.as_tensor(logits, dtype=torch.float32).reshape(n, a, -1)


class TailoredKDObjective(TCSObjective):
    """TCS plus the teacher's decision: ``(1 - w) CE + w T^2 KL(probe || head)`` + mimic (+ eLSH).

    The paper's objective gives an unlabelled image only its coordinates; here every item and every
    cached view also carries the soft prediction of a probe fitted in the tailored coordinates
    (:func:`tailored_probe_logits`), at temperature ``T``. The student's head learns that decision, while
    the mimic term keeps its coordinates where the teacher's features lie.
    """

    def __init__(
        self,
        targets: torch.Tensor,
        labels: torch.Tensor,
        probe_logits: torch.Tensor,
        decision_weight: float = 0.5,
        temperature: float = 4.0,
        **tcs: object,
    ):
        super().__init__(targets, labels, **tcs)
        self.soft = torch.softmax(probe_logits / temperature, dim=-1)
        self.decision_weight = decision_weight
        self.temperature = temperature

    def to(self, device: torch.device) -> TailoredKDObjective:
        super().to(device)
        self.soft = self.soft.to(device)
        return self

    def __call__(
        self, student: Student, images: torch.Tensor, items: torch.Tensor, views: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        coords = student.coords(images).float()
        view = self._view(views)
        t, w = self.temperature, self.decision_weight
        ce = cross_entropy_part(student, coords, items, self.labels, mask)
        log_p = F.log_softmax(student.head(coords, mask) / t, dim=1)
        kd = F.kl_div(log_p, self.soft[items, view], reduction="batchmean") * t * t
        loss, parts = self._coordinate_terms(coords, items, view, mask)
        return (1 - w) * ce + w * kd + loss, {"ce": ce.detach(), "kd": kd.detach(), **parts}


class CrossEntropyObjective:
    """CE only on the labelled items: the student-ce baseline."""

    def __init__(self, labels: torch.Tensor):
        self.labels = labels

    def to(self, device: torch.device) -> CrossEntropyObjective:
        self.labels = self.labels.to(device)
        return self

    def __call__(
        self, student: Student, images: torch.Tensor, items: torch.Tensor, views: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        ce = cross_entropy_part(student, student.coords(images).float(), items, self.labels, mask)
        return ce, {"ce": ce.detach()}


class KDObjective:
    """KL to the teacher probe's softened predictions on each batch's exact views, plus CE."""

    def __init__(
        self, probe_weight: Any, probe_bias: Any, temperature: float, alpha: float, teachers: list | None = None
    ):
        """``probe_weight`` ``(C, D)`` and ``probe_bias`` ``(C,)``: a logistic probe on the L2-normalised
        joined teacher features; ``teachers``: the teacher backbones to run on each batch, or None to read
        the cached views."""
        self.probe_weight = torch.as_tensor(probe_weight, dtype=torch.float32)
        self.probe_bias = torch.as_tensor(probe_bias, dtype=torch.float32)
        self.temperature = temperature
        self.alpha = alpha
        self.teachers = teachers
        self.soft = None

    def _soft(self, features: torch.Tensor) -> torch.Tensor:
        """Probe probabilities at the temperature; features are the joined teacher features (..., D)."""
        logits = F.normalize(features, dim=-1) @ self.probe_weight.T + self.probe_bias
        return torch.softmax(logits / self.temperature, dim=-1)

    def bind(self, bank, labels: torch.Tensor, teacher: TeacherFeatures) -> KDObjective:
        self.bank, self.labels = bank, labels
        if self.teachers is not None:
            self.transforms = [
                ViewTransform(t.info.input_size[1:], t.info.mean, t.info.std, t.info.interpolation)
                for t in self.teachers
            ]
            return self
        if teacher.views is None or teacher.views.shape[1] != bank.n_views - 1:
            raise ValueError(
                "student-kd without the teacher in the loop needs the teacher's cached views "
                "(teacher_views > 0 in the teacher pass and the classifier)"
            )
        cached = np.concatenate([teacher.clean[:, None], teacher.views], axis=1)
        self.soft = self._soft(torch.as_tensor(cached))
        return self

    def to(self, device: torch.device) -> KDObjective:
        self.labels = self.labels.to(device)
        self.probe_weight, self.probe_bias = self.probe_weight.to(device), self.probe_bias.to(device)
        if self.teachers is not None:
            self.teachers = [t.to(device) for t in self.teachers]
        else:
            self.soft = self.soft.to(device)
        return self

    @torch.no_grad()
    def soft_targets(self, items: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        if self.teachers is None:
            return self.soft[items, views]
        feats = []
        pairs = list(zip(items.tolist(), views.tolist(), strict=True))
        for teacher, transform in zip(self.teachers, self.transforms, strict=True):
            batch = torch.stack([transform(self.bank.images[i], self.bank.params[i, v]) for i, v in pairs])
            feats.append(F.normalize(teacher(batch.to(self.probe_weight.device)).float(), dim=1))
        return self._soft(torch.cat(feats, dim=1))

    def __call__(self, student: Student, images, items, views, mask):
        coords = student.coords(images).float()
        t = self.temperature
        log_p = F.log_softmax(student.head(coords, mask) / t, dim=1)
        kd = F.kl_div(log_p, self.soft_targets(items, views), reduction="batchmean") * t * t
        ce = cross_entropy_part(student, coords, items, self.labels, mask)
        return self.alpha * kd + (1 - self.alpha) * ce, {"kd": kd.detach(), "ce": ce.detach()}
