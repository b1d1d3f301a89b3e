import numpy as np
import pytest

from fewshot_tcs.methods import ItemSet, LogisticProbe, ProtoNet, create_method, list_methods


def blobs(n_per_class=5, n_classes=3, dim=8, seed=0, spread=0.1):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, dim)) * 3
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return (centers[labels] + rng.normal(size=(len(labels), dim)) * spread).astype(np.float32), labels


@pytest.mark.parametrize(
    "method",
    [ProtoNet(), ProtoNet(center=True), ProtoNet(normalize=False), LogisticProbe()],
    ids=["protonet", "protonet-centred", "protonet-raw", "logistic"],
)
def test_separable_classes_are_recognised(method):
    x, y = blobs()
    qx, qy = blobs(seed=0, n_per_class=4, spread=0.2)
    assert method.fit(ItemSet(features=x, labels=y)) is method
    assert method.score(ItemSet(features=qx, labels=qy)) == 1.0
    proba = method.predict_proba(qx)
    assert proba.shape == (12, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_protonet_matches_a_hand_computed_nearest_centroid():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10, 4)), np.repeat([0, 1], 5)
    q = rng.normal(size=(6, 4))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    qu = q / np.linalg.norm(q, axis=1, keepdims=True)
    centroids = np.stack([unit[y == c].mean(0) for c in (0, 1)])
    expected = np.argmin(((qu[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert ProtoNet().fit(x, y).predict(q).tolist() == expected.tolist()


def test_centring_uses_unlabelled_items():
    x, y = blobs()
    u, _ = blobs(seed=3)
    method = ProtoNet(center=True).fit(x, y, unlabeled=ItemSet(features=u))
    np.testing.assert_allclose(method.mean_, np.concatenate([x, u]).mean(0), rtol=1e-5)


def test_labels_keep_their_values():
    x, y = blobs(n_classes=2)
    assert set(ProtoNet().fit(x, y + 7).predict(x)) == {7, 8}


@pytest.mark.parametrize("cls", [ProtoNet, LogisticProbe])
def test_bad_input_is_explained(cls):
    x, y = blobs()
    with pytest.raises(ValueError, match="single class"):
        cls().fit(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="15 feature rows but 14 labels"):
        cls().fit(x, y[:-1])
    bad = x.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values in 1 row"):
        cls().fit(bad, y)
    with pytest.raises(ValueError, match="labels are missing"):
        cls().fit(x)
    with pytest.raises(RuntimeError, match="not fitted"):
        cls().predict(x)
    with pytest.raises(ValueError, match="query features have 3 dimensions; the support had 8"):
        cls().fit(x, y).predict(x[:, :3])
    with pytest.raises(ValueError, match="no features"):
        cls().fit(ItemSet(labels=y))


def test_registry():
    assert {"protonet", "logistic"} <= set(list_methods())
    assert isinstance(create_method("protonet", center=True), ProtoNet)
    with pytest.raises(ValueError, match="Did you mean"):
        create_method("protonett")
