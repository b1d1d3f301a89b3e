"""What each rank runs in tests/test_distributed.py, launched by torchrun; the builders serve both sides.

python -m torch.distributed.run --standalone --nproc_per_node=2 tests/distributed_worker.py TASK OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import fewshot_tcs.features.extract as feature_module
from fewshot_tcs import distributed
from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import EpisodeSampler
from fewshot_tcs.evaluation.evaluate import evaluate
from fewshot_tcs.features import FeatureSet, extract_features
from fewshot_tcs.methods import LogisticProbe, ProtoNet
from fewshot_tcs.tcs.objective import TCSObjective
from fewshot_tcs.tcs.student import Student
from fewshot_tcs.tcs.trainer import TrainConfig, ViewBank, train_student


def image_source() -> ArraySource:
    """37 small random RGB images of 3 classes (37: the ranks' shares differ in size)."""
    rng = np.random.default_rng(0)
    return ArraySource(rng.integers(0, 255, (37, 24, 24, 3), dtype=np.uint8), np.arange(37) % 3, name="random")


def features(cache: Path) -> FeatureSet:
    return extract_features(
        "timm:resnet10t", image_source(), pretrained=False, seed=0, views=2, cache_dir=cache, quiet=True
    )


def training_setup():
    """A tiny student without batch norm (whose per-rank statistics would differ from one big batch), a
    bank of 8 labelled and 16 unlabelled images and random coordinate targets."""
    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    student = Student(body, 8, n_coords=6, n_classes=4)
    rng = np.random.default_rng(0)
    images = [ArraySource(rng.integers(0, 255, (1, 16, 16, 3), dtype=np.uint8), [0]).load(0) for _ in range(24)]
    bank = ViewBank.build(images, [str(i) for i in range(24)], 16, (0.5,) * 3, (0.25,) * 3, views=2, seed=0)
    labels = torch.tensor([0, 1, 2, 3] * 2 + [-1] * 16)
    targets = torch.from_numpy(rng.normal(size=(24, 1, 6)).astype(np.float32))
    objective = TCSObjective(targets, labels)
    config = TrainConfig(steps=6, batch_size=8, lr=1e-2, head_lr=1e-2, warmup_steps=2, seed=0)
    return student, bank, labels, objective, config


def train() -> dict[str, torch.Tensor]:
    student, bank, labels, objective, config = training_setup()
    log = train_student(student, bank, labels, objective, config, quiet=True)
    return {**{k: v.detach().clone() for k, v in student.state_dict().items()}, "losses": torch.tensor(log.losses)}


def feature_episodes():
    """Random features of 30 items in 6 classes and 12 episodes over them."""
    source = ArraySource(np.zeros((30, 1, 1), np.uint8), np.arange(30) % 6, name="random-features")
    values = np.random.default_rng(1).normal(size=(30, 16)).astype(np.float32)
    sampler = EpisodeSampler(source, 3, 2, n_query=3, n_episodes=12, seed=0)
    return FeatureSet(source.ids, values, backbone="random"), sampler


class FailingProbe(LogisticProbe):
    """Fails on rank 1 at its third episode: a rank that dies in the middle of a run."""

    calls = 0

    def fit(self, support, y=None, unlabeled=None):
        FailingProbe.calls += 1
        if distributed.rank() == 1 and FailingProbe.calls == 3:
            raise RuntimeError("injected failure on rank 1")
        return super().fit(support, y, unlabeled)


def bench(out: Path) -> None:
    feature_set, sampler = feature_episodes()
    for method in (ProtoNet(), LogisticProbe()):
        evaluate(method, sampler, feature_set, out=out / "results.jsonl", quiet=True)


def counting(function, counts: list[int], size):
    """``function``, recording ``size(args)`` of each call in ``counts``: how much work this rank did."""

    def run(*args, **kwargs):
        counts.append(size(args))
        return function(*args, **kwargs)

    return run


def main() -> None:
    task, out = sys.argv[1], Path(sys.argv[2])
    if task == "features":
        rows: list[int] = []
        feature_module._run_pass = counting(feature_module._run_pass, rows, lambda args: len(args[2]))
        result = features(out / "cache")
        shares = distributed.all_gather(sum(rows))
        if distributed.is_main():
            np.savez(out / "features.npz", values=result.values, views=result.views, shares=shares)
    elif task == "train":
        items: list[int] = []
        objective = training_setup()[3]
        TCSObjective.__call__ = counting(TCSObjective.__call__, items, lambda args: len(args[3]))
        del objective
        state = train()
        shares = distributed.all_gather(items)
        if distributed.is_main():
            torch.save({**state, "shares": torch.tensor(shares)}, out / "student.pt")
    elif task == "bench":
        bench(out)
    elif task == "die":
        feature_set, sampler = feature_episodes()
        evaluate(FailingProbe(), sampler, feature_set, quiet=True)
    else:
        raise SystemExit(f"unknown task {task!r}")


if __name__ == "__main__":
    main()
