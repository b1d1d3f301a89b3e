import logging

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from fewshot_tcs.tcs import CoordinateSystem


def correlated(n, d, seed=0):
    """Rows with a decaying spectrum, so principal directions are well separated."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) * np.linspace(3, 0.1, d)[:, None]
    return (rng.normal(size=(n, d)) @ mixing + 5).astype(np.float32)


def assert_equal_up_to_sign(ours, theirs, atol):
    """Columns equal after flipping each of ours to agree in sign with theirs."""
    signs = np.sign((ours * theirs).sum(axis=0))
    np.testing.assert_allclose(ours * signs, theirs, atol=atol)


@pytest.mark.parametrize(("n", "d"), [(200, 16), (20, 50)], ids=["covariance", "gram"])
@pytest.mark.parametrize("whiten", [False, True])
def test_matches_sklearn_pca(n, d, whiten):
    x = correlated(n, d)
    k = 8
    cs = CoordinateSystem(n_components=k, whiten=whiten).fit(torch.from_numpy(x))
    pca = PCA(n_components=k, whiten=whiten, svd_solver="full").fit(x.astype(np.float64))
    assert cs.n_components_ == k and cs.components_.shape == (d, k)
    np.testing.assert_allclose(cs.mu_.numpy(), pca.mean_, rtol=1e-5, atol=1e-4)
    assert_equal_up_to_sign(cs.components_.numpy(), pca.components_.T, atol=1e-4)
    np.testing.assert_allclose(cs.eigenvalues_.numpy(), pca.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(cs.explained_variance_ratio_.numpy(), pca.explained_variance_ratio_, rtol=1e-4)
    query = correlated(30, d, seed=1)
    z = cs.transform(torch.from_numpy(query))
    assert z.dtype == torch.float32 and z.shape == (30, k)
    assert_equal_up_to_sign(z.numpy(), pca.transform(query.astype(np.float64)), atol=2e-3)


@pytest.mark.parametrize(("n", "d"), [(200, 16), (20, 50)], ids=["covariance", "gram"])
@pytest.mark.parametrize("whiten", [False, True])
def test_inverse_transform_reconstructs_with_all_components(n, d, whiten):
    x = torch.from_numpy(correlated(n, d))
    cs = CoordinateSystem(whiten=whiten).fit(x)
    assert cs.n_components_ == min(n - 1, d)
    np.testing.assert_allclose(cs.inverse_transform(cs.transform(x)).numpy(), x.numpy(), atol=1e-3)


def test_components_are_orthonormal_and_signs_deterministic():
    x = torch.from_numpy(correlated(12, 40))
    first, second = CoordinateSystem().fit(x), CoordinateSystem().fit(x.clone())
    v = first.components_
    torch.testing.assert_close(v.T @ v, torch.eye(v.shape[1]), atol=1e-5, rtol=0)
    assert torch.equal(v, second.components_)
    peak = v.abs().argmax(dim=0)
    assert (v[peak, torch.arange(v.shape[1])] > 0).all()


def test_one_shot_caps_at_the_rank_and_logs(caplog):
    x = torch.randn(5, 64, generator=torch.Generator().manual_seed(0))
    with caplog.at_level(logging.INFO, logger="fewshot_tcs.tcs.coords"):
        cs = CoordinateSystem(n_components=10).fit(x)
    assert cs.rank_ == 4 and cs.n_components_ == 4
    assert cs.transform(x).shape == (5, 4)
    assert any("capped at the numerical rank 4" in r.getMessage() for r in caplog.records)


def test_numerical_rank_ignores_duplicate_rows():
    base = torch.randn(3, 32, generator=torch.Generator().manual_seed(0))
    cs = CoordinateSystem().fit(torch.cat([base, base]))
    assert cs.rank_ == 2


def test_too_few_rows_are_explained():
    with pytest.raises(ValueError, match="at least 2 feature rows.*basis='reference'"):
        CoordinateSystem().fit(torch.randn(1, 64))
    with pytest.raises(ValueError, match="identical"):
        CoordinateSystem().fit(torch.ones(4, 8))


def test_variance_threshold_picks_the_smallest_count():
    x = correlated(100, 12)
    cs = CoordinateSystem(variance=0.9).fit(torch.from_numpy(x))
    cumulative = np.cumsum(PCA().fit(x.astype(np.float64)).explained_variance_ratio_)
    expected = int(np.argmax(cumulative >= 0.9)) + 1
    assert cs.n_components_ == expected
    assert cumulative[expected - 2] < 0.9 <= cumulative[expected - 1]
    assert CoordinateSystem(variance=0.9, n_components=2).fit(torch.from_numpy(x)).n_components_ == 2


def test_reference_basis_fits_on_the_reference():
    support = torch.randn(5, 32, generator=torch.Generator().manual_seed(0))
    reference = torch.from_numpy(correlated(100, 32, seed=3))
    cs = CoordinateSystem(n_components=10, basis="reference").fit(support, reference=reference)
    expected = CoordinateSystem(n_components=10).fit(reference)
    assert cs.n_components_ == 10
    torch.testing.assert_close(cs.components_, expected.components_)
    torch.testing.assert_close(cs.mu_, expected.mu_)
    assert cs.transform(support).shape == (5, 10)
    with pytest.raises(ValueError, match="reference=..."):
        CoordinateSystem(basis="reference").fit(support)
    with pytest.raises(ValueError, match="32 dims but reference features have 16"):
        CoordinateSystem(basis="reference").fit(support, reference=reference[:, :16])


def test_bad_input_is_explained():
    x = torch.randn(10, 8)
    bad = x.clone()
    bad[[2, 5], 0] = float("nan")
    bad[7, 1] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf in 3 of 10 rows"):
        CoordinateSystem().fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        CoordinateSystem().fit(torch.randn(4, 3, 2))
    with pytest.raises(RuntimeError, match="not fitted"):
        CoordinateSystem().transform(x)
    cs = CoordinateSystem(n_components=3).fit(x)
    with pytest.raises(ValueError, match="6 dims but the coordinate system was fitted on 8"):
        cs.transform(torch.randn(2, 6))
    with pytest.raises(ValueError, match="2-D"):
        cs.transform(torch.randn(8))
    with pytest.raises(ValueError, match="basis"):
        CoordinateSystem(basis="queries").fit(x)
    with pytest.raises(ValueError, match="variance"):
        CoordinateSystem(variance=1.5).fit(x)
    with pytest.raises(ValueError, match="n_components"):
        CoordinateSystem(n_components=0).fit(x)
