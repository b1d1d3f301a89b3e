"""Methods x episodes -> per-episode accuracy, mean and 95% interval, resumable from a results file."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import distributed
from ..data import ImageSource
from ..episodes import Episode, EpisodeSampler, check_episodes, load_episodes
from ..features import FeatureSet
from ..methods import FewShotMethod, ItemSet
from .results import EvaluationResult, ResultsLog, method_settings, resolved_settings, teacher_provenance

EpisodesLike = EpisodeSampler | Iterable[Episode] | str | os.PathLike
# Features gathered per batch of episodes: small enough to stay in cache, large enough to amortise the calls.
BATCH_BYTES = 8 << 20


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


def item_set(
    ids: tuple[str, ...], labels: tuple[int, ...] | None, features: FeatureSet | None, source: ImageSource | None
) -> ItemSet:
    """The items ``ids`` as a method receives them: teacher features (and cached views) and images."""
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
    quiet: bool | None = None,
    name: str | None = None,
    batched: bool | None = None,
) -> EvaluationResult:
    """Fit ``method`` on each episode's support, score it on the queries.

    Args:
        episodes: an EpisodeSampler, a list of Episode, or an episode file.
        features: teacher features of the items (a FeatureSet, or an array aligned with ``source``).
        source: the images, for methods that need them and to check episodes belong to this data.
        out: a JSON Lines results file; each episode's record is appended as it finishes, and a second
            call with the same file skips the episodes already there.
        name: the method's name in results (default ``method.name``).
        batched: evaluate many episodes at once as tensor operations, with the same results, through the
            method's ``fit_episodes``/``predict_episodes`` (see FewShotMethod). None (default) does so
            whenever the method offers them; records then carry each batch's seconds split evenly.
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
    can_batch = features is not None and _can_batch(method)
    if batched and not can_batch:
        raise ValueError(
            f"method {name!r} has no batched evaluation on features (fit_episodes/predict_episodes defined with "
            "its fit and predict); pass batched=False"
        )
    episode_list = resolve_episodes(episodes, source)
    feature_set = _as_feature_set(features, source)
    setting = "transductive" if getattr(method, "transductive", False) else "inductive"
    parallel = distributed.init()
    first = episode_list[0]
    protocol = {
        "n_way": first.n_way,
        "k_shot": len(first.support) // first.n_way,
        "n_query": len(first.query) // first.n_way,
        "n_unlabeled": len(first.unlabeled) // first.n_way,
        "setting": setting,
    }
    log = ResultsLog(out) if out is not None and distributed.is_main() else None
    if log is not None:
        run = {
            "teacher": teacher_provenance(feature_set) if feature_set is not None else None,
            "protocol": {"dataset": first.dataset, **{k: v for k, v in protocol.items() if k != "setting"}},
        }
        stamp = log.check(name, run, method_settings(method, feature_set))
    records = [log.get(name, e.index, e.key) if log else None for e in episode_list]
    if parallel:
        records = distributed.broadcast(records)  # rank 0 read the results file
    todo = [i for i, record in enumerate(records) if record is None]
    mine = todo[distributed.rank() :: distributed.world_size()] if parallel else todo

    def run(positions: list[int]) -> Iterator[list[tuple[int, dict]]]:
        """(position, record) lists as episodes finish."""
        if can_batch and batched is not False:
            runs = _run_batches(method, [episode_list[i] for i in positions], feature_set, name, out is not None)
        else:
            runs = ([_run_episode(method, episode_list[i], feature_set, source, name)] for i in positions)
        done = iter(positions)
        for finished in runs:
            yield [(next(done), record) for record in finished]

    desc = f"{name} on {episode_list[0].dataset or 'episodes'}"
    quiet = True if not distributed.is_main() else quiet
    with tqdm(total=len(records), initial=len(records) - len(todo), desc=desc, disable=quiet) as bar:
        for finished in _gathered(run(mine)) if parallel else run(mine):
            for position, record in finished:
                if log:
                    log.append({**record, **stamp})
                records[position] = record
            bar.update(len(finished))
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


def _gathered(local: Iterator[list[tuple[int, dict]]]) -> Iterator[list[tuple[int, dict]]]:
    """Under torchrun: every rank's finished records, round by round, on every rank (rank 0 writes them)."""
    exhausted = False
    while True:
        chunk = None if exhausted else next(local, None)
        exhausted = chunk is None
        everyone = distributed.all_gather((chunk or [], exhausted))
        merged = [pair for pairs, _ in everyone for pair in pairs]
        if merged:
            yield merged
        if all(done for _, done in everyone):
            return


def _run_episode(
    method: FewShotMethod, episode: Episode, features: FeatureSet | None, source: ImageSource | None, name: str
) -> dict:
    support = item_set(episode.support, episode.support_labels, features, source)
    query = item_set(episode.query, None, features, source)
    unlabeled = item_set(episode.unlabeled, None, features, source) if episode.unlabeled else None
    start = time.perf_counter()
    method.fit(support, unlabeled=unlabeled)
    fitted = time.perf_counter()
    predictions = np.asarray(method.predict(query))
    done = time.perf_counter()
    labels = np.asarray(episode.query_labels)
    record = _record(name, episode, int((predictions == labels).sum()), len(labels), fitted - start, done - fitted)
    return {**record, **resolved_settings(method)}


def _record(
    name: str, episode: Episode, correct: int, total: int, fit_seconds: float, predict_seconds: float, keyed=True
) -> dict:
    """One episode's results record; ``keyed`` adds the episode's key (a hash) that results files need."""
    return {
        "method": name,
        "episode": episode.index,
        "key": episode.key if keyed else None,
        "dataset": episode.dataset,
        "seed": episode.seed,
        "accuracy": correct / total,
        "correct": correct,
        "total": total,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
    }


def _can_batch(method: FewShotMethod) -> bool:
    """Whether ``method`` evaluates many episodes at once: it has ``fit_episodes`` and ``predict_episodes``,
    and no subclass below the classes that define them changes ``fit`` or prediction (such a subclass is
    evaluated episode by episode, through its own ``fit``)."""
    mro = type(method).__mro__

    def owner(attribute: str) -> type | None:
        return next((cls for cls in mro if attribute in vars(cls)), None)

    hooks = [owner("fit_episodes"), owner("predict_episodes")]
    if None in hooks:
        return False
    plain = [cls for a in ("fit", "predict", "predict_proba", "decision_function") if (cls := owner(a)) is not None]
    return all(issubclass(hook, cls) for hook in hooks for cls in plain)


def _run_batches(
    method: Any, episodes: list[Episode], features: FeatureSet, name: str, keyed: bool
) -> Iterator[list[dict]]:
    """Records of ``episodes``, in order, one list per batch of episodes evaluated as tensors.

    Consecutive episodes of one shape (support, query and unlabelled counts) are evaluated together, in
    batches of about BATCH_BYTES of features. ``keyed`` adds the episode keys (a hash each) that results
    files need.
    """
    start = 0
    while start < len(episodes):
        shape = _shape(episodes[start])
        end = next((i for i in range(start, len(episodes)) if _shape(episodes[i]) != shape), len(episodes))
        yield from _run_group(method, episodes[start:end], features, name, keyed)
        start = end


def _shape(episode: Episode) -> tuple[int, int, int]:
    return len(episode.support), len(episode.query), len(episode.unlabeled)


def _gather(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` ``(n, d)`` at ``index`` ``(E, m)`` -> ``(E, m, d)``."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[1])


def _run_group(
    method: Any, episodes: list[Episode], features: FeatureSet, name: str, keyed: bool
) -> Iterator[list[dict]]:
    n_support, n_query, n_unlabeled = _shape(episodes[0])
    # Row indices of every episode in one lookup; only the rows in use are then read (and converted to
    # float32) once, from a memory map or a float16 cache, into a table that batches gather from.
    rows = features.rows([i for e in episodes for i in (*e.support, *e.query, *e.unlabeled)])
    used = np.zeros(len(features), dtype=bool)
    used[rows] = True
    table = torch.from_numpy(np.asarray(features.values[np.flatnonzero(used)], dtype=np.float32))
    local = torch.from_numpy((np.cumsum(used) - 1)[rows].reshape(len(episodes), -1))
    support_labels = torch.from_numpy(np.array([e.support_labels for e in episodes], dtype=np.int64))
    query_labels = torch.from_numpy(np.array([e.query_labels for e in episodes], dtype=np.int64))
    q_end = n_support + n_query
    size = max(1, BATCH_BYTES // (local.shape[1] * table.shape[1] * 4))
    for start in range(0, len(episodes), size):
        batch, index = episodes[start : start + size], local[start : start + size]
        support, query = _gather(table, index[:, :n_support]), _gather(table, index[:, n_support:q_end])
        unlabeled = _gather(table, index[:, q_end:]) if n_unlabeled else None
        began = time.perf_counter()
        try:
            fitted = method.fit_episodes(support, support_labels[start : start + size], unlabeled)
            fit_done = time.perf_counter()
            predictions = method.predict_episodes(fitted, query)
        except ValueError as error:
            raise ValueError(f"{name} on episodes {batch[0].index}..{batch[-1].index}: {error}") from error
        predict_done = time.perf_counter()
        correct = (predictions == query_labels[start : start + size]).sum(dim=1).tolist()
        fit_seconds, predict_seconds = (fit_done - began) / len(batch), (predict_done - fit_done) / len(batch)
        yield [
            _record(name, episode, c, n_query, fit_seconds, predict_seconds, keyed)
            for episode, c in zip(batch, correct, strict=True)
        ]
