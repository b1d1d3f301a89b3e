"""Training objectives of the student: TCS (CE + coordinate mimic + optional eLSH) and CE alone."""

from __future__ import annotations

import torch

from .losses import ELSH, mimic_loss
from .student import Student
from .trainer import cross_entropy_part


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

    def __call__(
        self, student: Student, images: torch.Tensor, items: torch.Tensor, views: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        coords = student.coords(images).float()
        view = views if self.targets.shape[1] > 1 else torch.zeros_like(views)
        target = self.targets[items, view]
        ce = cross_entropy_part(student, coords, items, self.labels, mask)
        mimic = mimic_loss(coords, target, mask.detach()) * self.mimic_scale
        loss = ce + self.lambda_mimic * mimic
        parts = {"ce": ce.detach(), "mimic": mimic.detach()}
        if self.elsh is not None and self.lambda_elsh > 0:
            elsh = self.elsh.loss(coords, self.bits[items, view])
            loss = loss + self.lambda_elsh * elsh
            parts["elsh"] = elsh.detach()
        return loss, parts


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
