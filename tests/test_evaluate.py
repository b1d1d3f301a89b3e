import json

import numpy as np
import pytest

from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import EpisodeFileError, EpisodeSampler, save_episodes
from fewshot_tcs.evaluate import evaluate
from fewshot_tcs.features import FeatureSet, pixel_features
from fewshot_tcs.methods import ProtoNet
from fewshot_tcs.results import confidence_interval


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

    def __init__(self, die_at=None):
        super().__init__()
        self.fits = 0
        self.die_at = die_at

    def fit(self, support, y=None, unlabeled=None):
        if self.fits == self.die_at:
            raise KeyboardInterrupt
        self.fits += 1
        return super().fit(support, y, unlabeled)


def test_a_killed_run_resumes_without_recomputing(toy, tmp_path):
    source, features = toy
    sampler = EpisodeSampler(source, 5, 2, n_query=5, n_episodes=12)
    out = tmp_path / "results.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate(Counting(die_at=7), sampler, features, out=out, quiet=True)
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
