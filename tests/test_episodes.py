import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from torch.utils.data import DataLoader

from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import (
    Episode,
    EpisodeFileError,
    EpisodeSampler,
    load_episodes,
    save_episodes,
)


@pytest.fixture
def source():
    """10 classes x 30 tiny images; class 9 has only 8."""
    labels = np.concatenate([np.repeat(np.arange(9), 30), np.full(8, 9)])
    images = np.random.default_rng(0).integers(0, 255, (len(labels), 4, 4), dtype=np.uint8)
    return ArraySource(images, labels, class_names=[f"c{k}" for k in range(10)], name="toy")


def test_counts_labels_and_disjointness(source):
    sampler = EpisodeSampler(
        source, n_way=5, k_shot=3, n_query=4, n_unlabeled=2, n_episodes=20, seed=1, skip_small_classes=True
    )
    for episode in sampler.episodes():
        assert len(episode.classes) == len(set(episode.classes)) == 5
        assert len(episode.support) == 15 and len(episode.query) == 20 and len(episode.unlabeled) == 10
        assert episode.support_labels == tuple(np.repeat(np.arange(5), 3))
        assert episode.query_labels == tuple(np.repeat(np.arange(5), 4))
        groups = [set(episode.support), set(episode.query), set(episode.unlabeled)]
        assert sum(map(len, groups)) == len(set().union(*groups))
        for ids, labels in (
            (episode.support, episode.support_labels),
            (episode.query, episode.query_labels),
            (episode.unlabeled, episode.unlabeled_labels),
        ):
            true = source.labels[source.index_of(ids)]
            assert [source.classes[t] for t in true] == [episode.classes[y] for y in labels]


def test_iteration_yields_positions_usable_by_a_dataloader(source):
    sampler = EpisodeSampler(source, 3, 2, n_query=1, n_episodes=4, seed=0, skip_small_classes=True)
    episodes = list(sampler.episodes())
    for positions, episode in zip(sampler, episodes, strict=True):
        assert [source.ids[p] for p in positions] == list(episode.support + episode.query)
    loader = DataLoader(source.with_transform(lambda im: np.asarray(im, np.float32)), batch_sampler=sampler)
    images, labels = next(iter(loader))
    assert images.shape == (9, 4, 4) and len(loader) == 4


def test_same_seed_same_episodes_other_seed_other_episodes(source):
    a = [e.key for e in EpisodeSampler(source, 5, 1, n_episodes=10, seed=3, skip_small_classes=True).episodes()]
    b = [e.key for e in EpisodeSampler(source, 5, 1, n_episodes=10, seed=3, skip_small_classes=True).episodes()]
    c = [e.key for e in EpisodeSampler(source, 5, 1, n_episodes=10, seed=4, skip_small_classes=True).episodes()]
    assert a == b and a != c
    assert len(set(a)) == 10


def test_episode_does_not_depend_on_the_number_of_episodes(source):
    short = EpisodeSampler(source, 5, 1, n_episodes=3, skip_small_classes=True)
    long = EpisodeSampler(source, 5, 1, n_episodes=50, skip_small_classes=True)
    assert [short[i].key for i in range(3)] == [long[i].key for i in range(3)]


SCRIPT = """
import sys
from fewshot_tcs.data import omniglot
from fewshot_tcs.episodes import EpisodeSampler, save_episodes
source = omniglot("small", root=sys.argv[1])
save_episodes(EpisodeSampler(source, 5, 5, n_episodes=600, seed=0).episodes(), sys.argv[2])
"""


def test_omniglot_episodes_identical_across_processes(omniglot_dir, tmp_path):
    digests = []
    for hash_seed in ("1", "12345"):
        out = tmp_path / f"episodes-{hash_seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", SCRIPT, str(omniglot_dir), str(out)], check=True, env=env)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        assert len(out.read_text().splitlines()) == 600
    assert digests[0] == digests[1]


def test_class_too_small_names_class_and_counts(source):
    with pytest.raises(ValueError, match="class 'c9' has 8 image\\(s\\); 5-shot with 15 queries needs 20"):
        EpisodeSampler(source, 5, 5)
    sampler = EpisodeSampler(source, 5, 5, skip_small_classes=True)
    assert 9 not in sampler.eligible


def test_too_many_ways(source):
    with pytest.raises(ValueError, match="11-way episodes need 11 classes .* only 10 of 10"):
        EpisodeSampler(source, 11, 1, n_query=1)
    with pytest.raises(ValueError, match="10-way .* only 9 of 10"):
        EpisodeSampler(source, 10, 5, skip_small_classes=True)


@pytest.mark.parametrize(
    "kwargs", [{"n_way": 1}, {"k_shot": 0}, {"n_query": 0}, {"n_episodes": 0}, {"n_unlabeled": -1}, {"k_shot": 1.5}]
)
def test_invalid_sizes(source, kwargs):
    args = {"n_way": 5, "k_shot": 1, **kwargs}
    with pytest.raises(ValueError, match="must be an integer"):
        EpisodeSampler(source, **args)


def test_episode_file_round_trip(source, tmp_path):
    sampler = EpisodeSampler(source, 4, 2, n_query=3, n_unlabeled=1, n_episodes=7, seed=9, skip_small_classes=True)
    path = save_episodes(sampler.episodes(), tmp_path / "sub" / "eps.jsonl")
    loaded = load_episodes(path, source)
    assert loaded == list(sampler.episodes())
    record = json.loads(path.read_text().splitlines()[0])
    assert {"dataset", "split", "support", "support_labels", "query", "query_labels", "seed", "fingerprint"} <= set(
        record
    )
    assert record["fingerprint"] == source.fingerprint()


def test_episode_file_from_other_data_fails_clearly(source, tmp_path):
    path = save_episodes(
        EpisodeSampler(source, 4, 2, n_episodes=3, skip_small_classes=True).episodes(), tmp_path / "eps.jsonl"
    )
    other = ArraySource(np.zeros((50, 4, 4), np.uint8), np.arange(50) % 5, name="other")
    with pytest.raises(EpisodeFileError, match="sampled from toy .* but other has fingerprint"):
        load_episodes(path, other)


def test_malformed_episode_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"index": 0}\nnot json\n')
    with pytest.raises(EpisodeFileError, match="bad.jsonl:2 is not an episode record"):
        load_episodes(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(EpisodeFileError, match="holds no episodes"):
        load_episodes(empty)
    with pytest.raises(FileNotFoundError):
        load_episodes(tmp_path / "absent.jsonl")


def test_episode_key_tracks_content():
    base = dict(
        index=0, seed=0, classes=("a", "b"), support=("1", "2"), support_labels=(0, 1), query=("3",), query_labels=(1,)
    )
    assert Episode(**base).key == Episode(**{**base, "index": 5}).key
    assert Episode(**base).key != Episode(**{**base, "query": ("4",)}).key


def test_unlabelled_images_from_another_split_and_the_source_that_holds_them(tmp_path):
    from fewshot_tcs.data import ArraySource, ConcatSource
    from fewshot_tcs.episodes import episode_source

    rng = np.random.default_rng(0)
    test = ArraySource(rng.integers(0, 255, (30, 8, 8, 3), dtype=np.uint8), np.repeat([0, 1, 2], 10), name="toy")
    train = ArraySource(rng.integers(0, 255, (60, 8, 8, 3), dtype=np.uint8), np.repeat([0, 1, 2], 20), name="toy")
    train.ids = tuple(f"train/{i}" for i in train.ids)  # two splits of a dataset never share ids
    train.split, test.split = "train", "test"
    sampler = EpisodeSampler(test, 3, 2, n_query=3, n_unlabeled=15, n_episodes=4, unlabeled_source=train)
    episodes = list(sampler.episodes())
    for episode in episodes:
        assert all(i.startswith("train/") for i in episode.unlabeled) and len(episode.unlabeled) == 45
        assert not any(i.startswith("train/") for i in episode.support + episode.query)
        labels_of = dict(zip(train.ids, train.labels, strict=True))
        assert [episode.classes[k] for k in episode.unlabeled_labels] == [
            train.classes[labels_of[i]] for i in episode.unlabeled
        ]
        assert episode.split == "test" and episode.unlabeled_split == "train"
    path = save_episodes(episodes, tmp_path / "e.jsonl")
    assert load_episodes(path, ConcatSource([test, train]))[0] == episodes[0]
    assert episode_source(episodes, ConcatSource([test, train])).split == "test+train"
    with pytest.raises(ValueError, match="fewer than 25"):
        EpisodeSampler(test, 3, 2, n_query=3, n_unlabeled=25, unlabeled_source=train)
