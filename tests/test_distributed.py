"""torchrun with 2 CPU processes (gloo): the same features, student and results as a single process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import distributed_worker as worker
import numpy as np
import torch

WORKER = Path(worker.__file__)
ROOT = Path(__file__).resolve().parents[1]


def torchrun(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` on this machine, offline, one thread per rank."""
    environment = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "FEWSHOT_TCS_DIST_TIMEOUT": "60",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(WORKER.parent)]),
        **(env or {}),
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def check(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, f"torchrun failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"


def test_sharded_teacher_pass_equals_single_process(tmp_path):
    check(torchrun(str(WORKER), "features", str(tmp_path)))
    sharded = np.load(tmp_path / "features.npz")
    assert sharded["shares"].tolist() == [19, 18], "each rank computed its half of the 37 images"
    single = worker.features(tmp_path / "single-cache")
    np.testing.assert_allclose(sharded["values"], single.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sharded["views"], single.views, rtol=1e-5, atol=1e-6)
    entries = list((tmp_path / "cache").rglob("meta.json"))
    assert len(entries) == 1, "one complete cache entry"
    assert not list((tmp_path / "cache").rglob("shards/*")), "shards are merged and removed"
    again = worker.features(tmp_path / "cache")  # a single process reads the merged entry as its own
    assert str(tmp_path / "cache") in again.meta["cache"]
    np.testing.assert_array_equal(np.asarray(again.values), sharded["values"])


def test_ddp_training_matches_one_process_with_the_same_global_batch(tmp_path):
    check(torchrun(str(WORKER), "train", str(tmp_path)))
    parallel = torch.load(tmp_path / "student.pt")
    shares = parallel.pop("shares")
    assert shares.tolist() == [[8] * 6, [8] * 6], "each rank trained on half of every 16-image global batch"
    single = worker.train()
    assert parallel.keys() == single.keys()
    for name in single:
        torch.testing.assert_close(parallel[name], single[name], rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.equal(single["projector.weight"], worker.training_setup()[0].projector.weight), "it trained"


def test_distributed_benchmark_writes_the_single_process_results(tmp_path):
    check(torchrun(str(WORKER), "bench", str(tmp_path / "parallel")))
    worker.bench(tmp_path / "single")

    def records(folder: Path) -> dict:
        lines = (folder / "results.jsonl").read_text().splitlines()
        return {(r["method"], r["episode"]): (r["accuracy"], r["correct"], r["key"]) for r in map(json.loads, lines)}

    parallel, single = records(tmp_path / "parallel"), records(tmp_path / "single")
    assert len(single) == 24
    assert parallel == single


def test_cli_bench_under_torchrun(tmp_path, omniglot_dir):
    """The unchanged CLI: a sharded teacher pass, episodes split over 2 ranks, rank 0 writes the tables."""
    args = ["bench", "omniglot-small", "--backbone", "efficientnet_lite0", "--shots", "1", "--n-episodes", "4"]
    args += ["--methods", "protonet", "logistic"]
    env = {"FEWSHOT_TCS_CACHE": str(tmp_path / "cache")}
    run = torchrun("-m", "fewshot_tcs", *args, "--out", str(tmp_path / "parallel"), env=env)
    check(run)
    assert run.stdout.count("| protonet |") == 1, "only rank 0 prints the table"
    single = subprocess.run(
        [sys.executable, "-m", "fewshot_tcs", *args, "--out", str(tmp_path / "single")],
        env={**os.environ, **env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert single.returncode == 0, single.stderr

    def rows(folder: Path) -> list:
        return [(r["method"], r["mean"], r["n"]) for r in json.loads((folder / "results.json").read_text())]

    assert rows(tmp_path / "parallel") == rows(tmp_path / "single")


def test_a_rank_that_dies_fails_the_run_quickly_and_says_why(tmp_path):
    start = time.perf_counter()
    run = torchrun(str(WORKER), "die", str(tmp_path), timeout=120)
    assert run.returncode != 0
    assert "injected failure on rank 1" in run.stdout + run.stderr
    assert time.perf_counter() - start < 90, "the surviving rank must not wait out the collective timeout"


def test_single_process_is_rank_0_of_1():
    from fewshot_tcs import distributed

    assert not distributed.launched()
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    assert distributed.all_gather("x") == ["x"] and distributed.broadcast(3) == 3
    assert distributed.all_reduce_mean(torch.ones(2)).tolist() == [1.0, 1.0]
