import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from fewshot_tcs.methods import ItemSet, LogisticProbe, ProtoNet, TCSProbe, create_method, list_methods


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
    with pytest.raises(ValueError, match="one class"):
        cls().fit(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="15 feature rows but 14 labels"):
        cls().fit(x, y[:-1])
    bad = x.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values in 1 row"):
        cls().fit(bad, y)
    with pytest.raises(ValueError, match="labels are missing"):
        cls().fit(x)
    with pytest.raises(NotFittedError, match="not fitted"):
        cls().predict(x)
    with pytest.raises(ValueError, match=f"X has 3 features, but {cls.__name__} is expecting 8 features"):
        cls().fit(x, y).predict(x[:, :3])
    with pytest.raises(ValueError, match="no features"):
        cls().fit(ItemSet(labels=y))


def test_registry():
    assert {"protonet", "logistic"} <= set(list_methods())
    assert isinstance(create_method("protonet", center=True), ProtoNet)
    with pytest.raises(ValueError, match="Did you mean"):
        create_method("protonett")


def episodes_of_blobs(n_episodes=6, n_way=4, k_shot=3, n_query=5, dim=16, spread=1.5, seed=0):
    """Support (E, n_way * k_shot, dim), labels, queries and their labels of overlapping Gaussian classes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_episodes, n_way, dim))
    s_y = np.tile(np.repeat(np.arange(n_way), k_shot), (n_episodes, 1))
    q_y = np.tile(np.repeat(np.arange(n_way), n_query), (n_episodes, 1))

    def draw(y):
        return (np.take_along_axis(centres, y[..., None], 1) + rng.normal(size=(*y.shape, dim)) * spread).astype(
            np.float32
        )

    return draw(s_y), s_y, draw(q_y), q_y


@pytest.mark.parametrize(
    "method",
    [ProtoNet(), ProtoNet(center=True), ProtoNet(normalize=False), TCSProbe(), TCSProbe(whiten=True, n_components=5)],
    ids=["protonet", "protonet-centred", "protonet-raw", "tcs-probe", "tcs-probe-whiten-5"],
)
def test_batched_episodes_predict_as_fit_then_predict(method):
    support, s_y, query, q_y = episodes_of_blobs()
    unlabeled = episodes_of_blobs(seed=1)[0]
    for pool in (None, unlabeled):
        fitted = method.fit_episodes(
            torch.from_numpy(support), torch.from_numpy(s_y), None if pool is None else torch.from_numpy(pool)
        )
        batched = method.predict_episodes(fitted, torch.from_numpy(query)).numpy()
        looped = [
            method.fit(support[e], s_y[e], unlabeled=None if pool is None else pool[e]).predict(query[e])
            for e in range(len(support))
        ]
        np.testing.assert_array_equal(batched, np.stack(looped))
        assert 0.3 < (batched == q_y).mean() < 1


def test_batched_episodes_with_a_missing_class_never_predict_it():
    support, s_y, query, _ = episodes_of_blobs(n_episodes=2)
    s_y[0] = np.where(s_y[0] == 1, 2, s_y[0])  # episode 0's support has no class 1
    for method in (ProtoNet(), TCSProbe()):
        predicted = method.predict_episodes(
            method.fit_episodes(torch.from_numpy(support), torch.from_numpy(s_y)), torch.from_numpy(query)
        ).numpy()
        assert 1 not in predicted[0]
        np.testing.assert_array_equal(predicted[0], method.fit(support[0], s_y[0]).predict(query[0]))


@pytest.mark.parametrize("method", [ProtoNet(), TCSProbe()], ids=["protonet", "tcs-probe"])
def test_batched_episodes_explain_bad_input(method):
    support, s_y, query, _ = episodes_of_blobs(n_episodes=3)
    s_y[2] = 0
    with pytest.raises(ValueError, match="episode 2 of the batch has a single class"):
        method.fit_episodes(torch.from_numpy(support), torch.from_numpy(s_y))
    s_y[2] = s_y[0]
    query[1, 4, 0] = np.nan
    fitted = method.fit_episodes(torch.from_numpy(support), torch.from_numpy(s_y))
    with pytest.raises(ValueError, match="NaN or infinite"):
        method.predict_episodes(fitted, torch.from_numpy(query))
