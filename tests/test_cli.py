import json

import numpy as np
import pytest

from fewshot_tcs.cli import main


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


@pytest.fixture
def character_folder(omniglot_small, tmp_path):
    """3 Omniglot characters x 6 drawings as root/<character>/<n>.png, the layout a customer brings."""
    root = tmp_path / "photos"
    for c in range(3):
        items = np.flatnonzero(omniglot_small.labels == c)[:6]
        (root / f"char{c}").mkdir(parents=True)
        for k, i in enumerate(items):
            omniglot_small.load(int(i)).save(root / f"char{c}" / f"{k}.png")
    return root


FAST = ["--backbone", "efficientnet_lite0", "--student", "mobilenetv2_100", "--steps", "5", "--image-size", "32"]


def test_fit_writes_a_model_that_predict_uses(character_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["-q", "fit", str(character_folder), "--out", str(out), *FAST]) == 0
    report = capsys.readouterr().out
    assert "accuracy:" in report and "held-out quarter" in report
    assert (out / "model" / "model.safetensors").is_file() and (out / "model" / "student.onnx").is_file()
    assert (out / "report.md").is_file() and (out / "spectrum.png").is_file()
    assert main(["-q", "predict", str(out / "model"), str(character_folder / "char1")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6
    assert all(line.split("\t")[1] in {"char0", "char1", "char2"} for line in lines)


def test_fit_cross_validates_small_folders(character_folder, tmp_path, capsys):
    for extra in sorted((character_folder / "char0").iterdir())[3:]:
        extra.unlink()
    assert main(["-q", "fit", str(character_folder), "--out", str(tmp_path / "run"), *FAST]) == 0
    assert "3-fold cross-validation" in capsys.readouterr().out


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
    from fewshot_tcs.benchmark import benchmark, named_episodes
    from fewshot_tcs.episodes import load_episodes, save_episodes

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
