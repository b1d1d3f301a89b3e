"""Distillation losses on the tailored coordinates (DESIGN.md section 2, step 4)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .coords import as_features


def _check_pair(pred: torch.Tensor, target: torch.Tensor, what: str) -> None:
    if pred.ndim != 2 or pred.shape != target.shape:
        raise ValueError(
            f"{what} needs pred and target of equal shape (batch, r); got {tuple(pred.shape)} and {tuple(target.shape)}"
        )


def _check_mask(mask: torch.Tensor, r: int) -> torch.Tensor:
    if mask.shape != (r,):
        raise ValueError(f"mask must have shape ({r},) to match the coordinates; got {tuple(mask.shape)}")
    return mask.detach()


def mimic_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Squared error averaged over kept coordinates (mask 1) and the batch.

    Args:
        pred: ``(B, r)`` student coordinates ``P(S(x))``.
        target: ``(B, r)`` cached teacher coordinates ``z_t(x)``.
        mask: ``(r,)`` 0/1 coordinate mask; None keeps every coordinate. It is detached, so the importance
            that drives iterative selection comes from the classification path, not from which coordinates
            are hard to mimic. An all-zero mask gives a loss of 0.

    Returns:
        Scalar tensor.
    """
    _check_pair(pred, target, "mimic_loss")
    squared = (pred - target) ** 2
    if mask is None:
        return squared.mean()
    mask = _check_mask(mask, pred.shape[1]).to(squared.dtype)
    # clamp_min instead of a Python check: no device sync in the training loop.
    return (squared * mask).sum() / (mask.sum().clamp_min(1) * pred.shape[0])


class ELSH:
    """Hash-bit targets from fixed random hyperplanes on the coordinates (the eLSH term).

    ``fit(targets)`` draws ``hyperplanes_`` ``(r, n_bits)`` from a Gaussian with a CPU generator seeded by
    ``seed`` (identical on any device), scaled to unit-norm columns so a logit is a signed distance in
    coordinate units; sets ``bias_ = -median(z_t H)`` per bit, which splits the fitted rows about 50/50
    on every bit; and computes the target ``bits_ = 1[z_t H + b > 0]`` once. ``loss(pred, bits)`` is
    BCE-with-logits of ``pred H + b`` against those bits.

    Masking: with ``mask`` given to ``fit``, dropped coordinates are zeroed on both sides (targets at fit,
    predictions in ``loss``) before the projection, so the bits depend only on kept coordinates. Bits are
    fixed per fit, so refit when the selection mask changes: the hyperplanes stay the same for a given
    seed and ``r``; only the bias and bits move.

    Args:
        n_bits: number of hyperplanes (hash bits).
        seed: seed of the hyperplanes.

    Attributes (after ``fit``): ``hyperplanes_`` ``(r, n_bits)``, ``bias_`` ``(n_bits,)``, ``bits_``
    ``(n, n_bits)`` bool for the fitted rows in order, ``mask_`` ``(r,)`` or None.
    """

    def __init__(self, n_bits: int = 64, seed: int = 0):
        self.n_bits = n_bits
        self.seed = seed

    def fit(self, targets: Any, mask: torch.Tensor | None = None) -> ELSH:
        """Hyperplanes, bias and target bits for ``targets`` ``(n, r)``, the cached teacher coordinates."""
        if isinstance(self.n_bits, bool) or not isinstance(self.n_bits, int) or self.n_bits < 1:
            raise ValueError(f"n_bits must be an int >= 1; got {self.n_bits!r}")
        targets = as_features(targets, "eLSH targets")
        n, r = targets.shape
        if n < 2:
            raise ValueError(f"eLSH needs at least 2 target rows to place the median bias; got {n}")
        generator = torch.Generator().manual_seed(self.seed)
        hyperplanes = torch.randn(r, self.n_bits, generator=generator)
        self.hyperplanes_ = (hyperplanes / hyperplanes.norm(dim=0, keepdim=True)).to(targets.device)
        self.mask_ = None if mask is None else _check_mask(mask, r).to(targets.device, torch.float32)
        projected = self._project(targets)
        self.bias_ = -projected.median(dim=0).values
        self.bits_ = projected + self.bias_ > 0
        return self

    def _project(self, z: torch.Tensor) -> torch.Tensor:
        if self.mask_ is not None:
            z = z * self.mask_.to(z.device)
        return z @ self.hyperplanes_.to(z.device)

    def _check_fitted(self) -> None:
        if not hasattr(self, "hyperplanes_"):
            raise RuntimeError("ELSH is not fitted yet; call fit(targets) first")

    def to(self, device: torch.device | str) -> ELSH:
        """Move the fitted state to ``device``; returns self."""
        self._check_fitted()
        self.hyperplanes_, self.bias_, self.bits_ = (t.to(device) for t in (self.hyperplanes_, self.bias_, self.bits_))
        if self.mask_ is not None:
            self.mask_ = self.mask_.to(device)
        return self

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Hash logits ``(B, n_bits)`` of coordinates ``z`` ``(B, r)``: ``(z * mask_) H + b``."""
        self._check_fitted()
        if z.ndim != 2 or z.shape[1] != self.hyperplanes_.shape[0]:
            raise ValueError(f"coordinates must be (B, {self.hyperplanes_.shape[0]}); got {tuple(z.shape)}")
        return self._project(z) + self.bias_.to(z.device)

    def bits(self, z: torch.Tensor) -> torch.Tensor:
        """Hash bits ``(B, n_bits)`` bool of coordinates ``z`` ``(B, r)`` with the fitted hyperplanes and bias,
        e.g. for targets of augmented views; ``bits_`` is this applied to the fitted targets."""
        return self.logits(z.detach()) > 0

    def loss(self, pred: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """Mean BCE-with-logits of ``pred`` ``(B, r)`` hashed against target ``bits`` ``(B, n_bits)``
        (bool or 0/1 float, e.g. ``bits_[batch_indices]``). Scalar tensor."""
        logits = self.logits(pred)
        if bits.shape != logits.shape:
            raise ValueError(f"bits must have shape {tuple(logits.shape)}; got {tuple(bits.shape)}")
        return F.binary_cross_entropy_with_logits(logits, bits.to(logits.dtype))

    def __repr__(self) -> str:
        return f"ELSH(n_bits={self.n_bits!r}, seed={self.seed!r})"
