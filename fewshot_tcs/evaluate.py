"""Methods x episodes -> per-episode accuracy, mean and 95% interval, resumable from a results file."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .data import ImageSource
from .episodes import Episode, EpisodeSampler, check_episodes, load_episodes
from .features import FeatureSet
from .methods import FewShotMethod, ItemSet
from .results import EvaluationResult, ResultsLog

EpisodesLike = EpisodeSampler | Iterable[Episode] | str | os.PathLike


def resolve_episodes(episodes: EpisodesLike, source: ImageSource | None = None) -> list[Episode]:
    """Episodes from a sampler, a list, or an episode file (checked against ``source`` when given)."""
    if isinstance(episodes, (str, os.PathLike)):
        return load_episodes(Path(episodes), source)
    if isinstance(episodes, EpisodeSampler):
        return list(episodes.episodes())
    episodes = list(episodes)
    if not episodes or not all(isinstance(e, Episode) for e in episodes):
        raise ValueError("episodes must be an EpisodeSampler, a non-empty list of Episode, or an episode file")
    if source is not None:
        check_episodes(episodes, source)
    return episodes


def _as_feature_set(features: Any, source: ImageSource | None) -> FeatureSet | None:
    if features is None or isinstance(features, FeatureSet):
        return features
    if source is None:
        raise ValueError("features given as an array need source= to map item ids to rows; or pass a FeatureSet")
    features = np.asarray(features)
    if features.ndim != 2 or len(features) != len(source):
        raise ValueError(
            f"features must be ({len(source)}, d), one row per item of {source.name}; got {features.shape}"
        )
    return FeatureSet(source.ids, features, backbone="array")


def _item_set(
    ids: tuple[str, ...], labels: tuple[int, ...] | None, features: FeatureSet | None, source: ImageSource | None
) -> ItemSet:
    rows = features.rows(ids) if features is not None else None
    return ItemSet(
        features=np.asarray(features.values[rows], dtype=np.float32) if rows is not None else None,
        images=source.subset(source.index_of(ids)) if source is not None else None,
        labels=np.asarray(labels, dtype=np.int64) if labels is not None else None,
        views=np.asarray(features.views[rows], dtype=np.float32)
        if rows is not None and features.views is not None
        else None,
        view_params=np.asarray(features.view_params[rows])
        if rows is not None and features.view_params is not None
        else None,
    )


def evaluate(
    method: FewShotMethod,
    episodes: EpisodesLike,
    features: FeatureSet | np.ndarray | None = None,
    source: ImageSource | None = None,
    out: str | os.PathLike | None = None,
    quiet: bool = False,
    name: str | None = None,
) -> EvaluationResult:
    """Fit ``method`` on each episode's support, score it on the queries.

    Args:
        episodes: an EpisodeSampler, a list of Episode, or an episode file.
        features: teacher features of the items (a FeatureSet, or an array aligned with ``source``).
        source: the images, for methods that need them and to check episodes belong to this data.
        out: a JSON Lines results file; each episode's record is appended as it finishes, and a second
            call with the same file skips the episodes already there.
        name: the method's name in results (default ``method.name``).
    """
    name = name or getattr(method, "name", type(method).__name__)
    needs = getattr(method, "needs", "features")
    if features is None and "features" in needs:
        raise ValueError(
            f"method {name!r} works on teacher features: pass features= (a FeatureSet from "
            "fewshot_tcs.features, or an array aligned with source=)"
        )
    if source is None and "images" in needs:
        raise ValueError(f"method {name!r} trains on images: pass source=")
    episode_list = resolve_episodes(episodes, source)
    feature_set = _as_feature_set(features, source)
    log = ResultsLog(out) if out is not None else None
    setting = "transductive" if getattr(method, "transductive", False) else "inductive"
    records = []
    for episode in tqdm(episode_list, desc=f"{name} on {episode_list[0].dataset or 'episodes'}", disable=quiet):
        record = log.get(name, episode.index, episode.key) if log else None
        if record is None:
            record = _run_episode(method, episode, feature_set, source, name)
            if log:
                log.append(record)
        records.append(record)
    first = episode_list[0]
    protocol = {
        "n_way": first.n_way,
        "k_shot": len(first.support) // first.n_way,
        "n_query": len(first.query) // first.n_way,
        "n_unlabeled": len(first.unlabeled) // first.n_way,
        "setting": setting,
    }
    return EvaluationResult(
        method=name,
        accuracies=np.array([r["accuracy"] for r in records]),
        episodes=np.array([r["episode"] for r in records]),
        fit_seconds=np.array([r["fit_seconds"] for r in records]),
        predict_seconds=np.array([r["predict_seconds"] for r in records]),
        seed=first.seed,
        protocol=protocol,
        dataset=first.dataset,
    )


def _run_episode(
    method: FewShotMethod, episode: Episode, features: FeatureSet | None, source: ImageSource | None, name: str
) -> dict:
    support = _item_set(episode.support, episode.support_labels, features, source)
    query = _item_set(episode.query, None, features, source)
    unlabeled = _item_set(episode.unlabeled, None, features, source) if episode.unlabeled else None
    start = time.perf_counter()
    method.fit(support, unlabeled=unlabeled)
    fitted = time.perf_counter()
    predictions = np.asarray(method.predict(query))
    done = time.perf_counter()
    labels = np.asarray(episode.query_labels)
    correct = int((predictions == labels).sum())
    return {
        "method": name,
        "episode": episode.index,
        "key": episode.key,
        "dataset": episode.dataset,
        "seed": episode.seed,
        "accuracy": correct / len(labels),
        "correct": correct,
        "total": len(labels),
        "fit_seconds": fitted - start,
        "predict_seconds": done - fitted,
    }
