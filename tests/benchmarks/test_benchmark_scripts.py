"""Smoke tests of the scripts in benchmarks/ at tiny sizes: they run and report; no timing is asserted."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
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
