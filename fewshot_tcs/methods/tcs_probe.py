"""tcs-probe: nearest class mean in the tailored coordinates of the teacher's features, no student; its
batched form evaluates many episodes as one tensor problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..features import l2_normalize
from ..tcs import CoordinateSystem, make_selector
from ..tcs.coords import principal_directions
from ..tcs.selection import fisher_scores, resolve_keep
from .base import FeatureMethod, as_features, episode_classes, nearest_prototype, support_xy


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
                mask = _fisher_mask(fisher_scores(z, one_hot, counts, kept), kept, n_keep)
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
    n = pool.shape[1]
    if n < 2:
        raise ValueError(f"a coordinate system needs at least 2 feature rows per episode (got {n})")
    mu, evals, vecs, rank, _ = principal_directions(pool, system.eps)
    if (rank < 1).any():
        raise ValueError(
            f"the {n} fitted feature rows of episode {int(torch.nonzero(rank < 1)[0, 0])} of the batch are "
            "identical, so they span no direction: use distinct images"
        )
    r = rank if n_components is None else rank.clamp(max=n_components)
    width = int(r.max())
    kept = torch.arange(width) < r.unsqueeze(1)
    evals, vecs = torch.where(kept, evals[:, :width], 1.0), vecs[..., :width]
    # Deterministic signs, as CoordinateSystem: the largest-magnitude entry of each component positive.
    sign = torch.sign(vecs.gather(1, vecs.abs().argmax(dim=1, keepdim=True)))
    components = vecs.float() * (sign * kept.unsqueeze(1)).float()  # exact: factors are 0 and +-1
    scale = evals.float().sqrt() if whiten else torch.ones_like(evals, dtype=torch.float32)
    return mu.float(), components, scale, kept


def _fisher_mask(scores: torch.Tensor, kept: torch.Tensor, n_keep: torch.Tensor) -> torch.Tensor:
    """Ones on each episode's ``n_keep`` highest-scoring kept coordinates ``(E, R)``, ties to the first."""
    order = torch.argsort(scores.masked_fill(~kept, -torch.inf), dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order).scatter_(1, order, torch.arange(order.shape[1]).expand_as(order))
    return (ranks < n_keep.unsqueeze(1)).to(torch.float32)
