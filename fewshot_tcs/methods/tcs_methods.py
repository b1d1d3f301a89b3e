"""TCS and its baselines on the method interface: tcs-probe, student-tcs, student-ce and student-kd."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..features import l2_normalize
from ..tcs import CoordinateSystem, make_selector
from ..tcs.classifier import TCSClassifier
from ..tcs.selection import resolve_keep
from ..tcs.student import Student
from ..tcs.teacher import TeacherFeatures
from ..tcs.trainer import cross_entropy_part
from .base import FeatureMethod, FewShotMethod, ItemSet, as_features, episode_classes, nearest_prototype, support_xy
from .logistic import LogisticProbe


class TCSProbe(FeatureMethod):
    """Nearest class mean in the tailored coordinates of the teacher's features; no student.

    The coordinate system is fitted on the support and, when given, the unlabelled items ("pool").
    Selection is training-free: "fisher" or "none".
    """

    name = "tcs-probe"

    def __init__(
        self,
        n_components: int | None = 64,
        whiten: bool = False,
        selection: str = "none",
        keep: int | float = 0.5,
        normalize: bool = True,
    ):
        self.n_components = n_components
        self.whiten = whiten
        self.selection = selection
        self.keep = keep
        self.normalize = normalize

    def _prepare(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(l2_normalize(x) if self.normalize else x)

    def fit(self, support: Any, y: Any = None, unlabeled: Any = None) -> TCSProbe:
        features, labels = support_xy(support, y)
        self.n_features_in_ = features.shape[1]
        pool = features if unlabeled is None else np.concatenate([features, as_features(unlabeled, "unlabeled")])
        self.coords_ = CoordinateSystem(n_components=self.n_components, whiten=self.whiten).fit(self._prepare(pool))
        z = self.coords_.transform(self._prepare(features))
        self.classes_, codes = np.unique(labels, return_inverse=True)
        selector = make_selector(self.selection, self.keep if self.selection != "none" else None)
        selector.fit(z, torch.as_tensor(codes))
        self.mask_ = selector.mask
        z = z * self.mask_
        self.prototypes_ = torch.stack([z[torch.as_tensor(codes == c)].mean(0) for c in range(len(self.classes_))])
        return self

    @torch.inference_mode()
    def predict_proba(self, query: Any) -> np.ndarray:
        x = self._query(query)
        z = self.coords_.transform(self._prepare(x)) * self.mask_
        return torch.softmax(-(torch.cdist(z, self.prototypes_) ** 2), dim=1).numpy()

    def _episode_coords(self, x: torch.Tensor, components: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Unscaled coordinates ``(prepare(x) - mu) @ components`` of rows x ``(E, m, d)`` as ``x @ components``
        rescaled per row, minus ``offset = mu @ components``: no normalised or centred copy of x is written."""
        z = x @ components
        if self.normalize:
            z = z / torch.linalg.vector_norm(x, dim=2, keepdim=True).clamp(min=1e-12)
        return z - offset

    @torch.inference_mode()
    def fit_episodes(
        self, support: torch.Tensor, labels: torch.Tensor, unlabeled: torch.Tensor | None = None
    ) -> EpisodeProbes:
        """``fit`` on E episodes at once: support ``(E, S, d)`` float32, labels ``(E, S)``, unlabeled ``(E, U, d)``."""
        make_selector(self.selection, self.keep if self.selection != "none" else None)  # fit's checks
        one_hot, counts = episode_classes(labels)
        present = counts > 0
        pool = support if unlabeled is None else torch.cat([support, unlabeled], dim=1)
        if self.normalize:
            pool = F.normalize(pool, dim=-1, eps=1e-12)
        mu, components, scale, kept = _episode_coordinates(pool, self.n_components, self.whiten)
        offset = mu @ components
        z = self._episode_coords(support, components, offset) / scale.unsqueeze(1)
        mask = kept.to(torch.float32)
        if self.selection != "none":
            # keep is resolved for "iterative" too, whose mask stays all ones in a probe (nothing trains it).
            r_classes = list(zip(kept.sum(dim=1).tolist(), present.sum(dim=1).tolist(), strict=True))
            resolved = {rc: resolve_keep(self.keep, *rc) for rc in set(r_classes)}
            if self.selection == "fisher":
                n_keep = torch.tensor([resolved[rc] for rc in r_classes])
                mask = _fisher_mask(_episode_fisher(z, one_hot, counts, kept), kept, n_keep)
        prototypes = one_hot @ (z * mask.unsqueeze(1)) / counts.clamp(min=1).unsqueeze(2)
        return EpisodeProbes(components, offset, mask / scale, prototypes, present)

    @torch.inference_mode()
    def predict_episodes(self, fitted: EpisodeProbes, query: torch.Tensor) -> torch.Tensor:
        """``predict`` on each episode's queries ``(E, Q, d)`` -> labels ``(E, Q)``."""
        z = self._episode_coords(query, fitted.components, fitted.offset) * fitted.weight.unsqueeze(1)
        return nearest_prototype(z, fitted.prototypes, fitted.present)


@dataclass
class EpisodeProbes:
    """Fitted tcs-probes of E episodes: masked coordinates ``((x - mu) @ components) * weight`` from
    components ``(E, d, R)``, ``offset = mu @ components`` ``(E, 1, R)`` and ``weight = mask / scale``
    ``(E, R)``; prototypes ``(E, C, R)`` and which classes each support has ``(E, C)``. Columns past an
    episode's own coordinate count are zero."""

    components: torch.Tensor
    offset: torch.Tensor
    weight: torch.Tensor
    prototypes: torch.Tensor
    present: torch.Tensor


def _episode_coordinates(
    pool: torch.Tensor, n_components: int | None, whiten: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``CoordinateSystem(n_components, whiten).fit`` on each episode's pool ``(E, n, d)``, as one batched
    eigenproblem: mean ``(E, 1, d)``, components ``(E, d, R)``, scales ``(E, R)`` and which of the R columns
    each episode keeps ``(E, R)`` (its own r; the columns past it are zero)."""
    system = CoordinateSystem(n_components=n_components, whiten=whiten)
    system._check_params()
    n, d = pool.shape[1:]
    if n < 2:
        raise ValueError(f"a coordinate system needs at least 2 feature rows per episode (got {n})")
    x = pool.double()
    mu = x.mean(dim=1, keepdim=True)
    centred = x - mu
    # The same two routes as CoordinateSystem.fit: the (n, n) Gram matrix when n < d, else the covariance.
    gram = n < d
    scatter = centred @ centred.transpose(1, 2) if gram else centred.transpose(1, 2) @ centred
    evals, u = torch.linalg.eigh(scatter / (n - 1))
    evals, u = evals.flip(-1), u.flip(-1)
    top = evals[:, :1]
    rank = torch.where(top[:, 0] > 0, (evals > system.eps * top).sum(dim=1), 0).clamp(max=n - 1)
    if (rank < 1).any():
        raise ValueError(
            f"the {n} fitted feature rows of episode {int(torch.nonzero(rank < 1)[0, 0])} of the batch are "
            "identical, so they span no direction: use distinct images"
        )
    r = rank if n_components is None else rank.clamp(max=n_components)
    width = int(r.max())
    kept = torch.arange(width) < r.unsqueeze(1)
    evals = torch.where(kept, evals[:, :width], 1.0)
    u = u[..., :width]
    vecs = centred.transpose(1, 2) @ (u / torch.sqrt(evals * (n - 1)).unsqueeze(1)) if gram else u
    # Deterministic signs, as CoordinateSystem: the largest-magnitude entry of each component positive.
    sign = torch.sign(vecs.gather(1, vecs.abs().argmax(dim=1, keepdim=True)))
    components = vecs.float() * (sign * kept.unsqueeze(1)).float()  # exact: factors are 0 and +-1
    scale = evals.float().sqrt() if whiten else torch.ones_like(evals, dtype=torch.float32)
    return mu.float(), components, scale, kept


def _episode_fisher(z: torch.Tensor, one_hot: torch.Tensor, counts: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """``fisher_ranking`` of each episode's support coordinates ``z`` ``(E, S, R)`` -> ``(E, R)``."""
    n = z.shape[1]
    means = one_hot @ z / counts.clamp(min=1).unsqueeze(2)
    between = (counts.unsqueeze(2) * (means - z.mean(dim=1, keepdim=True)) ** 2).sum(dim=1) / n
    within = ((z - one_hot.transpose(1, 2) @ means) ** 2).sum(dim=1) / n
    floor = 1e-6 * (within * kept).sum(dim=1, keepdim=True) / kept.sum(dim=1, keepdim=True) + torch.finfo(z.dtype).tiny
    one_shot = ((counts > 0).sum(dim=1) == n).unsqueeze(1)
    return torch.where(one_shot, between, between / torch.maximum(within, floor))


def _fisher_mask(scores: torch.Tensor, kept: torch.Tensor, n_keep: torch.Tensor) -> torch.Tensor:
    """Ones on each episode's ``n_keep`` highest-scoring kept coordinates ``(E, R)``, ties to the first."""
    order = torch.argsort(scores.masked_fill(~kept, -torch.inf), dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order).scatter_(1, order, torch.arange(order.shape[1]).expand_as(order))
    return (ranks < n_keep.unsqueeze(1)).to(torch.float32)


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


class StudentTCS(StudentMethod):
    """The paper's TCS student: CE + mimic of the tailored teacher coordinates, with tailoring."""

    name = "student-tcs"


class StudentTCSKD(StudentMethod):
    """TCS plus the tailored probe's decision on every item and view (objective "tcs-kd")."""

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
        classifier = _KDClassifier(**{**self.params, "objective": "ce"})
        classifier.kd_objective_ = KDObjective(probe, self.temperature, self.alpha, self._teachers())
        return classifier


class KDObjective:
    """KL to the teacher probe's softened predictions on each batch's exact views, plus CE."""

    def __init__(self, probe: LogisticProbe, temperature: float, alpha: float, teachers: list | None = None):
        self.probe_weight = torch.as_tensor(probe.model_.coef_, dtype=torch.float32)
        self.probe_bias = torch.as_tensor(probe.model_.intercept_, dtype=torch.float32)
        self.temperature = temperature
        self.alpha = alpha
        self.teachers = teachers
        self.soft = None

    def _soft(self, features: torch.Tensor) -> torch.Tensor:
        """Probe probabilities at the temperature; features are the joined teacher features (..., D)."""
        logits = F.normalize(features, dim=-1) @ self.probe_weight.T + self.probe_bias
        return torch.softmax(logits / self.temperature, dim=-1)

    def bind(self, bank, labels: torch.Tensor, teacher: TeacherFeatures) -> KDObjective:
        from ..views import ViewTransform

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


class _KDClassifier(TCSClassifier):
    """The CE student of TCSClassifier with its objective replaced by KD (``kd_objective_``, set before
    ``fit``) on the same view bank; it saves and loads as the TCSClassifier it is."""

    def _objective(self, bank, labels, targets, student, teacher):
        return self.kd_objective_.bind(bank, labels, teacher), None
