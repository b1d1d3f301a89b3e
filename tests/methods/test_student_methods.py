"""The student methods on the evaluator's interface, on tiny images with small random networks."""

import numpy as np
import pytest
import torch

from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import EpisodeSampler
from fewshot_tcs.evaluation.evaluate import evaluate
from fewshot_tcs.features import teacher_pass
from fewshot_tcs.methods import StudentCE, StudentKD, StudentTCS, StudentTCSKD

TEACHER = "timm:resnet10t"
SETTINGS = dict(
    backbone=TEACHER,
    teacher_pretrained=False,
    student="timm:lcnet_050",
    student_pretrained=False,
    image_size=24,
    steps=3,
    batch_size=4,
    n_components=6,
    keep=3,
    select_every=1,
    teacher_views=2,
)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 8)
    images = rng.integers(0, 255, (32, 20, 20, 3), dtype=np.uint8)
    source = ArraySource(images, labels, name="toy")
    features = teacher_pass(TEACHER, source, views=2, pretrained=False, cache_dir=None, quiet=True)
    sampler = EpisodeSampler(source, 3, 2, n_query=2, n_unlabeled=2, n_episodes=2, seed=0)
    return source, features, sampler


@pytest.mark.parametrize(
    "method",
    [
        StudentTCSKD(**SETTINGS),
        StudentTCS(**SETTINGS),
        StudentCE(**SETTINGS),
        StudentKD(teacher_in_loop=False, **SETTINGS),
        StudentKD(teacher_in_loop=True, **SETTINGS),
    ],
    ids=["tcs-kd", "tcs", "ce", "kd-cached", "kd-teacher-in-loop"],
)
def test_student_methods_run_on_episodes(task, method):
    source, features, sampler = task
    result = evaluate(method, sampler, features, source=source, quiet=True)
    assert result.n == 2 and 0 <= result.mean <= 1
    assert method.predict_proba(_queries(source, sampler)).shape == (6, 3)


def test_episode_records_keep_what_auto_settings_became(task, tmp_path):
    import json

    source, features, sampler = task
    evaluate(StudentTCSKD(**SETTINGS), sampler, features, source=source, out=tmp_path / "r.jsonl", quiet=True)
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert records[0]["settings"]["lr"] == "auto"  # as given: what resuming compares
    assert {r["resolved"]["lr"] for r in records} == {0.03}  # as it ran: a student from scratch
    assert records[0]["resolved"]["readout"] == "coord-probe"  # two labelled images a class, objective tcs-kd
    assert records[0]["settings"]["whiten"] == "auto" and records[0]["resolved"]["whiten"] is False  # 3 classes


def _queries(source, sampler):
    from fewshot_tcs.methods import ItemSet

    episode = sampler[1]
    return ItemSet(images=source.subset(source.index_of(episode.query)))


def test_student_methods_need_images_and_features(task):
    source, features, sampler = task
    with pytest.raises(ValueError, match="pass features="):
        evaluate(StudentTCS(**SETTINGS), sampler, source=source, quiet=True)
    with pytest.raises(ValueError, match="trains on images: pass source="):
        evaluate(StudentTCS(**SETTINGS), sampler, features, quiet=True)


def test_kd_without_the_teacher_needs_cached_views(task):
    source, _, sampler = task
    plain = teacher_pass(TEACHER, source, pretrained=False, quiet=True)
    with pytest.raises(ValueError, match="needs the teacher's cached views"):
        evaluate(StudentKD(teacher_in_loop=False, **SETTINGS), sampler, plain, source=source, quiet=True)


def test_kd_probe_c_sets_how_sharp_the_soft_targets_are():
    from fewshot_tcs.methods import ItemSet

    rng = np.random.default_rng(0)
    support = ItemSet(features=rng.normal(size=(12, 8)).astype(np.float32), labels=np.repeat(np.arange(3), 4))
    features = torch.as_tensor(support.features)
    soft = {}
    for c in (1.0, 100.0):
        method = StudentKD(probe_C=c, temperature=1.0, teacher_in_loop=False, **SETTINGS)
        objective = method._classifier(support).kd_objective_
        soft[c] = objective._soft(features).max(dim=1).values.mean()
    assert StudentKD().probe_C == 100.0
    assert soft[100.0] > soft[1.0] + 0.2


def test_kd_soft_targets_of_two_classes_are_the_probes_probabilities():
    from fewshot_tcs.features import l2_normalize
    from fewshot_tcs.methods import ItemSet, LogisticProbe

    rng = np.random.default_rng(0)
    support = ItemSet(features=rng.normal(size=(8, 8)).astype(np.float32), labels=np.repeat(np.arange(2), 4))
    method = StudentKD(temperature=1.0, teacher_in_loop=False, **SETTINGS)
    objective = method._classifier(support).kd_objective_
    soft = objective._soft(torch.as_tensor(support.features)).numpy()
    expected = LogisticProbe(C=method.probe_C).fit(support).model_.predict_proba(l2_normalize(support.features))
    assert soft.shape == (8, 2), "one probability per class, not scikit-learn's single binary score"
    np.testing.assert_allclose(soft, expected, atol=1e-4)
