"""Every script in examples/ runs with small settings (in-process, offline), and says what it found."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import fewshot_tcs.backbones.registry as registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL = {
    "quickstart.py": ["--backbone", "efficientnet_lite0", "--steps", "10"],
    "benchmark_omniglot.py": [
        "--backbone",
        "efficientnet_lite0",
        "--n-episodes",
        "5",
        "--students",
        "--student-episodes",
        "1",
        "--steps",
        "5",
    ],
    "custom_backbone.py": ["--n-episodes", "5"],
    "deploy_onnx.py": ["--backbone", "efficientnet_lite0", "--steps", "10"],
}
EXPECT = {
    "quickstart.py": "held-out accuracy",
    "benchmark_omniglot.py": "student-tcs",
    "custom_backbone.py": "features equal to the registry model's: True",
    "deploy_onnx.py": "largest |ONNX - PyTorch| logit difference",
}


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One feature cache for the examples, as a user's would be."""
    return tmp_path_factory.mktemp("examples-cache")


def test_every_example_is_checked():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SMALL)


@pytest.mark.parametrize("script", sorted(SMALL))
def test_example_runs(script, omniglot_dir, shared_cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEWSHOT_TCS_CACHE", str(shared_cache))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *SMALL[script]])
    # Names an example registers stay in its copy of the registry.
    monkeypatch.setattr(registry._REGISTRY, "_entries", dict(registry._REGISTRY._entries))
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    assert EXPECT[script] in out, out
