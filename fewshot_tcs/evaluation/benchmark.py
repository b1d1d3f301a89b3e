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

from .. import defaults
from ..backbones.errors import WeightsNotFoundError
from ..data import ImageSource, as_source, load_source
from ..episodes import Episode, EpisodeSampler, check_episodes, episode_source, load_episodes, named_episodes
from ..features.teachers import teacher_pass
from ..methods import METHODS, FewShotMethod, ItemSet, create_method
from .evaluate import evaluate, item_set
from .report import markdown_table
from .results import EvaluationResult, ResultsLog, method_settings, resolved_settings, teacher_provenance


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


def _teacher_pass(*args: Any, **kwargs: Any):
    """``teacher_pass``, its missing-weights hints in this module's words (``weights=``, ``pretrained=``)."""
    try:
        return teacher_pass(*args, **kwargs)
    except WeightsNotFoundError as error:
        raise error.for_interface("benchmark") from None


def resolve_method(method: str | FewShotMethod, backbone: Any, params: dict) -> FewShotMethod:
    """A method by name; one that trains on images (its ``needs``) is given the teacher and the settings."""
    if not isinstance(method, str):
        return method
    if "images" in METHODS[method].needs:
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
) -> tuple[ImageSource, dict[int, list[Episode]]]:
    """The episodes by shot count, and the source that holds their items."""
    if episodes is None:
        return source, {
            k: list(
                EpisodeSampler(
                    source, n_way, k, n_query=n_query, n_unlabeled=n_unlabeled, n_episodes=n_episodes, seed=seed
                ).episodes()
            )
            for k in shots
        }
    if isinstance(episodes, (list, tuple)):
        loaded, where = list(episodes), "episodes"
    else:
        where = (
            Path(episodes)
            if isinstance(episodes, (os.PathLike, Path)) or os.path.exists(str(episodes))
            else named_episodes(str(episodes))
        )
        loaded = load_episodes(where)
    source = episode_source(loaded, source)
    check_episodes(loaded, source, where=str(where))
    return source, {len(loaded[0].support) // loaded[0].n_way: loaded}


def benchmark(
    dataset: Any,
    methods: Sequence[str | FewShotMethod] = defaults.BENCH_METHODS,
    backbone: str | list[str] = defaults.TEACHER,
    n_way: int = defaults.N_WAY,
    shots: Sequence[int] = defaults.SHOTS,
    n_episodes: int = defaults.N_EPISODES,
    seed: int = 0,
    n_query: int = defaults.N_QUERY,
    n_unlabeled: int = 0,
    episodes: str | os.PathLike | list[Episode] | None = None,
    split: str | None = None,
    views: int = 0,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    method_params: dict | None = None,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    dtype: str = "float32",
    quiet: bool | None = None,
) -> BenchmarkResult:
    """Every method on the same episodes, one teacher pass shared by all.

    Args:
        dataset: a dataset name (``omniglot-small``, ``fashion-mnist``, ``folder:<path>``) or any source.
        methods: method names or instances; student methods get ``backbone`` and ``method_params``.
        episodes: a fixed episode file, a committed one by name (``"omniglot-small/5w5s"``), or a list of
            Episode (e.g. the first 30 of a file); then ``shots``, ``n_episodes`` and ``seed`` come from them.
        views: augmented views per image cached by the teacher pass (for students).
        out: a folder for per-episode results (one JSON Lines file per shot count); a rerun resumes.
        pretrained: False runs the teacher with random weights (cost measurements, tests).
        weights: a local checkpoint for the (single) teacher, e.g. Meta's ``dinov2_vits14_pretrain.pth``.
        dtype: how the teacher features are cached, "float32" or "float16" (half the size).

    Feature methods with a batched form (ProtoNet, tcs-probe) evaluate many episodes at once.
    """
    source = load_source(dataset, split=split) if isinstance(dataset, str) else as_source(dataset)
    source, by_shots = _episode_lists(source, n_way, shots, n_query, n_unlabeled, n_episodes, seed, episodes)
    trained_on = {i for eps in by_shots.values() for e in eps for i in e.support + e.unlabeled}
    queries = {i for eps in by_shots.values() for e in eps for i in e.query} - trained_on
    if not views:
        trained_on, queries = trained_on | queries, set()
    student_params = {"teacher_weights": weights, **(method_params or {})} if weights else dict(method_params or {})
    student_params.setdefault("quiet", quiet)  # the students' bars follow the benchmark's
    for method in methods:  # an unknown method name fails here, not after the teacher pass
        resolve_method(method, backbone, student_params)
    teacher = dict(cache_dir=cache_dir, pretrained=pretrained, weights=weights, dtype=dtype, quiet=quiet)
    # Views are cached for the images students train on; queries need only their clean features.
    features = _teacher_pass(backbone, source.subset(source.index_of(sorted(trained_on))), views=views, **teacher)
    if queries:
        features = features.with_rows_of(
            _teacher_pass(backbone, source.subset(source.index_of(sorted(queries))), **teacher)
        )
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
    backbone: str | list[str] = defaults.TEACHER,
    shots: Sequence[int] = (1, 2, 4, 8, 16),
    seeds: Sequence[int] = (0, 1, 2),
    views: int = 0,
    method_params: dict | None = None,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    quiet: bool | None = None,
) -> dict[tuple[str, int], EvaluationResult]:
    """The all-way K-shot protocol (CoOp): accuracy on the full test split, one entry per seed.

    Feature methods fit on the support's teacher features; student methods (and ``student-probe``) train on
    its images, with ``views`` cached teacher views per support image and ``method_params``, and classify
    every test image. ``out``: a folder of per-seed records (``allway-<K>s.jsonl``); a rerun resumes.
    ``weights`` is a local checkpoint for the (single) teacher.
    """
    train, test = as_source(train), as_source(test)
    if train.classes != test.classes:
        raise ValueError("train and test splits must have the same classes")
    tasks = {k: allway_tasks(train, k, seeds) for k in shots}
    used = sorted({i for ts in tasks.values() for t in ts for i in t.support})
    teacher = dict(cache_dir=cache_dir, pretrained=pretrained, weights=weights, quiet=quiet)
    train_features = _teacher_pass(backbone, train.subset(train.index_of(used)), views=views, **teacher)
    test_features = _teacher_pass(backbone, test, **teacher)
    test_items = ItemSet(features=np.asarray(test_features.values, dtype=np.float32), images=test)
    params = {"teacher_weights": weights, **(method_params or {})} if weights else dict(method_params or {})
    params.setdefault("quiet", quiet)
    protocol = {
        "protocol": "all-way",
        "n_way": len(train.classes),
        "train": f"{train.name} {train.fingerprint()}",
        "test": f"{test.name} {test.fingerprint()}",
        "test_items": len(test),
    }
    results = {}
    for k, task_list in tasks.items():
        log = ResultsLog(Path(out) / f"allway-{k}s.jsonl") if out is not None else None
        run = {"teacher": teacher_provenance(test_features), "protocol": {**protocol, "k_shot": k}}
        for method in methods:
            instance = resolve_method(method, backbone, params)
            stamp = log.check(instance.name, run, method_settings(instance, train_features)) if log else {}
            done = {}
            uses_images = "images" in getattr(instance, "needs", "features")
            for task in task_list:
                found = log.get(instance.name, task.seed, f"{k}-shot seed {task.seed}") if log is not None else None
                if found is not None:
                    done[task.seed] = found
                    continue
                start = time.perf_counter()
                support = item_set(task.support, task.support_labels, train_features, train)
                instance.fit(support, np.asarray(task.support_labels))
                fitted = time.perf_counter()
                predictions = instance.predict(test_items if uses_images else test_items.features)
                record = {
                    "method": instance.name,
                    "episode": task.seed,
                    "key": f"{k}-shot seed {task.seed}",
                    "accuracy": float(np.mean(predictions == test.labels)),
                    "fit_seconds": fitted - start,
                    "predict_seconds": time.perf_counter() - fitted,
                    **resolved_settings(instance),
                }
                done[task.seed] = record
                if log is not None:
                    log.append({**record, **stamp})
            rows = [done[seed] for seed in seeds]
            results[(instance.name, k)] = EvaluationResult(
                method=instance.name,
                accuracies=np.array([r["accuracy"] for r in rows]),
                episodes=np.array(seeds),
                fit_seconds=np.array([r["fit_seconds"] for r in rows]),
                predict_seconds=np.array([r["predict_seconds"] for r in rows]),
                seed=None,
                protocol={**protocol, "k_shot": k, "seeds": list(seeds), "setting": "inductive"},
                dataset=test.name,
            )
    return results
