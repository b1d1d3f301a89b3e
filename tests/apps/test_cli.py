import json
import subprocess
import sys

from fewshot_tcs.apps.cli import main


def test_episodes_make_and_show(omniglot_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(omniglot_dir.parent))
    out = tmp_path / "e.jsonl"
    assert main(["episodes", "make", "omniglot-small", "--n-episodes", "5", "--out", str(out)]) == 0
    assert main(["episodes", "show", str(out)]) == 0
    assert "5 x 5-way 5-shot" in capsys.readouterr().out


def test_user_mistakes_exit_2_without_traceback(omniglot_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(omniglot_dir.parent))
    out = str(tmp_path / "e.jsonl")
    assert main(["episodes", "make", "omniglot-small", "--n-way", "300", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "300-way episodes need 300 classes" in err and "Traceback" not in err
    assert main(["episodes", "show", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["episodes", "make", "no-such-set", "--out", out]) == 2


FAST = ["--backbone", "efficientnet_lite0", "--student", "mobilenetv2_100", "--steps", "5", "--image-size", "32"]


def test_fit_writes_a_model_that_predict_uses(character_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["-q", "fit", str(character_folder), "--out", str(out), *FAST]) == 0
    report = capsys.readouterr().out
    assert "accuracy:" in report and "4-fold cross-validation, each of the 18 images held out once" in report
    assert (out / "model" / "model.safetensors").is_file() and (out / "model" / "student.onnx").is_file()
    assert (out / "report.md").is_file() and (out / "spectrum.png").is_file()
    assert "teacher's probe on the same held-out images" in report
    assert "shipped: the" in report and "the higher of the two on the same held-out images" in report
    html = (out / "report.html").read_text()
    assert "Confusion matrix" in html and "teacher&#x27;s logistic probe" in html
    assert "trained student" in html and "untrained student" in html and "(shipped)" in html
    assert main(["-q", "predict", str(out / "model"), str(character_folder / "char1")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "image\tclass\tprobability" and len(lines) == 7
    assert all(line.split("\t")[1] in {"char0", "char1", "char2"} for line in lines[1:])
    assert main(["predict", str(out / "model"), str(character_folder / "char1"), "--format", "csv", "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "image,class,probability"
    assert main(["predict", str(out / "model"), str(character_folder / "char1"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 6 and set(rows[0]) == {"image", "class", "probability"}


def test_fit_cross_validates_small_folders(character_folder, tmp_path, capsys):
    for extra in sorted((character_folder / "char0").iterdir())[3:]:
        extra.unlink()
    options = ["--readout", "probe", "--clean-crop", "0.9", "--objective", "tcs", "--weight-interpolation", "0"]
    options += ["--ship", "trained", "--whiten", "true"]
    assert main(["-q", "fit", str(character_folder), "--out", str(tmp_path / "run"), *FAST, *options]) == 0
    out = capsys.readouterr().out
    assert "3-fold cross-validation" in out and "tcs objective, probe readout" in out
    assert "shipped:" not in out, "no untrained rival to choose from"
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["readout"] == "probe" and config["preprocessing"]["crop"] == 0.9
    assert config["params"]["objective"] == "tcs" and config["params"]["weight_interpolation"] == 0
    assert config["params"]["whiten"] is True


def test_fit_scores_the_readout_and_coordinates_it_ships(character_folder, tmp_path, monkeypatch):
    from fewshot_tcs.tcs import TCSClassifier, classifier

    # 3 classes of 6 images in the folder, 4 or 5 a class in each fold's fit: "auto" is decided once, on the folder.
    monkeypatch.setattr(classifier, "PROBE_READOUT_MIN_PER_CLASS", 6)
    monkeypatch.setattr(classifier, "WHITEN_MIN_CLASSES", 3)
    monkeypatch.setattr(classifier, "WHITEN_MIN_PER_CLASS", 6)
    used, fit = [], TCSClassifier.fit

    def record(self, *args, **kwargs):
        fitted = fit(self, *args, **kwargs)
        used.append((fitted.readout_, fitted.whiten_))
        return fitted

    monkeypatch.setattr(TCSClassifier, "fit", record)
    assert main(["-q", "fit", str(character_folder), "--out", str(tmp_path / "run"), *FAST]) == 0
    assert used == [("probe", True)] * 9, "4 folds of the trained and of the untrained student, and the final fit"


def test_fit_mistakes_exit_2_with_a_message(character_folder, tmp_path, capsys):
    assert main(["fit", str(tmp_path / "missing"), *FAST]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["fit", str(character_folder), "--backbone", "no_such_net"]) == 2
    err = capsys.readouterr().err
    assert "unknown backbone 'no_such_net'" in err and "Traceback" not in err
    a_file = tmp_path / "taken"
    a_file.write_text("")
    assert main(["fit", str(character_folder), "--out", str(a_file), *FAST]) == 2
    assert f"the output {a_file} is a file" in capsys.readouterr().err, "refused before any training"
    for extra in sorted((character_folder / "char2").iterdir())[1:]:
        extra.unlink()
    assert main(["fit", str(character_folder), "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "'char2' has 1 image" in capsys.readouterr().err


def test_bench_cli_equals_the_python_api(omniglot_dir, tmp_path, monkeypatch, capsys):
    from fewshot_tcs.episodes import load_episodes, named_episodes, save_episodes
    from fewshot_tcs.evaluation.benchmark import benchmark

    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(omniglot_dir.parent))
    few = save_episodes(load_episodes(named_episodes("omniglot-small/5w5s"))[:3], tmp_path / "few.jsonl")
    args = [
        "-q",
        "bench",
        "omniglot-small",
        "--episodes",
        str(few),
        "--backbone",
        "efficientnet_lite0",
        "--methods",
        "protonet",
        "logistic",
        "--out",
        str(tmp_path / "cli"),
    ]
    assert main(args) == 0
    assert "| protonet |" in capsys.readouterr().out
    api = benchmark(
        "omniglot-small", methods=["protonet", "logistic"], backbone="efficientnet_lite0", episodes=few, quiet=True
    )
    cli_records = [
        json.loads(line)
        for line in (tmp_path / "cli" / "episodes" / "omniglot-small-5w5s.jsonl").read_text().splitlines()
    ]
    for method in ("protonet", "logistic"):
        cli = [r["accuracy"] for r in cli_records if r["method"] == method]
        assert cli == api.results[(method, 5)].accuracies.tolist()


def test_backbones_lists_offline_availability(capsys):
    assert main(["backbones", "efficientnet_*"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet_lite2" in out and "yes" in out


def test_predict_with_a_damaged_model_folder_is_one_line_and_exit_2(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{not json")
    (model / "model.safetensors").write_bytes(b"")
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(image)
    assert main(["predict", str(model), str(image)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fewshot-tcs: error: ") and "config.json is not valid JSON" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_help_imports_no_heavy_library():
    script = (
        "import sys\n"
        "from fewshot_tcs.apps.cli import main\n"
        "try:\n    main(['fit', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('heavy:', sorted(m for m in ('torch', 'timm', 'sklearn', 'open_clip', 'datasets') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "(default: 120)" in run.stdout and run.stdout.strip().endswith("heavy: []")


def test_the_cli_defaults_are_the_librarys():
    import inspect

    from fewshot_tcs import TCSClassifier
    from fewshot_tcs.apps.cli import build_parser
    from fewshot_tcs.evaluation.benchmark import benchmark

    library = {k: p.default for k, p in inspect.signature(TCSClassifier).parameters.items()}
    fit = build_parser().parse_args(["fit", "photos"])
    settings = (
        "backbone",
        "student",
        "steps",
        "image_size",
        "clean_crop",
        "readout",
        "weight_interpolation",
        "whiten",
        "objective",
    )
    assert {k: getattr(fit, k) for k in settings} == {k: library[k] for k in settings}
    bench_library = {k: p.default for k, p in inspect.signature(benchmark).parameters.items()}
    bench = build_parser().parse_args(["bench", "omniglot-small"])
    assert bench.backbone == bench_library["backbone"] and tuple(bench.methods) == tuple(bench_library["methods"])
    assert (bench.n_way, tuple(bench.shots), bench.n_episodes, bench.n_query) == (
        bench_library["n_way"],
        tuple(bench_library["shots"]),
        bench_library["n_episodes"],
        bench_library["n_query"],
    )
    assert (bench.steps, bench.image_size) == (library["steps"], library["image_size"])


def test_global_flags_work_before_and_after_the_command():
    from fewshot_tcs.apps.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["fit", "photos", "-q", "--threads", "2", "-v"]).quiet is True
    before = parser.parse_args(["-q", "--threads", "3", "fit", "photos"])
    assert before.quiet is True and before.threads == 3
    assert parser.parse_args(["fit", "photos"]).quiet is None  # progress bars where a person watches
    assert parser.parse_args(["fit", "photos", "--image-size", "96"]).image_size == 96
