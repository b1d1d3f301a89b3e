"""The tailored coordinate system: principal directions of teacher features (DESIGN.md section 2, step 2)."""

from __future__ import annotations

import logging
from typing import Any

import torch

logger = logging.getLogger(__name__)

BASES = ("support", "pool", "reference")


def as_features(data: Any, what: str = "features") -> torch.Tensor:
    """``data`` as an ``(n, d)`` float32 tensor on its own device, checked 2-D, non-empty and finite."""
    if data is None:
        raise ValueError(f"{what} are missing (got None)")
    x = torch.as_tensor(data, dtype=torch.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D (n, dim) tensor; got shape {tuple(x.shape)}")
    bad = ~torch.isfinite(x).all(dim=1)
    n_bad = int(bad.sum())
    if n_bad:
        first = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"{what} contain NaN or inf in {n_bad} of {x.shape[0]} rows (first: row {first}); drop or fix those rows"
        )
    return x


class CoordinateSystem:
    """PCA of teacher features: the coordinates the student learns to reproduce.

    ``z = (f - mu_) @ components_``, divided by ``sqrt(eigenvalues_)`` when ``whiten``. Few-shot supports
    usually have fewer rows than dimensions, so the eigenproblem is solved on the ``(n, n)`` Gram matrix
    when ``n < d`` and on the ``(d, d)`` covariance otherwise, in float64; learned state is float32.

    Args:
        n_components: coordinates to keep (int >= 1); None keeps all up to the numerical rank.
        variance: keep the fewest leading coordinates whose explained-variance fraction reaches this
            value, in (0, 1]. With ``n_components`` too, the smaller count wins.
        whiten: scale each coordinate to unit variance on the fitted features.
        basis: which features the system is fitted on. ``"support"`` and ``"pool"`` only name what the
            caller passes to ``fit`` (the labelled support, or support plus unlabelled images);
            ``"reference"`` fits on the ``reference`` argument of ``fit`` (e.g. base-class features),
            the way out at 1-2 shots where ``n - 1`` directions are too few.
        eps: eigenvalues at or below ``eps`` times the largest count as zero (numerical rank).

    ``r`` (``n_components_``) never exceeds the numerical rank ``rank_`` (at most ``n - 1`` after
    centring): asking for more keeps ``rank_`` coordinates and logs it at INFO (1-shot 5-way gives 4),
    which is the documented fallback, not an error; INFO rather than WARNING because episodic evaluation
    fits one system per episode. Each component's largest-magnitude entry is positive, so fits are
    reproducible.

    Attributes (after ``fit``):
        mu_: ``(d,)`` mean of the fitted features.
        components_: ``(d, r)`` principal directions as orthonormal columns, by decreasing eigenvalue.
        eigenvalues_: ``(r,)`` variance along each direction (``(n - 1)`` denominator, as scikit-learn).
        explained_variance_ratio_: ``(r,)`` fraction of the total variance along each direction.
        n_components_: ``r``. rank_: numerical rank of the fitted features. n_features_in_: ``d``.
    """

    def __init__(
        self,
        n_components: int | None = None,
        variance: float | None = None,
        whiten: bool = False,
        basis: str = "support",
        eps: float = 1e-6,
    ):
        self.n_components = n_components
        self.variance = variance
        self.whiten = whiten
        self.basis = basis
        self.eps = eps

    def _check_params(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"basis must be one of {BASES}; got {self.basis!r}")
        if self.n_components is not None and (
            isinstance(self.n_components, bool) or not isinstance(self.n_components, int) or self.n_components < 1
        ):
            raise ValueError(f"n_components must be an int >= 1 or None; got {self.n_components!r}")
        if self.variance is not None and not 0 < self.variance <= 1:
            raise ValueError(f"variance must be in (0, 1] or None; got {self.variance!r}")

    def _fit_features(self, features: Any, reference: Any) -> torch.Tensor:
        if self.basis != "reference":
            if features is None:
                raise ValueError(f"basis={self.basis!r} fits on the features passed to fit(); got None")
            return as_features(features)
        if reference is None:
            raise ValueError(
                "basis='reference' fits on reference features (e.g. base-class teacher features); "
                "pass them as fit(features, reference=...)"
            )
        ref = as_features(reference, "reference features")
        if features is not None and (dim := as_features(features).shape[1]) != ref.shape[1]:
            raise ValueError(f"features have {dim} dims but reference features have {ref.shape[1]}")
        return ref

    def fit(self, features: Any, reference: Any = None) -> CoordinateSystem:
        """Fit mean and principal directions.

        Args:
            features: ``(n, d)`` float32 support (``basis="support"``) or support plus unlabelled
                (``basis="pool"``) teacher features. With ``basis="reference"`` only checked against the
                reference dimension, and may be None.
            reference: ``(n_ref, d)`` features to fit on when ``basis="reference"``; ignored otherwise.
        """
        self._check_params()
        x = self._fit_features(features, reference)
        n, d = x.shape
        if n < 2:
            raise ValueError(
                f"a coordinate system needs at least 2 feature rows (got {n}): add images (e.g. unlabelled ones "
                "with basis='pool') or fit on base-class features with basis='reference'"
            )
        mu, evals, vecs, ranks, total = principal_directions(x[None], self.eps)
        rank = int(ranks[0])
        if rank < 1:
            raise ValueError(
                f"the {n} fitted feature rows are identical, so they span no direction: use distinct images "
                "or basis='reference' with base-class features"
            )
        mu, evals, vecs = mu[0, 0], evals[0, :rank], vecs[0, :, :rank]
        ratio = evals / total[0]

        r = rank
        if self.n_components is not None:
            if self.n_components > rank:
                logger.info(
                    "n_components=%d capped at the numerical rank %d of %d samples in %d dims (at most n - 1 after "
                    "centring); add unlabelled images (basis='pool') or use basis='reference' for more coordinates",
                    self.n_components,
                    rank,
                    n,
                    d,
                )
            r = min(r, self.n_components)
        if self.variance is not None:
            # Fewest leading coordinates whose cumulative ratio reaches the threshold.
            r = min(r, int((torch.cumsum(ratio, 0) < self.variance).sum()) + 1)

        vecs = vecs[:, :r]
        # Deterministic signs: largest-magnitude entry of each component positive.
        peak = vecs.abs().argmax(dim=0)
        vecs = vecs * torch.sign(vecs[peak, torch.arange(r, device=vecs.device)])

        self.mu_ = mu.float()
        self.components_ = vecs.float().contiguous()
        self.eigenvalues_ = evals[:r].float()
        self.explained_variance_ratio_ = ratio[:r].float()
        self.n_components_ = r
        self.rank_ = rank
        self.n_features_in_ = d
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("CoordinateSystem is not fitted yet; call fit(features) first")

    def transform(self, features: Any) -> torch.Tensor:
        """Coordinates of ``features``: ``(m, d)`` -> ``(m, r)`` float32, on the features' device."""
        self._check_fitted()
        x = as_features(features)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"features have {x.shape[1]} dims but the coordinate system was fitted on {self.n_features_in_}"
            )
        z = (x - self.mu_.to(x.device)) @ self.components_.to(x.device)
        if self.whiten:
            z = z / self.eigenvalues_.to(x.device).sqrt()
        return z

    def fit_transform(self, features: Any, reference: Any = None) -> torch.Tensor:
        """``fit(features, reference)`` then the coordinates of ``features``: ``(n, r)``."""
        return self.fit(features, reference).transform(features)

    def inverse_transform(self, z: Any) -> torch.Tensor:
        """Features back from coordinates: ``(m, r)`` -> ``(m, d)``; exact for rows in the fitted span."""
        self._check_fitted()
        z = as_features(z, "coordinates")
        if z.shape[1] != self.n_components_:
            raise ValueError(f"coordinates have {z.shape[1]} columns but the system has {self.n_components_}")
        if self.whiten:
            z = z * self.eigenvalues_.to(z.device).sqrt()
        return z @ self.components_.to(z.device).T + self.mu_.to(z.device)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


def principal_directions(
    x: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The PCA under every coordinate system, of E sets of n rows at once (``x`` ``(E, n, d)``), in float64.

    Returns the means ``(E, 1, d)``, eigenvalues ``(E, K)`` and unit directions ``(E, d, K)``, both in
    descending order, each set's numerical rank ``(E,)`` (eigenvalues above ``eps`` times the largest, at most
    n - 1; 0 when the rows are identical) and total variance ``(E,)``; K is the largest rank, and a set's
    columns past its own rank are not meaningful. With n < d the (n, n) Gram matrix is decomposed (same
    nonzero eigenvalues as the (d, d) covariance) and its vectors mapped back; else the covariance.
    ``CoordinateSystem.fit`` is the one-set case; the batched tcs-probe calls this directly.
    """
    n, d = x.shape[1:]
    x = x.double()
    mu = x.mean(dim=1, keepdim=True)
    centred = x - mu
    gram = n < d
    scatter = centred @ centred.transpose(1, 2) if gram else centred.transpose(1, 2) @ centred
    evals, u = torch.linalg.eigh(scatter / (n - 1))
    evals, u = evals.flip(-1), u.flip(-1)
    top = evals[:, :1]
    rank = torch.where(top[:, 0] > 0, (evals > eps * top).sum(dim=1), 0).clamp(max=n - 1)
    width = max(int(rank.max()), 1)
    evals, u = evals[:, :width], u[..., :width]
    if gram:
        # Columns past a set's rank get a unit divisor: they are dropped, and must not turn into NaN first.
        real = torch.arange(width, device=x.device) < rank.unsqueeze(1)
        vecs = (centred.transpose(1, 2) @ u) / torch.sqrt(torch.where(real, evals, 1.0) * (n - 1)).unsqueeze(1)
    else:
        vecs = u
    total = (centred**2).sum(dim=(1, 2)) / (n - 1)
    return mu, evals, vecs, rank, total
