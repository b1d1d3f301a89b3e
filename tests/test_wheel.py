"""The package as a user installs it: a built wheel, installed into a fresh environment (not editable), carries
its episode files."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_a_wheel_installed_in_a_fresh_environment_loads_a_named_episode_file(tmp_path):
    pytest.importorskip("setuptools", minversion="77")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, project / name)
    shutil.copytree(REPO / "fewshot_tcs", project / "fewshot_tcs", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", project], check=True)
    wheel = next((tmp_path / "dist").glob("fewshot_tcs-*.whl"))

    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", fresh], check=True)
    target = next(fresh.glob("lib/python*/site-packages"))
    subprocess.run([*pip, "install", "--no-deps", "--target", target, wheel], check=True)
    # The fresh environment borrows the dependencies (torch, numpy, ...) but not this checkout's editable
    # install: a path line in a .pth file adds the folder without running the .pth files inside it.
    (target / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = (
        "import fewshot_tcs, fewshot_tcs.episodes as e, fewshot_tcs.evaluation.benchmark, fewshot_tcs.apps.cli;"
        "print(fewshot_tcs.__file__);"
        "print(len(e.load_episodes('omniglot-small/5w5s')), e.list_episode_files())"
    )
    python = next(p for p in (fresh / "bin" / "python", fresh / "Scripts" / "python.exe") if p.exists())
    run = subprocess.run([python, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    where, found = run.stdout.splitlines()
    assert Path(where).is_relative_to(target), f"imported {where}, not the installed wheel"
    assert found.startswith("600 ") and "cifar10/5w5s" in found
