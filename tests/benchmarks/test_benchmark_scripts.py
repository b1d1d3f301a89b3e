"""Smoke tests of the scripts in benchmarks/ at tiny sizes: they run and report; no timing is asserted."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is executed
    spec.loader.exec_module(module)
    return module


def test_episode_throughput(capsys):
    summary = script("episode_throughput").main(
        [
            "--episodes",
            "40",
            "--loop-episodes",
            "10",
            "--items",
            "200",
            "--dim",
            "16",
            "--classes",
            "10",
            "--threads",
            "1",
        ]
    )
    assert set(summary) == {"protonet", "tcs-probe"}
    assert all(s["speedup"] > 0 and s["batched_eps"] > 0 for s in summary.values())
    assert "extrapolated" in capsys.readouterr().out


def test_inference_speed_eager(capsys):
    speeds = script("inference_speed").main(
        ["--runtimes", "eager", "--batch-size", "1", "--repeats", "1", "--threads", "1"]
    )
    assert [list(s) for s in speeds.values()] == [["eager"], ["eager"]]
    assert "student / teacher, eager" in capsys.readouterr().out


@pytest.mark.slow
def test_inference_speed_every_runtime():
    speeds = script("inference_speed").main(["--batch-size", "1", "--repeats", "1", "--threads", "1"])
    assert all(set(s) == {"eager", "torchscript", "onnxruntime"} for s in speeds.values())


@pytest.mark.slow
def test_cache_rerun(capsys):
    ratio = script("cache_rerun").main(
        ["--dataset", "random", "--classes", "6", "--per-class", "4", "--shots", "1", "--episodes", "2"]
        + ["--n-query", "2", "--backbone", "efficientnet_lite0"]
    )
    assert ratio > 1
    assert "rerun speed-up" in capsys.readouterr().out


@pytest.mark.slow
def test_distill_cost(capsys):
    ratios = script("distill_cost").main(
        ["--teachers", "efficientnet_lite0", "--steps", "1", "--batch-size", "2", "--shot", "1", "--unlabeled", "1"]
        + ["--image-size", "32", "--threads", "1"]
    )
    assert set(ratios["efficientnet_lite0"]) >= {"time", "time_training", "memory", "memory_training"}
    assert "teacher pass counted" in capsys.readouterr().out


def test_tcs_quality_report_compares_on_shared_episodes(tmp_path, monkeypatch):
    import json

    quality = script("tcs_quality")
    monkeypatch.setattr(quality, "RESULTS", tmp_path)

    def record(method, episode, accuracy):
        return {"method": method, "episode": episode, "accuracy": accuracy, "fit_seconds": 1.0}

    default, other = f"student-tcs/{quality.READOUT}", f"student-tcs/{quality.OTHER_READOUT}"
    rows = [record("protonet", e, 1.0) for e in range(4)] + [record(default, e, 0.5) for e in range(3)]
    rows += [record(other, e, 0.25 * (1 + e % 2)) for e in range(3)] + [record("student-ce", e, 0.25) for e in range(3)]
    rows += [record("student-kd/teacher-in-loop", 0, 0.75)]
    killed_mid_write = '{"method": "protonet", "epis'
    (tmp_path / f"{quality.MAIN.name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + killed_mid_write)
    table = quality.report()
    assert "(3 identical episodes for every method)" in table, "episode 3 lacks a student result"
    assert "| protonet | 100.00 +- 0.00 | 3 |" in table
    assert f"| {other} | 33.33 +- " in table, "both readouts are rows of the main table"
    assert f"{default} − student-ce +25.00 +- 0.00" in table, "paired episode by episode"
    assert f"{other} − {default} -16.67 +- " in table
    once = next(line for line in table.splitlines() if line.startswith("| student-kd/teacher-in-loop"))
    assert once == (
        "| student-kd/teacher-in-loop | 75.00 (one episode) | 1 | 1.00 | 50.00 (one episode) "
        "| +25.00 (one episode) | - |"
    ), "paired with the tuned TCS on its episode; no student-kd records to pair with"
    assert "**Summary**" not in table, "a part summarises only once every method has run"

    part = quality.PARTS[1]
    names = [name for name, _, cap in quality.methods_for(part) if cap is None]
    rows = [record(name, e, 0.75 if name == default else 0.5) for name in names for e in range(2)]
    (tmp_path / f"{part.name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = next(line for line in quality.report().splitlines() if line.startswith(f"| {part.name} |"))
    assert summary.startswith(
        f"| {part.name} | 2 | 50.00 +- 0.00 | 50.00 +- 0.00 | 50.00 +- 0.00 | 75.00 +- 0.00 | 50.00 +- 0.00 |"
    )
    assert summary.endswith("| +25.00 +- 0.00 | -25.00 +- 0.00 | -25.00 +- 0.00 |"), "TCS-CE, KD-TCS, readouts"


def test_tcs_sweep_runs_named_configs_on_shared_episodes(tmp_path, monkeypatch, capsys):
    import numpy as np

    from fewshot_tcs.data import ArraySource

    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the sweep imports tcs_quality as a sibling script
    quality = script("tcs_quality")
    monkeypatch.setitem(sys.modules, "tcs_quality", quality)
    sweep = script("tcs_sweep")
    pixels = np.random.default_rng(0).integers(0, 255, (100, 16, 16), dtype=np.uint8)
    monkeypatch.setattr(sweep, "load_source", lambda name: ArraySource(pixels, np.repeat(np.arange(5), 20)))
    monkeypatch.setattr(quality, "TEACHERS", {"ensemble": ["efficientnet_lite0"]})
    monkeypatch.setattr(
        quality, "STUDENTS", {"mnv2-pretrained": dict(student="timm:lcnet_050", student_pretrained=False)}
    )
    monkeypatch.setattr(quality, "VIEWS", 1)
    monkeypatch.setattr(quality, "STUDENT_SETTINGS", dict(image_size=16, steps=2, batch_size=4, teacher_views=1))
    argv = ["--episodes", "1", "--out", str(tmp_path), "--config", "ce", "method=ce"]
    argv += ["--config", "tcs-raw", "normalize_mimic=false", "lambda_mimic=1"]
    means = sweep.main(argv)
    assert set(means) == {"ce", "tcs-raw"} and all(0 <= m <= 1 for m in means.values())
    lines = (tmp_path / f"{quality.MAIN.name}.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert sweep.main(argv) == means, "a rerun reads the finished records"
    assert len((tmp_path / f"{quality.MAIN.name}.jsonl").read_text().splitlines()) == 2
    assert "tcs-raw" in capsys.readouterr().out


def test_tcs_quality_reads_the_other_readout_from_the_same_training(tmp_path, monkeypatch):
    import numpy as np

    from fewshot_tcs.data import ArraySource
    from fewshot_tcs.evaluation.evaluate import evaluate
    from fewshot_tcs.features import teacher_pass
    from fewshot_tcs.methods import StudentTCS

    quality = script("tcs_quality")
    pixels = np.random.default_rng(0).integers(0, 255, (100, 16, 16), dtype=np.uint8)
    source = ArraySource(pixels, np.repeat(np.arange(5), 20))
    features = teacher_pass(["efficientnet_lite0"], source, views=1, cache_dir=tmp_path, quiet=True)
    settings = dict(student="timm:lcnet_050", student_pretrained=False, image_size=16, steps=3, teacher_views=1)
    sampler = quality.sampler_for(quality.MAIN, source, 2)
    replays = {}
    run = dict(source=source, quiet=True)
    evaluate(quality.ReadoutRecorder(replays, **settings), sampler, features, **run)
    assert len(replays) == 2, "one entry per episode"
    replayed = evaluate(
        quality.ReadoutReplay(replays, readout=quality.OTHER_READOUT, **settings), sampler, features, **run
    )
    trained = evaluate(StudentTCS(readout=quality.OTHER_READOUT, **settings), sampler, features, **run)
    np.testing.assert_array_equal(replayed.accuracies, trained.accuracies)
    assert not replays, "each replay is used once"
    assert max(replayed.fit_seconds) < min(trained.fit_seconds)


def test_tcs_quality_gives_each_student_method_its_own_learning_rate():
    quality = script("tcs_quality")
    for student in quality.STUDENTS:
        part = next(p for p in quality.PARTS if p.student == student)
        rates = quality.STUDENTS[student]["lr"]
        methods = {name: method for name, method, _ in quality.methods_for(part)}
        assert methods["student-ce"].params["lr"] == rates["ce"]
        assert methods["student-kd"].params["lr"] == rates["kd"]
        assert methods[quality.TCS_DEFAULT].params["lr"] == methods[quality.TCS_OTHER].params["lr"] == rates["tcs"]


def test_the_main_parts_library_default_rows_set_only_the_teachers_student_and_views():
    from fewshot_tcs import TCSClassifier

    quality = script("tcs_quality")
    methods = {name: method for name, method, _ in quality.methods_for(quality.MAIN)}
    given = {"backbone", "student", "teacher_views"}
    assert set(methods["student-tcs-kd/library-defaults"].params) == given
    assert methods["student-tcs-kd/library-defaults"].objective == TCSClassifier().objective == "tcs-kd"
    recipes = {name: methods[name] for name in quality.PHOTO_RECIPE_ROWS}
    assert all(method.params == {**method.params, "train_stages": 2, "lr": 3e-4} for method in recipes.values())
    pinned = {name: {"lambda_mimic"} if name == "student-tcs-kd/photo-recipe" else set() for name in recipes}
    assert all(set(method.params) == given | {"train_stages", "lr"} | pinned[name] for name, method in recipes.items())
    assert recipes["student-tcs-kd/photo-recipe"].params["lambda_mimic"] == 1.0, "the mimic weight it ran at"
    assert recipes["student-tcs/photo-recipe"].objective == "tcs"
    assert recipes["student-kd/photo-recipe"].name == "student-kd"


def test_photo_quality_report_pairs_the_default_with_each_baseline(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    monkeypatch.setattr(photos, "SWEEP", tmp_path / "sweep")

    def record(method, episode, accuracy):
        return {"method": method, "episode": episode, "key": f"k{episode}", "accuracy": accuracy, "fit_seconds": 2.0}

    rows = [record(m, e, 0.5) for m in ["protonet", *photos.BASELINES] for e in range(3)]
    rows += [record(photos.DEFAULT, e, 0.5 + 0.1 * (e % 2)) for e in range(2)]
    (tmp_path / "cifar10-5w5s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "allway").mkdir()
    two_stages_kd, two_stages_default = photos.TWO_STAGES[1], photos.TWO_STAGES[-1]
    allway = [record("logistic-cv", 0, 0.9), record(photos.DEFAULT, 0, 0.63), record(photos.DEFAULT, 1, 0.63)]
    allway += [record(two_stages_default, e, 0.6) for e in (0, 1)]  # the default before train_stages=3
    allway += [record(photos.MIMIC_1, 0, 0.6), record(photos.MIMIC_1, 1, 0.6)]  # the sweep's base
    allway += [record(photos.DEFAULT_BN_MEASURED, e, 0.55) for e in (0, 1)]  # the default before bn_stats="auto"
    allway += [record(kd, 0, 0.7) for kd in (two_stages_kd, "student-kd/bn-measured")]
    allway += [record(kd, 1, 0.5) for kd in (two_stages_kd, "student-kd/bn-measured")]
    allway += [record(photos.KD_INTERPOLATED, e, 0.5) for e in (0, 1)]
    allway += [record(photos.NORMALISED_PROBE[-1], e, 0.62) for e in (0, 1)]  # the lead not adopted
    (tmp_path / "allway" / "allway-16s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in allway))
    (tmp_path / "allway-sweep" / "no-tailoring").mkdir(parents=True)
    swept = [record(photos.DEFAULT, 0, 0.65), record(photos.DEFAULT, 1, 0.65), record(photos.DEFAULT, 2, 0.1)]
    (tmp_path / "allway-sweep" / "no-tailoring" / "allway-16s.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in swept)
    )
    for name, accuracy in (("tkd-m0.1", 0.8), ("tkd-m1", 0.9)):
        (tmp_path / "binary" / name).mkdir(parents=True)
        binary = [record(photos.DEFAULT, e, accuracy) for e in range(2)]
        (tmp_path / "binary" / name / "cifar10-2w16s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in binary))
        (tmp_path / "allway-sweep" / name).mkdir()
        many = [record(photos.DEFAULT, e, accuracy - 0.1) for e in range(3)]
        (tmp_path / "allway-sweep" / name / "allway-100s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in many))
    (tmp_path / "binary" / "normalised-probe").mkdir()  # the lead not adopted, the default's records
    normalised = [record(photos.DEFAULT, e, 0.88) for e in range(2)]
    (tmp_path / "binary" / "normalised-probe" / "cifar10-2w16s.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in normalised)
    )
    default = [record(photos.DEFAULT_NO_INTERPOLATION, e, 0.85) for e in range(2)]
    default += [record(name, e, 0.9) for name in (two_stages_default, photos.DEFAULT) for e in range(2)]
    (tmp_path / "binary" / "baselines").mkdir()
    (tmp_path / "binary" / "baselines" / "cifar10-2w16s.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in default)
    )
    table = photos.report()
    assert "| CIFAR-10 all-way | 10 | 100 | 3 | 70.00 +- 0.00 | 80.00 +- 0.00 | -10.00 +- 0.00 |" in table
    assert f"| {photos.MIMIC_1} | 90.00 +- 0.00 | 2.0 | +0.00 +- 0.00 |" in table, "the two-class episodes' table"
    assert f"| {photos.DEFAULT_BN_MEASURED} | 80.00 +- 0.00 | 2.0 | +10.00 +- 0.00 |" in table, "config tkd-m0.1"
    bn_stats = "| CIFAR-10 episodes | 2 | 16 | student-tcs-kd | 2 | 80.00 +- 0.00 | 85.00 +- 0.00 | +5.00 +- 0.00 |"
    assert bn_stats in table, "batch-norm statistics kept against measured, paired"
    interpolated = "| CIFAR-10 episodes | 2 | 16 | student-tcs-kd | 2 | 85.00 +- 0.00 | 90.00 +- 0.00 | +5.00 +- 0.00 |"
    assert interpolated in table, "half of training's change kept against the whole, paired"
    normalised = "| CIFAR-10 all-way | 10 | 16 | student-tcs-kd | 2 | 60.00 +- 0.00 | 62.00 +- 0.00 | +2.00 +- 0.00 |"
    assert "probe readout on normalised features, by task" in table and normalised in table
    assert (
        "| CIFAR-10 episodes | 2 | 16 | student-tcs-kd | 2 | 90.00 +- 0.00 | 88.00 +- 0.00 | -2.00 +- 0.00 |" in table
    )
    stages = "| CIFAR-10 all-way | 10 | 16 | student-tcs-kd | 2 | 60.00 +- 0.00 | 63.00 +- 0.00 | +3.00 +- 0.00 |"
    assert "Stages trained by task" in table and stages in table, "3 stages against 2, paired"
    kd = "| CIFAR-10 all-way | 10 | 16 | student-kd | 2 | 60.00 +- 127.06 | 50.00 +- 0.00 | -10.00 +- 127.06 |"
    assert kd in table, "KD interpolated against KD as auto leaves it"
    assert "| CIFAR-10 all-way | 10 | 16 | student-kd | 2 | 60.00 +- " in table, "every student, not only the default"
    assert "| no-tailoring | 2 |" in table and "| tkd-m1 |" not in table, "the 16-shot sweep table reads 16 shots"
    assert "| no-tailoring | 2 | 65.00 +- 0.00 | +5.00 +- 0.00 | +5.00 +- " in table, "paired by the shared seeds"
    assert "| CIFAR-10 episodes | 2 | 16 | 2 | 80.00 +- 0.00 | 90.00 +- 0.00 | -10.00 +- 0.00 |" in table
    assert "| CIFAR-10 all-way | 10 | 16 | 2 | 55.00 +- 0.00 | 60.00 +- 0.00 | -5.00 +- 0.00 |" in table
    assert "CIFAR-10 5-way 5-shot" in table and "(2 identical episodes or seeds for every method)" in table
    assert "| student-ce | 50.00 +- 0.00 | 2.0 | +5.00 +- " in table, "paired on the shared episodes"
    assert f"| {photos.DEFAULT} | 55.00 +- " in table
    assert "all-way 16-shot" in table and "| logistic-cv | 90.00 (one episode or seed) | 2.0 | -27.00 (one" in table


def test_photo_quality_longer_run_pairs_with_the_default_where_it_ran_them(tmp_path, monkeypatch):
    photos = script("photo_quality")
    monkeypatch.setattr(photos, "SWEEP", tmp_path)  # no sweep records

    def runs(accuracy, episodes):
        return {e: {"accuracy": accuracy, "fit_seconds": 1.0} for e in range(episodes)}

    records = {
        "logistic-cv": runs(0.6, 2),
        photos.KD_TWO_STAGES: runs(0.6, 4),
        photos.DEFAULT_TWO_STAGES: runs(0.62, 4),
    }
    table = "\n".join(photos._longer_run_table(records))
    assert "(4 identical episodes" in table and f"| {photos.DEFAULT_TWO_STAGES} − method, paired |" in table
    assert f"| {photos.KD_TWO_STAGES} | 60.00 +- 0.00 | 1.0 | +2.00 +- 0.00 |" in table
    records |= {"student-kd": runs(0.63, 4), photos.DEFAULT: runs(0.65, 4)}
    table = "\n".join(photos._longer_run_table(records))
    assert f"| {photos.DEFAULT} − method, paired |" in table
    assert "| student-kd | 63.00 +- 0.00 | 1.0 | +2.00 +- 0.00 |" in table
    assert f"| {photos.DEFAULT_TWO_STAGES} | 62.00 +- 0.00 | 1.0 | +3.00 +- 0.00 |" in table
    assert photos._longer_run_table({m: runs(0.6, 4) for m in records}) == [], "no more episodes than the main table"
    records |= {"student-kd": runs(0.63, 6), photos.DEFAULT: runs(0.64, 6)}
    table = "\n".join(photos._longer_run_table(records))
    assert "KD and the default on every episode both ran** (6 identical" in table
    assert "| student-kd | 63.00 +- 0.00 | 1.0 | +1.00 +- 0.00 |" in table and "(4 identical episodes" in table


def test_photo_quality_reports_the_allway_targets_methods_on_every_seed_they_ran(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    (tmp_path / "allway").mkdir()

    def report_of(seeds: dict[str, int]) -> str:
        rows = [
            {"method": m, "episode": e, "key": f"16-shot seed {e}", "accuracy": 0.6 + 0.01 * (m == photos.DEFAULT)}
            | {"fit_seconds": 1.0}
            for m, n in seeds.items()
            for e in range(n)
        ]
        (tmp_path / "allway" / "allway-16s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return photos.report()

    table = report_of({"logistic-cv": 3, "student-ce": 3, "student-kd": 5, photos.DEFAULT: 5})
    assert "all-way 16-shot (10 classes, whole test split of 10,000)** (3 identical" in table
    more = table.split("the targets' methods on every seed run** (5 identical episodes or seeds")[1]
    assert "| student-kd | 60.00 +- 0.00 | 1.0 | +1.00 +- 0.00 |" in more and "student-ce" not in more
    assert "alone" not in table, "no seed from the first of ALLWAY_FRESH_SEEDS on"
    monkeypatch.setattr(photos, "ALLWAY_FRESH_SEEDS", (10, 12))
    table = report_of({"student-ce": 10, "student-kd": 14, photos.DEFAULT: 14})
    assert "the targets' methods on every seed run** (10 identical" in table
    alone = table.split("on seeds 10-11 alone** (2 identical episodes or seeds")[1]
    assert "| student-kd | 60.00 +- 0.00 | 1.0 | +1.00 +- 0.00 |" in alone and "student-ce" not in alone
    assert "on seeds 12-13 alone** (2 identical episodes or seeds" in table, "each batch up to the next"
    table = report_of({"student-ce": 12, "student-kd": 14, photos.DEFAULT: 14})
    assert "on seeds 10-11 alone** (2 identical" in table, "titled by the seeds every method ran"


def test_photo_quality_reports_whitened_coordinates_against_the_default_and_kd(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    monkeypatch.setattr(photos, "SWEEP", tmp_path / "sweep")
    monkeypatch.setattr(photos, "WHITEN_CHECK_FIRST_SEED", 2)

    def write(path, accuracies):
        rows = [
            {"method": m, "episode": e, "key": f"16-shot seed {e}", "accuracy": a, "fit_seconds": 1.0}
            for m, by_seed in accuracies.items()
            for e, a in by_seed.items()
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    default, kd = {0: 0.6, 1: 0.6, 2: 0.6, 3: 0.6}, {0: 0.61, 1: 0.61, 2: 0.59}
    write(tmp_path / "allway" / "allway-16s.jsonl", {photos.DEFAULT: default, "student-kd": kd})
    assert photos._whiten_table() == [], "no whitened records"
    whitened = {0: 0.62, 1: 0.63, 2: 0.63, 3: 0.64, 4: 0.7}
    write(tmp_path / "allway-sweep" / photos.WHITEN_CONFIG / "allway-16s.jsonl", {photos.DEFAULT: whitened})
    fits = [
        {"name": f"{family}{f'-seed{s}' * bool(s)}", "settings": {"seed": s}, "objective": "tcs-kd"}
        | {"val_accuracy": 0.9 + 0.01 * s, "readouts": {"probe": 0.92, "linear": 0.8}}
        for family in ("tkd-whiten", "tkd-probelinear")
        for s in (0, 1)
    ]
    (tmp_path / "hymenoptera-sweep.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fits))
    table = "\n".join(photos._whiten_table())
    screen = "| CIFAR-10 all-way 16-shot | screen, seeds 0-1 | 2 | 62.50 +- 6.35 | +2.50 +- 6.35 | +1.50 +- 6.35 |"
    assert screen in table
    check = "| CIFAR-10 all-way 16-shot | check written down before it ran, seeds 2-2 | 1 | 63.00 (one episode or seed)"
    assert check in table and "| +3.00 (one episode or seed) | +4.00 (one episode or seed) |" in table, "KD's seeds"
    assert "2-way" not in table and "5-way" not in table, "no records of those tasks"
    ants = "| ants and bees, all 245 photos | seeds 0-1 | 2 | 90.50 +- 6.35 | -1.50 +- 6.35 |  |"
    assert ants in table, "the whitened fits against the probe readout, the default's, of the same seeds"
    assert "16 a class" not in table


def test_photo_quality_reads_the_unwhitened_default_where_whiten_auto_changed_it(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    monkeypatch.setattr(photos, "SWEEP", tmp_path / "sweep")
    monkeypatch.setattr(photos, "FIVE_WAY_CHECK_FIRST_EPISODE", 2)
    name = f"cifar10-5w{photos.FIVE_WAY_SHOTS}s.jsonl"

    def write(path, accuracies):
        rows = [
            {"method": m, "episode": e, "key": f"episode {e}", "accuracy": a, "fit_seconds": 1.0}
            for m, a in accuracies.items()
            for e in range(4)
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    assert photos._five_way_table() == [], "no records"
    write(
        tmp_path / "five-way" / "baselines" / name,
        {"student-kd": 0.7, photos.UNWHITENED: 0.72, photos.DEFAULT: 0.75},
    )
    write(tmp_path / "five-way" / photos.WHITEN_CONFIG / name, {photos.DEFAULT: 0.74})
    table = "\n".join(photos._five_way_table())
    assert "queries a class (test split, none unlabelled)** (4 identical" in table
    assert "none unlabelled), episodes from 2 alone** (2 identical" in table
    assert "| student-kd | 70.00 +- 0.00 | 1.0 | +5.00 +- 0.00 |" in table
    assert f"| {photos.UNWHITENED} | 72.00 +- 0.00 | 1.0 | +3.00 +- 0.00 |" in table
    rows = [line for line in photos._whiten_table() if "5-way 16-shot" in line]
    assert rows == [
        "| CIFAR-10 5-way 16-shot | first check of its class-count rule, episodes 0-1 | 2 | 74.00 +- 0.00 "
        "| +2.00 +- 0.00 | +4.00 +- 0.00 |",
        "| CIFAR-10 5-way 16-shot | the rule's check written down before it ran, episodes 2-3 | 2 | 74.00 +- 0.00 "
        "| +2.00 +- 0.00 | +4.00 +- 0.00 |",
    ], "against the default's unwhitened records, not the whitened default"
    raw, whitened = {0: {"accuracy": 0.6}}, {0: {"accuracy": 0.7}}
    assert photos._before_whitening({photos.DEFAULT: whitened, photos.UNWHITENED: raw})[photos.DEFAULT] is raw
    assert photos._before_whitening({photos.DEFAULT: raw})[photos.DEFAULT] is raw


def test_photo_quality_reports_the_coord_probe_readout_against_the_readout_it_replaced(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    monkeypatch.setattr(photos, "SWEEP", tmp_path / "sweep")

    def write(path, accuracies, readout="probe"):
        rows = [
            {"method": m, "episode": e, "key": f"{m} {e}", "accuracy": a, "fit_seconds": 1.0}
            | {"resolved": {"readout": readout}}
            for m, by_episode in accuracies.items()
            for e, a in enumerate(by_episode)
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    default, kd = photos.DEFAULT, "student-kd"
    head = {photos.DEFAULT_LINEAR_HEAD: [0.6, 0.7, 0.8], default: [0.5] * 4, kd: [0.6, 0.6, 0.6]}
    write(tmp_path / "cifar10-5w5s.jsonl", head, readout="linear")  # the default's records through the head
    write(tmp_path / "sweep" / "tkd-coordprobe-now" / "cifar10-5w5s.jsonl", {default: [0.62, 0.72]})
    write(tmp_path / "allway" / "allway-16s.jsonl", {default: [0.65, 0.66], kd: [0.64]})
    write(tmp_path / "allway-sweep" / "coord-probe" / "allway-16s.jsonl", {default: [0.66, 0.67]})
    fits = [
        {"name": f"tkd-coordprobe{'-seed1' * s}", "settings": {"seed": s}, "objective": "tcs-kd"}
        | {"readouts": {"linear": 0.9, "probe": 0.94, "coord-probe": 0.93}}
        for s in (0, 1)
    ]
    (tmp_path / "hymenoptera-sweep.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fits))
    table = "\n".join(photos._coord_probe_table())
    assert "| CIFAR-10 5-way 5-shot | 2 | 67.00 +- " in table, "on the episodes both ran"
    assert "| linear | +2.00 +- 0.00 | +7.00 +- " in table, "against the default's readout there, and KD"
    assert "| CIFAR-10 all-way 16-shot | 2 | 66.50 +- " in table and "| probe | +1.00 +- 0.00 |  |" in table
    assert "2-way" not in table, "no two-class records"
    assert "| ants and bees, all 245 photos | 2 | 93.00 +- 0.00 | probe | -1.00 +- 0.00 |  |" in table
    assert "ants and bees, 16 a class" not in table and "40 a class" not in table
    assert "episodes 60 on" not in table, "no episode after the first look"
    monkeypatch.setattr(photos, "COORD_PROBE_FIRST_EPISODES", 1)
    table = "\n".join(photos._coord_probe_table())
    assert "| CIFAR-10 5-way 5-shot | 2 | 67.00 +- " in table, "the pooled row stays"
    assert "| CIFAR-10 5-way 5-shot, episodes 1 on | 1 | 72.00 (one episode or seed) | linear | +2.00 (" in table
    assert "all-way 16-shot, seeds" not in table, "the all-way second look starts at its own seed"
    monkeypatch.setattr(photos, "COORD_PROBE_FIRST_SEEDS", 1)
    assert "| CIFAR-10 all-way 16-shot, seeds 1 on | 1 | 67.00 (one episode or seed) | probe | +1.00 (" in "\n".join(
        photos._coord_probe_table()
    )


def test_photo_quality_reports_kd_and_the_default_on_the_check_episodes_alone(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    monkeypatch.setattr(photos, "KD_CHECK_FIRST_EPISODE", 2)
    accuracies = {"student-kd": [0.6, 0.6, 0.5, 0.5], photos.DEFAULT: [0.6, 0.6, 0.52, 0.54], "student-ce": [0.4] * 4}
    rows = [
        {"method": m, "episode": e, "key": f"episode {e}", "accuracy": a, "fit_seconds": 1.0}
        for m, by_episode in accuracies.items()
        for e, a in enumerate(by_episode)
    ]
    (tmp_path / "cifar10-5w5s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = photos.report()
    alone = table.split("KD and the default on episodes 2-3 alone** (2 identical episodes or seeds for every method)")
    assert len(alone) == 2 and "| student-kd | 50.00 +- 0.00 | 1.0 | +3.00 +- " in alone[1]
    assert "student-ce" not in alone[1].split("**")[0]
    monkeypatch.setattr(photos, "KD_CHECK_FIRST_EPISODE", 4)
    assert "alone**" not in photos.report(), "no episode from the check's first on"


def test_photo_quality_reports_kd_read_out_every_way_against_its_head_and_the_default(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    default = [
        {"method": photos.DEFAULT, "episode": e, "accuracy": a, "fit_seconds": 1.0}
        for e, a in ((3, 0.7), (4, 0.74), (5, 0.8))
    ]
    (tmp_path / "cifar10-5w5s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in default))
    assert "KD read out every way" not in photos.report(), "nothing to report before --part kd-readouts"
    readouts = {
        "4": {"linear": 0.7, "probe": 0.72},
        "3": {"linear": 0.6, "probe": 0.64},
        "9": {"linear": 0, "probe": 0},
    }
    (tmp_path / "readouts-kd.json").write_text(json.dumps(readouts))
    table = photos.report()
    assert "**KD read out every way, 5-way 5-shot episodes 3-4**" in table, "only the episodes the default ran"
    assert "| linear | 2 | 65.00 +- " in table and "| +0.00 +- 0.00 | +7.00 +- " in table
    assert "| probe | 2 | 68.00 +- " in table and "| +3.00 +- " in table and "| +4.00 +- " in table


def test_photo_quality_keeps_every_readout_from_one_call_and_answers_with_the_fit_s_own(monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    photos = script("photo_quality")
    monkeypatch.setattr(photos.KeepsEveryReadout, "predictions", [])
    calls = []

    def readout_logits(images):
        calls.append(images)
        return {"linear": np.array([[2.0, 0.0], [0.0, 1.0]]), "probe": np.array([[0.0, 1.0], [0.0, 3.0]])}

    method = object.__new__(photos.EveryReadout)
    method.model_ = SimpleNamespace(classes_=np.array(["cat", "dog"]), readout_="probe", readout_logits=readout_logits)
    assert list(method.predict(SimpleNamespace(images="the query"))) == ["dog", "dog"], "the fit's own readout"
    [kept] = photos.KeepsEveryReadout.predictions
    assert {r: list(p) for r, p in kept.items()} == {"linear": ["cat", "dog"], "probe": ["dog", "dog"]}
    assert calls == ["the query"], "one call serves every readout"


def test_photo_quality_kd_readouts_keeps_every_readout_of_kd_fits_by_episode(tmp_path, monkeypatch):
    import json
    from types import SimpleNamespace

    import numpy as np

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    episodes = [SimpleNamespace(index=i, query_labels=np.array([0, 1])) for i in range(4)]
    monkeypatch.setattr(photos, "load_episodes", lambda _: episodes)
    monkeypatch.setattr(photos, "named_episodes", lambda name: name)

    def fake_benchmark(source, methods, episodes, **_):
        [method] = methods
        assert isinstance(method, photos.StudentKD) and not method.teacher_in_loop, "KD as the tables run it"
        for e in episodes:
            photos.KeepsEveryReadout.predictions.append(
                {"linear": np.array([0, 0]), "probe": np.array([0, e.index % 2])}
            )

    monkeypatch.setattr(photos, "benchmark", fake_benchmark)
    photos.run_kd_readouts(2, 4)
    found = json.loads((tmp_path / "readouts-kd.json").read_text())
    assert found == {"2": {"linear": 0.5, "probe": 0.5}, "3": {"linear": 0.5, "probe": 1.0}}


def test_photo_quality_allway_runs_only_the_methods_named_on_the_seeds_asked(monkeypatch):
    photos = script("photo_quality")
    calls = []
    monkeypatch.setattr(photos, "load_source", lambda name, split: split)
    monkeypatch.setattr(
        photos, "allway_benchmark", lambda *_, methods, shots, seeds, **__: calls.append((methods, shots, seeds))
    )
    photos.run_allway(range(10), ["logistic-cv", "student-kd"])
    (students, student_shots, seeds), (features, feature_shots, _) = calls
    assert [m.name for m in students] == ["student-kd"] and student_shots == photos.ALLWAY_STUDENT_SHOTS
    assert features == ["logistic-cv"] and feature_shots == photos.ALLWAY_SHOTS and list(seeds) == list(range(10))
    with pytest.raises(SystemExit, match="unknown \\['student-kdd'\\]"):
        photos.run_allway(range(10), ["student-kdd"])
    assert len(calls) == 2, "a misspelt name stops before any method runs"


def test_photo_quality_allway_sweep_runs_each_config_on_the_seeds_asked(monkeypatch):
    photos = script("photo_quality")
    calls = []
    monkeypatch.setattr(photos, "load_source", lambda name, split: split)
    monkeypatch.setattr(
        photos,
        "allway_benchmark",
        lambda *_, methods, shots, seeds, out, **__: calls.append((methods, shots, seeds, out)),
    )
    photos.run_allway_sweep([["coord-probe", 'readout="coord-probe"']], 16, range(20, 30))
    [([method], shots, seeds, out)] = calls
    assert method.params["readout"] == "coord-probe" and shots == (16,) and list(seeds) == list(range(20, 30))
    assert out == photos.RESULTS / "allway-sweep" / "coord-probe"


def test_photo_quality_reports_crops_and_readouts_paired(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)

    def sweep(name, seed, linear, probe, **objective):
        readouts = {"linear": linear, "ncm": linear, "probe": probe}
        settings = {"seed": seed} if seed else {}
        return {"name": name, "settings": settings, "readouts": readouts, "val_accuracy": probe, **objective}

    newer = sweep("crop-auto", 0, 0.9, 0.95)
    newer["readouts"]["coord-probe"] = 0.9  # made after the readout existed; its twins were not
    records = [newer, sweep("crop-auto-seed1", 1, 0.92, 0.95)]
    records += [sweep("crop1-seed0", 0, 0.9, 0.9), sweep("crop1-seed1", 1, 0.9, 0.92), sweep("other", 2, 0.1, 0.1)]
    records += [sweep("tkd-default", 0, 0.9, 0.97, objective="tcs-kd"), sweep("tkd-default-seed1", 1, 0.9, 0.97)]
    records += [sweep("tkd-default-seed1", 1, 0.9, 0.97, objective="tcs-kd")]  # the first one, without, was tcs
    records += [sweep("crop-auto-seed2", 2, 0.1, 0.1, objective="tcs-kd"), sweep("crop1-seed2", 2, 0.9, 0.9)]
    records += [sweep(f"tkd-mimic0.1{'-seed1' * s}", s, 0.9, 0.93, objective="tcs-kd") for s in (0, 1)]
    records += [sweep(f"tkd-bnauto{'-seed1' * s}", s, 0.9, 0.95, objective="tcs-kd") for s in (0, 1)]
    records += [sweep(f"tkd-wise{'-seed1' * s}", s, 0.9, 0.96, objective="tcs-kd") for s in (0, 1)]
    (tmp_path / "hymenoptera-sweep.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    rows = [{"linear": 0.6, "ncm": 0.6, "probe": 0.5}, {"linear": 0.6, "ncm": 0.6, "probe": 0.7}]
    (tmp_path / "readouts.json").write_text(json.dumps({"cifar10-5w5s": rows}))
    crops = [{"backbone": "net", "size": 160, "crop": c, "val_accuracy": a} for c, a in ((1.0, 0.9), (0.65, 0.95))]
    (tmp_path / "frozen-crops.json").write_text(json.dumps(crops))
    (tmp_path / "binary" / "tkd-m0.1").mkdir(parents=True)
    (tmp_path / "binary" / "tkd-m0.1" / "cifar10-2w5s.jsonl").write_text("")  # its tkd-m1 twin not run yet
    table = photos.report()
    assert not (tmp_path / "binary" / "tkd-m1").exists(), "the report reads; it creates no folders"
    assert "over 2 seeds" in table, "seed 0 of crop-auto is the config without a seed setting"
    assert "| probe | 95.00 +- 0.00 | 91.00 +- " in table and "| +4.00 +- " in table
    assert "| coord-probe |" not in table, "a readout only some seeds' fits hold is left out"
    assert "| cifar10-5w5s | tcs-kd | 2 | 60.00 +- 0.00 | 60.00 +- 0.00 | 60.00 +- " in table
    assert "over 2 seeds, by objective" in table
    by_objective = "| probe | 93.00 +- 0.00 | 97.00 +- 0.00 | 95.00 +- 0.00 | -4.00 +- 0.00 | -2.00 +- 0.00 |"
    assert by_objective in table, "the default, mimic weight 1 and the paper's objective, paired by seed"
    by_task = "| ants and bees | 2 | 121 and 124 (all) | 2 | 93.00 +- 0.00 | 97.00 +- 0.00 | -4.00 +- 0.00 |"
    assert by_task in table, "the mimic's weight by task: 0.1 against 1, paired by seed"
    bn_stats = (
        "| ants and bees | 2 | 121 and 124 (all) | student-tcs-kd | 2 | 93.00 +- 0.00 | 95.00 +- 0.00 | +2.00 +- "
    )
    assert bn_stats in table, "the default with its batch-norm statistics kept, against measured, paired by seed"
    interpolated = bn_stats.replace("93.00 +- 0.00 | 95.00", "95.00 +- 0.00 | 96.00").replace("+2.00", "+1.00")
    assert interpolated in table, "half of training's change kept against the whole, paired by seed"
    assert "| net | 160 | 90.00 | 95.00 |" in table
    assert "What `fewshot-tcs fit` ships" not in table, "no folder-ship records yet"
    ships = [("untrained", 0.96, 0.93, 0.96), ("trained", 0.94, 0.94, 0.96)]
    records = [
        dict(seed=k, shipped=s, shipped_val=v, trained_val=t, untrained_val=u) for k, (s, v, t, u) in enumerate(ships)
    ]
    (tmp_path / "hymenoptera-ship.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    table = photos.report()
    assert "2 seeds, each its own folds and training; the untrained student shipped at 1 of them" in table
    assert "| what `fit` ships (`--ship best`) | 95.00 +- " in table
    assert "| the trained student (`--ship trained`) | 93.50 +- " in table and "| +1.50 +- " in table
    assert "| the untrained student | 96.00 +- 0.00 | -1.00 +- " in table
    assert "training 2 stages" not in table and "one held-out quarter" not in table, "no earlier records"
    quarter = [dict(r, shipped_val=0.92) for r in records]
    (tmp_path / photos.SHIP_QUARTER).write_text("".join(json.dumps(r) + "\n" for r in quarter))
    assert "| what `fit` shipped choosing on one held-out quarter | 92.00 +- 0.00 | +3.00 +- " in photos.report()
    earlier = [dict(r, shipped_val=0.9, trained_val=0.9) for r in records[:1]]
    (tmp_path / photos.SHIP_TWO_STAGES).write_text("".join(json.dumps(r) + "\n" for r in earlier))
    table = photos.report()
    assert "(`--part folder-ship`: 1 seeds," in table, "paired on the seeds all ran"
    assert "| what `fit` shipped training 2 stages (one quarter) | 90.00 (one episode or seed) | +6.00 (" in table
    assert "| what `fit` shipped choosing on one held-out quarter | 92.00 (one episode or seed) | +4.00 (" in table
    (tmp_path / photos.SHIP_TWO_STAGES).write_text(json.dumps(dict(earlier[0], seed=9)) + "\n")
    table = photos.report()
    assert "2 seeds," in table and "training 2 stages" not in table, "no shared seed: this run alone"


def test_teacher_pass_compares_the_runtimes(capsys):
    pytest.importorskip("onnxruntime", reason="the ONNX Runtime path needs the export extra")
    ratios = script("teacher_pass").main(
        ["--images", "6", "--batch-sizes", "4", "--threads", "1", "--backbones", "efficientnet_lite0"]
    )
    assert set(ratios) == {"efficientnet_lite0"} and ratios["efficientnet_lite0"] > 0
    out = capsys.readouterr().out
    assert "ONNX export" in out and "max |difference|" in out


@pytest.mark.slow
def test_fit_speed_runs_every_configuration(capsys):
    from fewshot_tcs.data.paths import find_data

    if find_data("cifar10/cifar10-jpg.zip") is None:
        pytest.skip("cifar10-jpg.zip is not in the data roots")
    results = script("fit_speed").main(["--classes", "2", "--per-class", "3", "--held-out", "4", "--threads", "1"])
    assert set(results) == {"before", "after, first fit", "after"}
    assert all(0 <= r["accuracy"] <= 1 and r["fit"] > 0 for r in results.values())


def test_photo_quality_episodes_runs_only_the_methods_named(monkeypatch):
    photos = script("photo_quality")
    calls = []
    monkeypatch.setattr(photos, "load_episodes", lambda path: list(range(100)))
    monkeypatch.setattr(photos, "benchmark", lambda source, methods, episodes, **_: calls.append((methods, episodes)))
    photos.run_episodes(60, 5, ["student-kd", "student-tcs-kd"])
    methods, episodes = calls[0]
    assert [m.name for m in methods] == ["student-kd", "student-tcs-kd"] and episodes == list(range(60))
    with pytest.raises(SystemExit, match="unknown \\['student-kdd'\\]; choose from"):
        photos.run_episodes(60, 5, ["student-kdd"])
    assert len(calls) == 1, "a misspelt name stops before any method runs"


def test_photo_quality_binary_runs_only_the_baselines_named(monkeypatch):
    photos = script("photo_quality")
    calls = []
    monkeypatch.setattr(photos, "benchmark", lambda source, methods, out, **_: calls.append((methods, out.name)))
    photos.run_binary_sweep([["tkd-x", "lr=0.001"]], ["student-kd"])
    (baselines, where), (swept, config) = calls
    assert [m.name for m in baselines] == ["student-kd"] and where == "baselines"
    assert config == "tkd-x" and swept[0].params["lr"] == 0.001
    with pytest.raises(SystemExit, match="unknown \\['student-tcs'\\]"):
        photos.run_binary_sweep([], ["student-tcs"])  # not a two-class baseline


def test_photo_quality_reports_the_five_by_ten_folder_beside_both_probes(tmp_path, monkeypatch):
    import json

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    assert "5 classes x 10 photos" not in photos.report(), "nothing before --part five-by-ten"
    record = {"classes": ["cat", "dog"], "test_images": 2000, "fit_seconds": 65.6, "shipped": "trained student"}
    record |= {"readout": "coord-probe", "student_default": 0.8125, "efficientnet_lite2_probe": 0.8}
    record |= {"draw": 0, "mobilenetv2_100_probe": 0.75}
    (tmp_path / "five-by-ten.jsonl").write_text(json.dumps(record) + "\n")
    line = photos.report().split("**5 classes x 10 photos**")[1].split("\n\n")[0]
    assert (
        "images of each of cat, dog (defaults; it shipped the trained student, read out through `coord-probe`" in line
    )
    assert "fit 66 s), scored on the 2,000 test images of those classes: 81.25 %" in line
    assert line.endswith("teacher's tuned probe 80.00 % and the student backbone's own probe at 224 px 75.00 %.")
    other = record | {"draw": 1, "classes": ["ant", "bee"], "student_default": 0.7, "shipped": "untrained student"}
    with open(tmp_path / "five-by-ten.jsonl", "a") as f:
        f.write(json.dumps(other | {"fit_seconds": 70.4}) + "\n")
    line = photos.report().split("**5 classes x 10 photos**")[1].split("\n\n")[0]
    assert "images of each of cat, dog" in line, "the first draw's sentence stays"
    assert (
        "Over 2 draws (each its own 5 classes and 50 photos; mean and 95% interval): the shipped student 75.62 +- "
        in line
    )
    assert "student − teacher's probe -4.38 +- " in line and "the trained student shipped in 1 of 2, fit 68 s" in line


def test_photo_quality_five_by_ten_fits_each_draw_not_yet_recorded(tmp_path, monkeypatch):
    import json
    from types import SimpleNamespace

    import numpy as np

    photos = script("photo_quality")
    monkeypatch.setattr(photos, "RESULTS", tmp_path)
    (tmp_path / "five-by-ten.jsonl").write_text(json.dumps({"draw": 0}) + "\n")
    drawn = []

    def write_folder(source, root, n_classes, per_class, seed):
        drawn.append((n_classes, per_class, seed))
        return root

    class Split:
        classes = ["cat", "dog", "emu"]

        def __init__(self, labels):
            self.labels = labels

        def __len__(self):
            return len(self.labels)

        def subset(self, keep):
            return Split(self.labels[keep])

    monkeypatch.setattr(photos, "load_source", lambda name, split: Split(np.array([0, 1, 2, 1])))
    monkeypatch.setattr(photos, "write_folder", write_folder)
    monkeypatch.setattr(photos, "fit_folder_seconds", lambda folder, out: 12.0)
    monkeypatch.setattr(photos, "FolderSource", lambda folder: SimpleNamespace(classes=["cat", "dog"]))
    model = SimpleNamespace(steps=120, readout_="coord-probe", predict=lambda images: np.array(["cat", "cat", "dog"]))
    monkeypatch.setattr(photos.TCSClassifier, "load", lambda path: model)
    monkeypatch.setattr(photos, "_backbone_probes", lambda train, test: {"efficientnet_lite2": 0.5})
    photos.run_five_by_ten(range(3))
    assert drawn == [(5, 10, 1), (5, 10, 2)], "draw 0 was recorded already"
    records = [json.loads(line) for line in (tmp_path / "five-by-ten.jsonl").read_text().splitlines()]
    assert [r["draw"] for r in records] == [0, 1, 2]
    assert records[1]["test_images"] == 3, "the test images of the folder's classes only"
    assert records[1]["student_default"] == 2 / 3 and records[1]["efficientnet_lite2_probe"] == 0.5


def test_backbone_probes_score_test_images_by_class_name(monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    photos = script("photo_quality")
    train = SimpleNamespace(classes=("bee", "cat"), labels=np.array([0, 0, 0, 1, 1, 1]))
    test = SimpleNamespace(classes=("ant", "bee", "cat"), labels=np.array([1, 2, 2]))  # its own class indices
    features = {id(train): [[1, 0], [1, 0.1], [1, 0.2], [0, 1], [0.1, 1], [0.2, 1]], id(test): [[1, 0], [0, 1], [1, 0]]}
    monkeypatch.setattr(
        photos, "teacher_pass", lambda name, source, **_: SimpleNamespace(values=np.array(features[id(source)]))
    )
    assert photos._backbone_probes(train, test) == {photos.TEACHER: 2 / 3, photos.STUDENT: 2 / 3}
