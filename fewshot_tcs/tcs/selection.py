"""Tailoring: which coordinates the student keeps, as a binary mask (DESIGN.md section 2, step 5).

Every selector exposes the same surface so a trainer can treat them alike: ``fit(z, labels)`` sets
``mask`` ``(r,)`` float32 of zeros and ones; ``accumulate(mask_grad)`` and ``step(global_step)`` drive
iterative selection and do nothing for the training-free selectors; ``done`` says the mask is final.
"""

from __future__ import annotations

import logging
import math
from numbers import Integral, Real
from typing import Any

import torch
import torch.nn.functional as F

from .coords import as_features

SELECTIONS = ("iterative", "fisher", "none")
logger = logging.getLogger(__name__)


def resolve_keep(keep: int | float, r: int, n_classes: int | None = None) -> int:
    """Coordinates to keep out of ``r``: an int count (capped at ``r``) or a fraction in (0, 1] of ``r``,
    rounded up, at least 1.

    With ``n_classes`` a fraction never resolves below ``n_classes - 1`` (capped at ``r``), the number of
    directions the class means span: at 1-shot without unlabelled images r is exactly that, every coordinate
    separates classes, and keeping half of them cost the pretrained student 11 points (docs/performance.md).
    The raised count is logged at INFO. An int ``keep`` is taken as given.
    """
    if isinstance(keep, bool) or not isinstance(keep, Real):
        raise ValueError(f"keep must be an int >= 1 or a fraction in (0, 1]; got {keep!r}")
    if isinstance(keep, Integral):
        if keep < 1:
            raise ValueError(f"keep must be >= 1 coordinate; got {keep}")
        return min(int(keep), r)
    if not 0 < keep <= 1:
        raise ValueError(f"a fractional keep must be in (0, 1]; got {keep} (pass an int for a count)")
    n_keep = max(1, math.ceil(keep * r))
    floor = min(r, n_classes - 1) if n_classes else 0
    if floor > n_keep:
        logger.info(
            "keep=%g of r=%d is %d coordinates; keeping %d, one per class-mean direction", keep, r, n_keep, floor
        )
        return floor
    return n_keep


def _count_classes(labels: Any) -> int:
    labels = torch.as_tensor(labels)
    return len(torch.unique(labels[labels >= 0]))


class IterativeSelector:
    """Drop the least important coordinates during training until ``keep`` remain.

    Importance of coordinate j is ``|m_j * dL/dm_j|`` summed over the steps since the last drop: the
    first-order change of the loss if the coordinate were masked out. Every ``select_every`` steps the
    lowest ``drop_fraction`` of the kept coordinates (at least one, never going below ``keep``) are dropped
    and the importance restarts.

    Usage: ``fit(z)`` or ``reset(r, device)``; in each step build a leaf
    ``m = selector.mask.clone().requires_grad_()``, apply it before the classifier, ``backward``, then
    ``selector.accumulate(m.grad)`` and ``selector.step(global_step)``.

    Args:
        keep: final number of coordinates (int) or fraction of ``r`` (float in (0, 1]).
        select_every: steps between drops.
        drop_fraction: fraction of the currently kept coordinates dropped at each selection.

    State (after ``reset``): ``mask`` ``(r,)`` float32 ones/zeros; ``importance`` ``(r,)`` accumulated
    since the last drop; ``n_keep_`` the resolved ``keep``. Both tensors move to the device of the first
    gradient passed to ``accumulate`` if ``reset`` put them elsewhere.
    """

    def __init__(self, keep: int | float, select_every: int = 50, drop_fraction: float = 0.1):
        self.keep = keep
        self.select_every = select_every
        self.drop_fraction = drop_fraction

    def reset(
        self, r: int, device: torch.device | str | None = None, n_classes: int | None = None
    ) -> IterativeSelector:
        """Start over with all ``r`` coordinates kept; ``n_classes`` floors a fractional keep (:func:`resolve_keep`)."""
        if self.select_every < 1:
            raise ValueError(f"select_every must be >= 1 step; got {self.select_every}")
        if not 0 < self.drop_fraction <= 1:
            raise ValueError(f"drop_fraction must be in (0, 1]; got {self.drop_fraction}")
        self.n_keep_ = resolve_keep(self.keep, r, n_classes)
        self.mask = torch.ones(r, device=device)
        self.importance = torch.zeros(r, device=device)
        self._n_accumulated = 0
        return self

    def fit(self, z: torch.Tensor, labels: Any = None) -> IterativeSelector:
        """``reset`` for the coordinates ``z`` ``(n, r)`` (their count and device) and the classes among
        ``labels`` (negative labels mark unlabelled rows)."""
        return self.reset(z.shape[1], z.device, None if labels is None else _count_classes(labels))

    def _check_reset(self) -> None:
        if not hasattr(self, "mask"):
            raise RuntimeError("IterativeSelector has no mask yet; call reset(r, device) or fit(z) first")

    def accumulate(self, mask_grad: torch.Tensor | None) -> None:
        """Add ``|mask * mask_grad|``; ``mask_grad`` ``(r,)`` is the loss gradient w.r.t. the mask leaf."""
        self._check_reset()
        if mask_grad is None:
            raise ValueError(
                "mask_grad is None: the mask did not reach the loss; use a leaf copy with requires_grad=True "
                "and multiply it into the coordinates before the classifier"
            )
        if mask_grad.shape != self.mask.shape:
            raise ValueError(f"mask_grad has shape {tuple(mask_grad.shape)}; expected {tuple(self.mask.shape)}")
        if mask_grad.device != self.mask.device:
            # State follows the training device once, rather than copying the gradient back every step.
            self.mask, self.importance = self.mask.to(mask_grad.device), self.importance.to(mask_grad.device)
        self.importance += (self.mask * mask_grad.detach()).abs()
        self._n_accumulated += 1

    def step(self, global_step: int) -> bool:
        """At every ``select_every``-th step (``global_step`` = optimiser steps done, from 1), drop the least
        important kept coordinates. Returns True when the mask changed."""
        self._check_reset()
        # The cheap schedule test first: `done` reads the mask, a device sync on GPU.
        if global_step < 1 or global_step % self.select_every or self.done:
            return False
        if not self._n_accumulated:
            raise RuntimeError(
                "no importance was accumulated since the last selection; call accumulate(mask.grad) after "
                "each backward pass"
            )
        n_kept = int(self.mask.sum())
        n_drop = min(max(1, int(self.drop_fraction * n_kept)), n_kept - self.n_keep_)
        # Dropped coordinates sort last so only kept ones can be chosen; stable sort makes ties reproducible.
        score = self.importance.masked_fill(self.mask == 0, float("inf"))
        self.mask[torch.argsort(score, stable=True)[:n_drop]] = 0
        self.importance.zero_()
        self._n_accumulated = 0
        return True

    @property
    def done(self) -> bool:
        """True when exactly ``n_keep_`` coordinates remain."""
        self._check_reset()
        return int(self.mask.sum()) == self.n_keep_


def fisher_ranking(z: Any, labels: Any) -> torch.Tensor:
    """Per-coordinate Fisher score: between-class over within-class variance on labelled coordinates.

    Args:
        z: ``(n, r)`` coordinates of the support.
        labels: ``(n,)`` class labels (any integers).

    Returns:
        ``(r,)`` float32 scores, higher = more discriminative (see :func:`fisher_scores`, which computes them).
    """
    z = as_features(z, "coordinates")
    labels = torch.as_tensor(labels, device=z.device)
    if labels.ndim != 1 or labels.shape[0] != z.shape[0]:
        raise ValueError(f"{z.shape[0]} coordinate rows need {z.shape[0]} labels; got shape {tuple(labels.shape)}")
    classes, codes = torch.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("Fisher ranking needs at least two classes in the labels")
    one_hot = F.one_hot(codes, len(classes)).to(z.dtype).T
    return fisher_scores(z[None], one_hot[None], one_hot.sum(dim=1)[None])[0]


def fisher_scores(
    z: torch.Tensor, one_hot: torch.Tensor, counts: torch.Tensor, kept: torch.Tensor | None = None
) -> torch.Tensor:
    """Fisher scores of E episodes at once: coordinates ``z`` ``(E, n, r)``, class membership ``one_hot``
    ``(E, C, n)`` with ``counts`` ``(E, C)`` (a class absent from an episode counts 0), ``kept`` ``(E, r)``
    the coordinates that exist (default all) -> ``(E, r)``.

    When no class of an episode has two samples (1-shot) the within-class variance is zero everywhere and
    undefined, so the score is the between-class variance alone. Otherwise the within-class variance is
    floored at ``1e-6`` times its mean over the kept coordinates (plus the smallest float) so a coordinate
    that happens to be constant within classes cannot divide by zero.
    """
    kept = torch.ones(z.shape[::2], dtype=z.dtype, device=z.device) if kept is None else kept.to(z.dtype)
    n = z.shape[1]
    means = one_hot @ z / counts.clamp(min=1).unsqueeze(2)
    between = (counts.unsqueeze(2) * (means - z.mean(dim=1, keepdim=True)) ** 2).sum(dim=1) / n
    within = ((z - one_hot.transpose(1, 2) @ means) ** 2).sum(dim=1) / n
    floor = 1e-6 * (within * kept).sum(dim=1, keepdim=True) / kept.sum(dim=1, keepdim=True) + torch.finfo(z.dtype).tiny
    one_shot = ((counts > 0).sum(dim=1) == n).unsqueeze(1)
    return torch.where(one_shot, between, between / torch.maximum(within, floor))


class _FixedSelector:
    """A training-free selector: the mask is set by ``fit`` and training leaves it alone."""

    def accumulate(self, mask_grad: torch.Tensor | None) -> None:
        """Nothing to accumulate: the mask does not depend on training."""

    def step(self, global_step: int) -> bool:
        """Never changes the mask; returns False."""
        return False

    @property
    def done(self) -> bool:
        return True


class FisherSelector(_FixedSelector):
    """Keep the ``keep`` coordinates with the highest :func:`fisher_ranking` on the support.

    Attributes (after ``fit``): ``mask`` ``(r,)`` float32, ``scores_`` ``(r,)``, ``n_keep_``.
    """

    def __init__(self, keep: int | float):
        self.keep = keep

    def fit(self, z: Any, labels: Any) -> FisherSelector:
        """Rank coordinates ``z`` ``(n, r)`` of the labelled support with ``labels`` ``(n,)``."""
        if labels is None:
            raise ValueError("selection='fisher' ranks coordinates by class: pass the support labels to fit(z, labels)")
        self.scores_ = fisher_ranking(z, labels)
        r = self.scores_.shape[0]
        self.n_keep_ = resolve_keep(self.keep, r, _count_classes(labels))
        self.mask = torch.zeros(r, device=self.scores_.device)
        self.mask[torch.argsort(self.scores_, descending=True, stable=True)[: self.n_keep_]] = 1
        return self


class NoSelector(_FixedSelector):
    """Keep every coordinate (``selection="none"``)."""

    def fit(self, z: Any, labels: Any = None) -> NoSelector:
        """Mask of ones over the ``r`` columns of ``z`` ``(n, r)``."""
        z = as_features(z, "coordinates")
        self.mask = torch.ones(z.shape[1], device=z.device)
        return self


def make_selector(
    selection: str, keep: int | float | None = None, **kw: Any
) -> IterativeSelector | FisherSelector | NoSelector:
    """A selector by name: ``"iterative"`` | ``"fisher"`` | ``"none"``.

    ``kw`` are :class:`IterativeSelector` options (``select_every``, ``drop_fraction``); the other
    selectors accept and ignore them, so one training config serves every selection. ``keep`` is
    required except for ``"none"``, which ignores it.
    """
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; choose one of {list(SELECTIONS)}")
    unknown = set(kw) - {"select_every", "drop_fraction"}
    if unknown:
        raise ValueError(f"unknown selector options {sorted(unknown)}; known: ['drop_fraction', 'select_every']")
    if selection == "none":
        return NoSelector()
    if keep is None:
        raise ValueError(f"selection={selection!r} needs keep (a count, or a fraction of the coordinates)")
    if selection == "fisher":
        return FisherSelector(keep)
    return IterativeSelector(keep, **kw)
