import json

import numpy as np
import pytest

from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import load_episodes, named_episodes
from fewshot_tcs.evaluation.benchmark import allway_benchmark, allway_tasks, benchmark
from fewshot_tcs.methods import ProtoNet

TEACHER = "timm:resnet10t"


@pytest.fixture
def colours():
    """6 classes x 20 tiny images, each class its own colour, so any teacher separates them."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 20)
    palette = rng.integers(0, 255, (6, 3))
    images = np.clip(palette[labels][:, None, None, :] + rng.integers(-20, 20, (120, 16, 16, 3)), 0, 255)
    return ArraySource(images.astype(np.uint8), labels, name="colours")


def test_every_method_on_the_same_episodes(colours, tmp_path):
    result = benchmark(
        colours,
        methods=["protonet", "logistic", "tcs-probe"],
        backbone=TEACHER,
        shots=(1, 5),
        n_episodes=6,
        n_query=5,
        pretrained=False,
        cache_dir=tmp_path,
        out=tmp_path / "r",
        quiet=True,
    )
    assert set(result.results) == {(m, k) for m in ("protonet", "logistic", "tcs-probe") for k in (1, 5)}
    rows = result.rows()
    assert all(r["n"] == 6 and 0 <= r["mean"] <= 1 for r in rows)
    assert result.results[("protonet", 5)].episodes.tolist() == result.results[("logistic", 5)].episodes.tolist()
    assert (tmp_path / "r" / "colours-5w5s.jsonl").is_file()


def test_an_unknown_method_fails_before_the_teacher_pass(colours, monkeypatch):
    import sys

    monkeypatch.setattr(
        sys.modules["fewshot_tcs.evaluation.benchmark"],
        "teacher_pass",
        lambda *a, **k: pytest.fail("the teacher pass ran"),
    )
    with pytest.raises(ValueError, match="unknown method 'protonett'. Did you mean"):
        benchmark(colours, methods=["protonet", "protonett"], backbone=TEACHER, n_episodes=2, pretrained=False)


def test_committed_episode_files_by_name():
    for name in (
        "omniglot-small/5w1s",
        "omniglot-small/5w5s",
        "omniglot-small/20w1s",
        "fashion-mnist/5w1s",
        "fashion-mnist/5w5s",
        "cifar10/5w1s",
        "cifar10/5w5s",
    ):
        episodes = load_episodes(named_episodes(name))
        assert len(episodes) == 600 and episodes[0].fingerprint
    with pytest.raises(FileNotFoundError, match="shipped: .*omniglot-small/5w5s"):
        named_episodes("omniglot-small/9w9s")


def test_allway_tasks_take_exactly_k_per_class_and_differ_by_seed(colours):
    tasks = allway_tasks(colours, 3, seeds=[0, 1])
    for task in tasks:
        assert np.bincount(task.support_labels).tolist() == [3] * 6
        assert len(set(task.support)) == 18
    assert tasks[0].support != tasks[1].support
    with pytest.raises(ValueError, match="has 20 training images; 21-shot"):
        allway_tasks(colours, 21, seeds=[0])


def test_allway_benchmark_tests_on_the_whole_test_split(colours, tmp_path):
    train = colours.subset(np.flatnonzero(np.arange(120) % 20 < 15))
    test = colours.subset(np.flatnonzero(np.arange(120) % 20 >= 15))
    results = allway_benchmark(
        train,
        test,
        methods=["protonet"],
        backbone=TEACHER,
        shots=(1, 2),
        seeds=(0, 1),
        pretrained=False,
        cache_dir=tmp_path,
        quiet=True,
    )
    result = results[("protonet", 2)]
    assert result.n == 2 and result.protocol["test_items"] == 30 and result.protocol["n_way"] == 6


def test_allway_benchmark_trains_students_on_the_support_images_and_resumes(colours, tmp_path):
    train = colours.subset(np.flatnonzero(np.arange(120) % 20 < 15))
    test = colours.subset(np.flatnonzero(np.arange(120) % 20 >= 15))
    settings = dict(
        student="timm:lcnet_050",
        student_pretrained=False,
        teacher_pretrained=False,
        image_size=24,
        steps=2,
        batch_size=4,
        n_components=4,
        teacher_views=1,
    )
    run = dict(
        backbone=TEACHER,
        shots=(2,),
        seeds=(0, 1),
        views=1,
        method_params=settings,
        out=tmp_path / "r",
        pretrained=False,
        cache_dir=tmp_path,
        quiet=True,
    )
    results = allway_benchmark(train, test, methods=["student-tcs-kd", "logistic-cv"], **run)
    student = results[("student-tcs-kd", 2)]
    assert student.n == 2 and student.protocol["test_items"] == 30 and 0 <= student.mean <= 1
    records = (tmp_path / "r" / "allway-2s.jsonl").read_text().splitlines()
    assert len(records) == 4
    resolved = {r["method"]: r.get("resolved") for r in map(json.loads, records)}
    # What "auto" became is kept beside the settings as given (a student from scratch: its rate 3e-2).
    assert resolved["logistic-cv"] is None and resolved["student-tcs-kd"]["lr"] == 0.03
    assert resolved["student-tcs-kd"]["image_size"] == 24 and "lambda_mimic" in resolved["student-tcs-kd"]
    again = allway_benchmark(train, test, methods=["student-tcs-kd", "logistic-cv"], **run)
    assert (tmp_path / "r" / "allway-2s.jsonl").read_text().splitlines() == records  # resumed, nothing retrained
    np.testing.assert_array_equal(again[("student-tcs-kd", 2)].accuracies, student.accuracies)


def test_records_say_what_made_them_and_a_rerun_with_other_settings_is_refused(colours, tmp_path, caplog):
    import json

    common = dict(shots=(2,), n_episodes=3, n_query=5, pretrained=False, cache_dir=tmp_path, quiet=True)
    out = tmp_path / "r"
    benchmark(colours, methods=["protonet"], backbone=TEACHER, out=out, **common)
    record = json.loads((out / "colours-5w2s.jsonl").read_text().splitlines()[0])
    assert record["run"]["teacher"] == [{"backbone": TEACHER, "weights": "random-init:0", "dtype": "float32"}]
    assert record["run"]["protocol"] == {"dataset": "colours", "n_way": 5, "k_shot": 2, "n_query": 5, "n_unlabeled": 0}
    assert record["settings"]["center"] is False and record["settings"]["class"].endswith(".ProtoNet")

    # The same run resumes; another method joins the file; the case, another teacher, is refused.
    benchmark(colours, methods=["protonet", "logistic"], backbone=TEACHER, out=out, **common)
    with pytest.raises(ValueError, match=r"differs in teacher.*timm:resnet10t.*timm:lcnet_050.*another --out"):
        benchmark(colours, methods=["protonet"], backbone="timm:lcnet_050", out=out, **common)
    with pytest.raises(ValueError, match=r"holds protonet results .* differs in center: False != True"):
        benchmark(colours, methods=[ProtoNet(center=True)], backbone=TEACHER, out=out, **common)
    with pytest.raises(ValueError, match=r"differs in teacher.*'dtype': 'float32'.*'dtype': 'float16'"):
        benchmark(colours, methods=["protonet"], backbone=TEACHER, out=out, dtype="float16", **common)

    # Records written before provenance are reused, with a warning rather than silently.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    lines = (out / "colours-5w2s.jsonl").read_text().splitlines()
    stripped = [{k: v for k, v in json.loads(line).items() if k not in ("run", "settings")} for line in lines]
    (legacy / "colours-5w2s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stripped))
    benchmark(colours, methods=["protonet"], backbone="timm:lcnet_050", out=legacy, **common)
    assert "reused without that check" in caplog.text


def test_allway_records_refuse_another_teacher(colours, tmp_path):
    train, test = colours.subset(np.arange(0, 120, 2)), colours.subset(np.arange(1, 120, 2))
    common = dict(shots=(1,), seeds=(0,), out=tmp_path / "r", pretrained=False, cache_dir=tmp_path, quiet=True)
    allway_benchmark(train, test, methods=["protonet"], backbone=TEACHER, **common)
    allway_benchmark(train, test, methods=["protonet"], backbone=TEACHER, **common)  # resumes
    with pytest.raises(ValueError, match="differs in teacher"):
        allway_benchmark(train, test, methods=["protonet"], backbone="timm:lcnet_050", **common)
    with pytest.raises(ValueError, match="differs in protocol.test"):
        allway_benchmark(train, train, methods=["protonet"], backbone=TEACHER, **common)
