import json
import sys

import numpy as np
import pytest

from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import EpisodeFileError, EpisodeSampler, save_episodes
from fewshot_tcs.evaluation.evaluate import evaluate
from fewshot_tcs.evaluation.results import confidence_interval
from fewshot_tcs.features import FeatureSet, pixel_features
from fewshot_tcs.methods import ProtoNet, TCSProbe


@pytest.fixture
def toy():
    """8 classes x 25 items whose features are noisy class centres, so accuracy varies by episode."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(8), 25)
    source = ArraySource(np.zeros((len(labels), 2, 2), np.uint8), labels, name="toy")
    features = rng.normal(size=(8, 6))[labels] + rng.normal(size=(len(labels), 6)) * 1.2
    return source, FeatureSet(source.ids, features.astype(np.float32), backbone="toy")


def test_result_has_mean_interval_and_protocol(toy):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=40, seed=3)
    result = evaluate(ProtoNet(), sampler, features, source=source, quiet=True)
    assert result.n == 40 and result.seed == 3 and result.dataset == "toy"
    assert result.protocol == {"n_way": 5, "k_shot": 2, "n_query": 5, "n_unlabeled": 0, "setting": "inductive"}
    assert (result.mean, result.ci95) == pytest.approx(confidence_interval(result.accuracies))
    assert 0.2 < result.mean < 1.0 and result.ci95 > 0
    assert result.fit_seconds.shape == (40,)
    assert "protonet:" in result.summary() and "n=40" in result.summary()
    assert json.loads(json.dumps(result.to_dict()))["n"] == 40


def test_features_as_an_array_aligned_with_the_source(toy):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=5)
    a = evaluate(ProtoNet(), sampler, features, quiet=True)
    b = evaluate(ProtoNet(), sampler, features.values, source=source, quiet=True)
    assert a.accuracies.tolist() == b.accuracies.tolist()
    with pytest.raises(ValueError, match="need source="):
        evaluate(ProtoNet(), sampler, features.values, quiet=True)
    with pytest.raises(ValueError, match="pass features="):
        evaluate(ProtoNet(), sampler, source=source, quiet=True)


class Counting(ProtoNet):
    """ProtoNet that counts fits and can die at a chosen fit, like a killed run."""

    name = "protonet"
    fits, die_at = 0, None  # test hooks, not settings

    def fit(self, support, y=None, unlabeled=None):
        if self.fits == self.die_at:
            raise KeyboardInterrupt
        self.fits += 1
        return super().fit(support, y, unlabeled)


def _dying(method, at):
    method.die_at = at
    return method


def test_a_killed_run_resumes_without_recomputing(toy, tmp_path):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=12)
    out = tmp_path / "results.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate(_dying(Counting(), 7), sampler, features, out=out, quiet=True)
    assert len(out.read_text().splitlines()) == 7
    with open(out, "a") as f:  # a write cut off mid-line by the kill
        f.write('{"method": "protonet", "epi')
    resumed = Counting()
    result = evaluate(resumed, sampler, features, out=out, quiet=True)
    assert resumed.fits == 5
    lines = out.read_text().splitlines()
    assert len(lines) == 12
    assert sorted(json.loads(line)["episode"] for line in lines) == list(range(12))
    fresh = evaluate(ProtoNet(), sampler, features, quiet=True)
    assert result.accuracies.tolist() == fresh.accuracies.tolist()
    again = Counting()
    evaluate(again, sampler, features, out=out, quiet=True)
    assert again.fits == 0


def test_results_file_of_other_episodes_is_refused(toy, tmp_path):
    source, features = toy
    out = tmp_path / "results.jsonl"
    evaluate(ProtoNet(), EpisodeSampler(source, 5, 2, n_episodes=3, seed=0), features, out=out, quiet=True)
    with pytest.raises(ValueError, match="belongs to other episodes"):
        evaluate(ProtoNet(), EpisodeSampler(source, 5, 2, n_episodes=3, seed=1), features, out=out, quiet=True)


def test_episode_file_from_other_data(toy, tmp_path):
    source, features = toy
    path = save_episodes(EpisodeSampler(source, 5, 2, n_episodes=3).episodes(), tmp_path / "e.jsonl")
    other = ArraySource(np.zeros((100, 2, 2), np.uint8), np.arange(100) % 6, name="other")
    with pytest.raises(EpisodeFileError, match="fingerprint"):
        evaluate(ProtoNet(), path, features, source=other, quiet=True)
    assert evaluate(ProtoNet(), path, features, source=source, quiet=True).n == 3


def test_protonet_on_omniglot_pixels(omniglot_small):
    features = pixel_features(omniglot_small, size=28, quiet=True)
    assert features.values.shape == (4840, 784)
    sampler = EpisodeSampler(omniglot_small, 5, 5, n_episodes=600, seed=0)
    result = evaluate(ProtoNet(), sampler, features, source=omniglot_small, quiet=True)
    assert result.n == 600
    assert 0.4 < result.mean < 0.95 and 0 < result.ci95 < 0.02


FEATURE_METHODS = [
    ProtoNet(),
    ProtoNet(center=True),
    ProtoNet(normalize=False),
    TCSProbe(),
    TCSProbe(whiten=True),
    TCSProbe(selection="fisher", keep=0.5),
    TCSProbe(n_components=3, selection="fisher", keep=2),
]
# Not fisher with whitening: whitened coordinates have equal variance on the support, so at 1 shot every
# Fisher score ties and the kept coordinates are down to rounding, in the loop as much as in a batch.
METHOD_IDS = ["protonet", "protonet-centred", "protonet-raw", "tcs-probe", "tcs-whiten", "tcs-fisher", "tcs-fisher-3"]


def _records(path):
    """Per-episode records of a results file without their timings, by episode."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["episode"]: {k: v for k, v in r.items() if not k.endswith("_seconds")} for r in records}


@pytest.mark.parametrize("method", FEATURE_METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize("k_shot, n_unlabeled", [(1, 0), (3, 0), (2, 4)])
def test_batched_evaluation_matches_the_episode_loop(toy, tmp_path, method, k_shot, n_unlabeled):
    source, features = toy
    sampler = EpisodeSampler(source, 5, k_shot, n_query=5, n_unlabeled=n_unlabeled, n_episodes=30, seed=1)
    looped = evaluate(method, sampler, features, quiet=True, batched=False, out=tmp_path / "loop.jsonl")
    batched = evaluate(method, sampler, features, quiet=True, batched=True, out=tmp_path / "batch.jsonl")
    assert batched.accuracies.tolist() == looped.accuracies.tolist()
    assert batched.episodes.tolist() == looped.episodes.tolist() == list(range(30))
    assert 0.2 < batched.mean < 1 and batched.protocol == looped.protocol
    assert _records(tmp_path / "batch.jsonl") == _records(tmp_path / "loop.jsonl")
    assert (batched.fit_seconds > 0).all() and (batched.predict_seconds > 0).all()


def test_batched_is_the_default_for_methods_that_offer_it(toy):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=4)
    assert evaluate(Counting(), sampler, features, quiet=True).n == 4  # a subclass that changes fit: the loop
    with pytest.raises(ValueError, match="no batched evaluation"):
        evaluate(Counting(), sampler, features, quiet=True, batched=True)

    class Batches(ProtoNet):
        def __init__(self):
            super().__init__()
            self.sizes = []

        def fit_episodes(self, support, labels, unlabeled=None):
            self.sizes.append(len(support))
            return super().fit_episodes(support, labels, unlabeled)

    method = Batches()
    assert evaluate(method, sampler, features, quiet=True).n == 4 and method.sizes == [4]
    evaluate(method, sampler, features, quiet=True, batched=False)
    assert method.sizes == [4]


def test_batched_evaluation_of_mixed_shapes_and_float16_features(toy):
    source, features = toy
    episodes = list(EpisodeSampler(source, 5, 1, n_query=5, n_episodes=5, seed=0).episodes())
    episodes += list(EpisodeSampler(source, 3, 4, n_query=2, n_episodes=5, seed=1).episodes())
    episodes += list(EpisodeSampler(source, 5, 1, n_query=5, n_episodes=5, seed=2).episodes())
    half = FeatureSet(features.ids, features.values.astype(np.float16), backbone="toy")
    for method in (ProtoNet(), TCSProbe()):
        looped = evaluate(method, episodes, half, quiet=True, batched=False)
        assert evaluate(method, episodes, half, quiet=True).accuracies.tolist() == looped.accuracies.tolist()


class DiesInBatch(ProtoNet):
    """ProtoNet whose batched fit can die at a chosen batch, like a killed run; counts the episodes it fits."""

    batches, episodes, die_at = 0, 0, None  # test hooks, not settings

    def fit_episodes(self, support, labels, unlabeled=None):
        if self.batches == self.die_at:
            raise KeyboardInterrupt
        self.batches += 1
        self.episodes += len(support)
        return super().fit_episodes(support, labels, unlabeled)


def test_a_killed_batched_run_resumes_without_recomputing(toy, tmp_path, monkeypatch):
    source, features = toy
    # Batches of 4 episodes: 2 x (2 + 5) rows of 6 float32 per episode.
    monkeypatch.setattr(sys.modules["fewshot_tcs.evaluation.evaluate"], "BATCH_BYTES", 4 * (10 + 25) * 6 * 4)
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=14)
    out = tmp_path / "results.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate(_dying(DiesInBatch(), 2), sampler, features, out=out, quiet=True)
    assert len(out.read_text().splitlines()) == 8
    resumed = DiesInBatch()
    result = evaluate(resumed, sampler, features, out=out, quiet=True)
    assert (resumed.batches, resumed.episodes) == (2, 6)
    assert sorted(_records(out)) == list(range(14))
    assert (
        result.accuracies.tolist()
        == evaluate(ProtoNet(), sampler, features, quiet=True, batched=False).accuracies.tolist()
    )
    again = DiesInBatch()
    evaluate(again, sampler, features, out=out, quiet=True)
    assert again.batches == 0


def test_batched_evaluation_explains_bad_input(toy):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=3)
    bad = features.values.copy()
    bad[features.rows(sampler[1].query[:1]), 0] = np.inf
    with pytest.raises(ValueError, match=r"protonet on episodes 0\.\.2: .*NaN or infinite"):
        evaluate(ProtoNet(), sampler, FeatureSet(features.ids, bad, backbone="toy"), quiet=True)
    with pytest.raises(KeyError, match="no toy features for item"):
        evaluate(ProtoNet(), sampler, FeatureSet(features.ids[:50], features.values[:50], backbone="toy"), quiet=True)


def test_batched_equals_looped_on_omniglot_pixels(omniglot_small):
    features = pixel_features(omniglot_small, size=28, quiet=True)
    for k_shot in (1, 5):
        sampler = EpisodeSampler(omniglot_small, 5, k_shot, n_episodes=60, seed=k_shot)
        for method in (ProtoNet(), TCSProbe(), TCSProbe(whiten=True), TCSProbe(selection="fisher")):
            looped = evaluate(method, sampler, features, quiet=True, batched=False)
            assert evaluate(method, sampler, features, quiet=True).accuracies.tolist() == looped.accuracies.tolist()


def test_features_without_a_fingerprint_are_identified_by_their_values(toy, tmp_path):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=3)
    out = tmp_path / "results.jsonl"
    evaluate(ProtoNet(), sampler, np.asarray(features.values), source=source, out=out, quiet=True)
    evaluate(ProtoNet(), sampler, np.asarray(features.values), source=source, out=out, quiet=True)
    other = np.asarray(features.values) * 2
    with pytest.raises(ValueError, match=r"differs in teacher.*'weights': 'values:"):
        evaluate(ProtoNet(), sampler, other, source=source, out=out, quiet=True)
