"""Few-shot episodes: the sampler, the Episode record and episode files (JSON Lines)."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from torch.utils.data import Sampler

from .data import ConcatSource, ImageSource, load_source
from .data.paths import write_atomic

log = logging.getLogger(__name__)


class EpisodeFileError(ValueError):
    """An episode file is malformed or belongs to other data."""


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot task: item ids and episode labels (0..n_way-1, indexing ``classes``).

    ``unlabeled`` items belong to the episode's classes and are disjoint from support and query; their
    labels are recorded for analysis only and never handed to a method.
    """

    index: int
    seed: int
    classes: tuple[str, ...]
    support: tuple[str, ...]
    support_labels: tuple[int, ...]
    query: tuple[str, ...]
    query_labels: tuple[int, ...]
    unlabeled: tuple[str, ...] = ()
    unlabeled_labels: tuple[int, ...] = ()
    dataset: str = ""
    split: str | None = None
    unlabeled_split: str | None = None
    fingerprint: str = ""
    protocol: dict = field(default_factory=dict, compare=False)

    @property
    def n_way(self) -> int:
        return len(self.classes)

    @property
    def key(self) -> str:
        """A short hash of the episode's items and labels: equal keys mean the same task."""
        payload = json.dumps([self.support, self.support_labels, self.query, self.query_labels, self.unlabeled])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        record = asdict(self)
        if record["unlabeled_split"] is None:  # files of one split stay byte for byte as they were
            del record["unlabeled_split"]
        return json.dumps(record, separators=(",", ":"))

    @classmethod
    def from_dict(cls, record: dict) -> Episode:
        tuples = ("classes", "support", "support_labels", "query", "query_labels", "unlabeled", "unlabeled_labels")
        values = {k: tuple(record.get(k, ())) if k in tuples else record.get(k) for k in cls.__dataclass_fields__}
        values["protocol"] = record.get("protocol") or {}
        values["fingerprint"] = values["fingerprint"] or ""
        values["dataset"] = values["dataset"] or ""
        return cls(**values)


class EpisodeSampler(Sampler[list[int]]):
    """Samples N-way K-shot episodes from a source, deterministically for a seed.

    Episode ``i`` draws from its own generator seeded by ``(seed, i)``, so it is the same whatever the
    process, the Python hash seed, or which other episodes were drawn. Iterating yields each episode's
    item positions (support class by class, then queries, then unlabelled items), so the sampler works as a
    DataLoader ``batch_sampler``; :meth:`episodes` yields :class:`Episode` records.

    Args:
        n_query: query images per class.
        n_unlabeled: unlabelled images per class (semi-supervised episodes, Ren et al. 2018).
        unlabeled_source: draw the unlabelled images from this source's images of the same class (e.g. the
            training split, while support and queries come from the test split); episodes then name items
            of both, and :func:`episode_source` rebuilds the pair from an episode file.
        skip_small_classes: leave out classes with too few images instead of raising.
    """

    def __init__(
        self,
        source: ImageSource,
        n_way: int,
        k_shot: int,
        n_query: int = 15,
        n_episodes: int = 600,
        seed: int = 0,
        n_unlabeled: int = 0,
        skip_small_classes: bool = False,
        unlabeled_source: ImageSource | None = None,
    ):
        for arg, value, minimum in (
            ("n_way", n_way, 2),
            ("k_shot", k_shot, 1),
            ("n_query", n_query, 1),
            ("n_episodes", n_episodes, 1),
            ("n_unlabeled", n_unlabeled, 0),
        ):
            if not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"{arg} must be an integer >= {minimum}; got {value!r}")
        super().__init__()
        self.n_way, self.k_shot, self.n_query = int(n_way), int(k_shot), int(n_query)
        self.n_episodes, self.seed, self.n_unlabeled = int(n_episodes), int(seed), int(n_unlabeled)
        self.split, self.unlabeled_split = source.split, None
        self._pool: list[np.ndarray] | None = None
        by_class = source.indices_by_class()
        if unlabeled_source is not None:
            if unlabeled_source.classes != source.classes:
                raise ValueError(f"unlabeled_source {unlabeled_source.name} has other classes than {source.name}")
            self._pool = [len(source) + items for items in unlabeled_source.indices_by_class()]
            short = [source.classes[c] for c, items in enumerate(self._pool) if len(items) < self.n_unlabeled]
            if short:
                raise ValueError(f"{unlabeled_source.name}: classes {short[:5]} have fewer than {n_unlabeled} images")
            self.unlabeled_split = unlabeled_source.split
            source = ConcatSource([source, unlabeled_source])
        self.source = source
        self.per_class = self.k_shot + self.n_query + (0 if self._pool is not None else self.n_unlabeled)
        small = [(source.classes[c], len(items)) for c, items in enumerate(by_class) if len(items) < self.per_class]
        if small and not skip_small_classes:
            listed = ", ".join(f"{name!r} has {count}" for name, count in small[:5])
            more = f" and {len(small) - 5} more" if len(small) > 5 else ""
            raise ValueError(
                f"{source.name}: class {listed}{more} image(s); {self._needs()} needs {self.per_class} per class. "
                "Lower k_shot/n_query or pass skip_small_classes=True."
            )
        if small:
            log.warning("%s: skipping %d classes with fewer than %d images", source.name, len(small), self.per_class)
        self.eligible = [c for c, items in enumerate(by_class) if len(items) >= self.per_class]
        self._by_class = by_class
        if self.n_way > len(self.eligible):
            raise ValueError(
                f"{source.name}: {self.n_way}-way episodes need {self.n_way} classes with at least "
                f"{self.per_class} images each; only {len(self.eligible)} of {len(by_class)} classes qualify"
            )
        self._fingerprint = source.fingerprint()

    def _needs(self) -> str:
        unlabeled = f" and {self.n_unlabeled} unlabelled" if self.n_unlabeled else ""
        return f"{self.k_shot}-shot with {self.n_query} queries{unlabeled}"

    @property
    def protocol(self) -> dict:
        return {
            "n_way": self.n_way,
            "k_shot": self.k_shot,
            "n_query": self.n_query,
            "n_unlabeled": self.n_unlabeled,
            "n_episodes": self.n_episodes,
            "seed": self.seed,
        }

    def __len__(self) -> int:
        return self.n_episodes

    def positions(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Episode i as source positions: chosen classes, then support, query, unlabelled, each (n_way, m)."""
        if not 0 <= i < self.n_episodes:
            raise IndexError(f"episode {i} out of range 0..{self.n_episodes - 1}")
        rng = np.random.default_rng([self.seed, i])
        classes = rng.choice(np.asarray(self.eligible), size=self.n_way, replace=False)
        picks = np.stack([rng.permutation(self._by_class[c])[: self.per_class] for c in classes])
        k, q = self.k_shot, self.k_shot + self.n_query
        if self._pool is None:
            return classes, picks[:, :k], picks[:, k:q], picks[:, q:]
        pool = np.stack([rng.permutation(self._pool[c])[: self.n_unlabeled] for c in classes])
        return classes, picks[:, :k], picks[:, k:q], pool

    def __iter__(self) -> Iterator[list[int]]:
        for i in range(self.n_episodes):
            _, support, query, unlabeled = self.positions(i)
            yield np.concatenate([support.ravel(), query.ravel(), unlabeled.ravel()]).tolist()

    def __getitem__(self, i: int) -> Episode:
        classes, support, query, unlabeled = self.positions(i)
        ids = self.source.ids

        def flat(block: np.ndarray) -> tuple[tuple[str, ...], tuple[int, ...]]:
            return (
                tuple(ids[p] for p in block.ravel()),
                tuple(np.repeat(np.arange(self.n_way), block.shape[1]).tolist()),
            )

        (s_ids, s_y), (q_ids, q_y), (u_ids, u_y) = flat(support), flat(query), flat(unlabeled)
        return Episode(
            index=i,
            seed=self.seed,
            classes=tuple(self.source.classes[c] for c in classes),
            support=s_ids,
            support_labels=s_y,
            query=q_ids,
            query_labels=q_y,
            unlabeled=u_ids,
            unlabeled_labels=u_y,
            dataset=self.source.name,
            split=self.split,
            unlabeled_split=self.unlabeled_split,
            fingerprint=self._fingerprint,
            protocol=self.protocol,
        )

    def episodes(self) -> Iterator[Episode]:
        for i in range(self.n_episodes):
            yield self[i]


def save_episodes(episodes: Iterable[Episode], path: str | os.PathLike) -> Path:
    """Write episodes as JSON Lines, atomically (a killed write leaves no partial file).

    A ``.gz`` name is gzip-compressed without a timestamp or name, so the same episodes give the same bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(episode.to_json() + "\n" for episode in episodes).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    return write_atomic(path, data)


EPISODE_FILES = Path(__file__).resolve().parent / "episode_files"


def list_episode_files() -> list[str]:
    """Names of the episode files shipped with the package (``omniglot-small/5w5s``, ``cifar10/5w1s``, ...)."""
    return sorted(
        str(p.relative_to(EPISODE_FILES)).removesuffix(".jsonl.gz") for p in EPISODE_FILES.rglob("*.jsonl.gz")
    )


def named_episodes(name: str) -> Path:
    """A shipped episode file by name: ``omniglot-small/5w5s`` -> its ``.jsonl.gz`` inside the package."""
    path = EPISODE_FILES / f"{name}.jsonl.gz"
    if not path.is_file():
        raise FileNotFoundError(f"no episode file named {name!r}; shipped: {list_episode_files()}")
    return path


def load_episodes(path: str | os.PathLike, source: ImageSource | None = None) -> list[Episode]:
    """Read an episode file (a path, or the name of a shipped one such as ``omniglot-small/5w5s``); with
    ``source``, check it was sampled from the same data."""
    path = Path(path)
    if not path.is_file():
        if not (EPISODE_FILES / f"{path}.jsonl.gz").is_file():
            raise FileNotFoundError(f"episode file {path} does not exist; shipped by name: {list_episode_files()}")
        path = EPISODE_FILES / f"{path}.jsonl.gz"
    episodes = []
    with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                episodes.append(Episode.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, KeyError) as error:
                raise EpisodeFileError(f"{path}:{line_no} is not an episode record: {error}") from error
    if not episodes:
        raise EpisodeFileError(f"episode file {path} holds no episodes")
    if source is not None:
        check_episodes(episodes, source, where=str(path))
    return episodes


def episode_source(episodes: list[Episode], source: ImageSource) -> ImageSource:
    """The source that holds every item of ``episodes``: ``source`` itself, or, for episodes whose
    unlabelled images come from another split of the same named dataset, both splits together."""
    pool_split = episodes[0].unlabeled_split if episodes else None
    if pool_split is None or isinstance(source, ConcatSource):
        return source
    return ConcatSource([source, load_source(source.name, split=pool_split)])


def check_episodes(episodes: Iterable[Episode], source: ImageSource, where: str = "episodes") -> None:
    """Raise EpisodeFileError unless every episode was sampled from ``source``'s items."""
    fingerprint = source.fingerprint()
    for episode in episodes:
        if episode.fingerprint and episode.fingerprint != fingerprint:
            raise EpisodeFileError(
                f"{where} were sampled from {episode.dataset or 'other data'} (fingerprint {episode.fingerprint}), "
                f"but {source.name} has fingerprint {fingerprint}: the items differ. Sample new episodes for "
                "this data, or load the data the file was made from."
            )
        try:
            source.index_of(episode.support + episode.query + episode.unlabeled)
        except KeyError as error:
            raise EpisodeFileError(f"{where}: episode {episode.index} names {error.args[0]}") from None
