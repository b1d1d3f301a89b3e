"""Standard benchmarks: every method on identical episodes over one cached teacher pass.

``benchmark`` runs N-way K-shot episodes (sampled, or from a fixed episode file); ``allway_benchmark`` the
all-way K-shot protocol (K labelled images of every class from the train split, tested on the whole test
split, repeated over seeds).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import ImageSource, as_source, load_source
from .episodes import Episode, EpisodeSampler, load_episodes
from .evaluate import evaluate
from .methods import FewShotMethod, create_method
from .report import markdown_table
from .results import EvaluationResult
from .tcs.teacher import teacher_pass

EPISODES_DIR = Path(__file__).resolve().parent.parent / "episodes"
STUDENT_METHODS = ("student-tcs", "student-ce", "student-kd")


@dataclass
class BenchmarkResult:
    """Results of several methods over several shot counts: ``results[(method, shots)]``."""

    dataset: str
    backbone: str | list[str]
    results: dict[tuple[str, int], EvaluationResult] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """One dict per (method, shots): mean, interval, n, seconds per episode."""
        return [
            {
                "method": method,
                "shots": shots,
                "mean": r.mean,
                "ci95": r.ci95,
                "n": r.n,
                "seed": r.seed,
                "setting": r.protocol.get("setting"),
                "seconds_per_episode": float(np.mean(r.fit_seconds + r.predict_seconds)),
            }
            for (method, shots), r in self.results.items()
        ]

    def to_markdown(self) -> str:
        """A method x shots table of mean +- 95% interval (n, seconds per episode)."""
        return markdown_table(self.rows())


def named_episodes(name: str) -> Path:
    """A committed episode file by name: ``omniglot-small/5w5s`` -> episodes/omniglot-small/5w5s.jsonl.gz."""
    path = EPISODES_DIR / f"{name}.jsonl.gz"
    if not path.is_file():
        known = sorted(
            str(p.relative_to(EPISODES_DIR)).removesuffix(".jsonl.gz") for p in EPISODES_DIR.rglob("*.jsonl.gz")
        )
        raise FileNotFoundError(f"no committed episode file {name!r}; known: {known}")
    return path


def resolve_method(method: str | FewShotMethod, backbone: Any, params: dict) -> FewShotMethod:
    if not isinstance(method, str):
        return method
    if method in STUDENT_METHODS:
        return create_method(method, backbone=backbone, **params)
    return create_method(method)


def _episode_lists(
    source: ImageSource,
    n_way: int,
    shots: Sequence[int],
    n_query: int,
    n_unlabeled: int,
    n_episodes: int,
    seed: int,
    episodes: Any,
) -> dict[int, list[Episode]]:
    if episodes is None:
        return {
            k: list(
                EpisodeSampler(
                    source, n_way, k, n_query=n_query, n_unlabeled=n_unlabeled, n_episodes=n_episodes, seed=seed
                ).episodes()
            )
            for k in shots
        }
    path = (
        Path(episodes)
        if isinstance(episodes, (os.PathLike, Path)) or os.path.exists(str(episodes))
        else named_episodes(str(episodes))
    )
    loaded = load_episodes(path, source)
    return {len(loaded[0].support) // loaded[0].n_way: loaded}


def benchmark(
    dataset: Any,
    methods: Sequence[str | FewShotMethod] = ("protonet", "logistic", "tcs-probe"),
    backbone: str | list[str] = "dinov2_vits14",
    n_way: int = 5,
    shots: Sequence[int] = (1, 5),
    n_episodes: int = 600,
    seed: int = 0,
    n_query: int = 15,
    n_unlabeled: int = 0,
    episodes: str | os.PathLike | None = None,
    split: str | None = None,
    views: int = 0,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    method_params: dict | None = None,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    dtype: str = "float32",
    quiet: bool = False,
) -> BenchmarkResult:
    """Every method on the same episodes, one teacher pass shared by all.

    Args:
        dataset: a dataset name (``omniglot-small``, ``fashion-mnist``, ``folder:<path>``) or any source.
        methods: method names or instances; student methods get ``backbone`` and ``method_params``.
        episodes: a fixed episode file, or a committed one by name (``"omniglot-small/5w5s"``); then
            ``shots``, ``n_episodes`` and ``seed`` come from the file.
        views: augmented views per image cached by the teacher pass (for students).
        out: a folder for per-episode results (one JSON Lines file per shot count); a rerun resumes.
        pretrained: False runs the teacher with random weights (cost measurements, tests).
        weights: a local checkpoint for the (single) teacher, e.g. Meta's ``dinov2_vits14_pretrain.pth``.
        dtype: how the teacher features are cached, "float32" or "float16" (half the size).

    Feature methods with a batched form (ProtoNet, tcs-probe) evaluate many episodes at once.
    """
    source = load_source(dataset, split=split) if isinstance(dataset, str) else as_source(dataset)
    by_shots = _episode_lists(source, n_way, shots, n_query, n_unlabeled, n_episodes, seed, episodes)
    used = sorted({i for eps in by_shots.values() for e in eps for i in e.support + e.query + e.unlabeled})
    features = teacher_pass(
        backbone,
        source.subset(source.index_of(used)),
        views=views,
        cache_dir=cache_dir,
        pretrained=pretrained,
        weights=weights,
        dtype=dtype,
        quiet=quiet,
    )
    student_params = {"teacher_weights": weights, **(method_params or {})} if weights else (method_params or {})
    result = BenchmarkResult(dataset=source.name, backbone=backbone)
    for k, episode_list in by_shots.items():
        for method in methods:
            instance = resolve_method(method, backbone, student_params)
            results_file = Path(out) / f"{source.name}-{n_way}w{k}s.jsonl" if out is not None else None
            result.results[(instance.name, k)] = evaluate(
                instance, episode_list, features, source=source, out=results_file, quiet=quiet
            )
    return result


@dataclass(frozen=True)
class AllWayTask:
    """K labelled images of every class (support ids into the train source) and the whole test split."""

    seed: int
    k_shot: int
    support: tuple[str, ...]
    support_labels: tuple[int, ...]


def allway_tasks(train: ImageSource, k_shot: int, seeds: Sequence[int]) -> list[AllWayTask]:
    """Exactly ``k_shot`` items of every class of ``train`` per seed; the test split is never touched."""
    tasks = []
    for seed in seeds:
        rng = np.random.default_rng([seed, k_shot])
        support, labels = [], []
        for c, items in enumerate(train.indices_by_class()):
            if len(items) < k_shot:
                raise ValueError(
                    f"class {train.classes[c]!r} has {len(items)} training images; {k_shot}-shot needs that many"
                )
            chosen = rng.choice(items, size=k_shot, replace=False)
            support += [train.ids[i] for i in chosen]
            labels += [c] * k_shot
        tasks.append(AllWayTask(seed, k_shot, tuple(support), tuple(labels)))
    return tasks


def allway_benchmark(
    train: Any,
    test: Any,
    methods: Sequence[str | FewShotMethod] = ("protonet", "logistic"),
    backbone: str | list[str] = "dinov2_vits14",
    shots: Sequence[int] = (1, 2, 4, 8, 16),
    seeds: Sequence[int] = (0, 1, 2),
    cache_dir: str | os.PathLike | None = None,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    quiet: bool = False,
) -> dict[tuple[str, int], EvaluationResult]:
    """The all-way K-shot protocol (CoOp): accuracy on the full test split, one entry per seed.

    ``weights`` is a local checkpoint for the (single) teacher.
    """
    train, test = as_source(train), as_source(test)
    if train.classes != test.classes:
        raise ValueError("train and test splits must have the same classes")
    tasks = {k: allway_tasks(train, k, seeds) for k in shots}
    used = sorted({i for ts in tasks.values() for t in ts for i in t.support})
    teacher = dict(cache_dir=cache_dir, pretrained=pretrained, weights=weights, quiet=quiet)
    train_features = teacher_pass(backbone, train.subset(train.index_of(used)), **teacher)
    test_features = teacher_pass(backbone, test, **teacher)
    results = {}
    for k, task_list in tasks.items():
        for method in methods:
            instance = resolve_method(method, backbone, {})
            if "images" in getattr(instance, "needs", "features"):
                raise ValueError(f"all-way K-shot runs methods on teacher features; {instance.name} trains on images")
            accuracies, fits, predicts = [], [], []
            for task in task_list:
                start = time.perf_counter()
                instance.fit(train_features.take(task.support), np.asarray(task.support_labels))
                fitted = time.perf_counter()
                predictions = instance.predict(test_features.values)
                done = time.perf_counter()
                accuracies.append(float(np.mean(predictions == test.labels)))
                fits.append(fitted - start)
                predicts.append(done - fitted)
            results[(instance.name, k)] = EvaluationResult(
                method=instance.name,
                accuracies=np.array(accuracies),
                episodes=np.array(seeds),
                fit_seconds=np.array(fits),
                predict_seconds=np.array(predicts),
                seed=None,
                protocol={
                    "protocol": "all-way",
                    "n_way": len(train.classes),
                    "k_shot": k,
                    "seeds": list(seeds),
                    "setting": "inductive",
                    "test_items": len(test),
                },
                dataset=test.name,
            )
    return results
