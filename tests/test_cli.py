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
