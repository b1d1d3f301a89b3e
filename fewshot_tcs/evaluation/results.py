"""Evaluation results: per-episode records, means with 95% intervals, and the resumable results file."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CONFIDENCE = 0.95
MEAN_INTERVAL = "student-t"  # recorded with every result
PROPORTION_INTERVAL = "wilson"


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """Student's t quantile for a two-sided ``confidence`` interval of a mean of ``n`` values (n - 1 degrees
    of freedom): 2.776 at n = 5, 2.045 at n = 30, 1.984 at n = 100, 1.964 at n = 600."""
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, n - 1))


def confidence_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Mean and half-width ``t * s / sqrt(n)`` of a mean over episodes or seeds (or of paired differences),
    s the sample standard deviation and t Student's quantile with n - 1 degrees of freedom; nan for n < 2.

    Student's t, not the normal 1.96: over 5 episodes the normal interval is 30 % too narrow; from a few
    hundred episodes the two agree to three digits.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no accuracies to summarise")
    if values.size < 2:
        return float(values.mean()), math.nan
    half = t_quantile(values.size, confidence) * values.std(ddof=1) / math.sqrt(values.size)
    return float(values.mean()), float(half)


def format_mean(mean: float, half: float) -> str:
    """``67.91 +- 3.75``: a mean accuracy and its interval's half-width in percent, as every table and summary
    writes it."""
    return f"{100 * mean:.2f} +- {100 * half:.2f}"


def format_bounds(low: float, high: float) -> str:
    """``80.5 to 95.5 %``: an interval reported as its bounds (Wilson's), in percent."""
    return f"{100 * low:.1f} to {100 * high:.1f} %"


def proportion_interval(correct: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Bounds of the Wilson score interval for an accuracy of ``correct`` out of ``total`` images.

    Wilson rather than the normal approximation, which collapses to a zero width at 0 % and 100 % and is far
    too narrow for small n (8 of 8 right is consistent with a true accuracy of 68 %); rather than
    Clopper-Pearson, whose guaranteed coverage makes it wider than needed on average. Its bounds stay in
    [0, 1] and it is asymmetric near them, so it is reported as bounds, not as +-.
    """
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total and total >= 1; got {correct} of {total}")
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class EvaluationResult:
    """Per-episode accuracies of one method on one set of episodes, with their summary."""

    method: str
    accuracies: np.ndarray
    episodes: np.ndarray
    fit_seconds: np.ndarray
    predict_seconds: np.ndarray
    seed: int | None
    protocol: dict = field(default_factory=dict)
    dataset: str = ""

    @property
    def n(self) -> int:
        return int(self.accuracies.size)

    @property
    def mean(self) -> float:
        return confidence_interval(self.accuracies)[0]

    @property
    def ci95(self) -> float:
        return confidence_interval(self.accuracies)[1]

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if self.n > 1 else math.nan

    def summary(self) -> str:
        p = self.protocol
        shape = f"{p.get('n_way')}-way {p.get('k_shot')}-shot" if p.get("n_way") else "episodes"
        return (
            f"{self.method}: {format_mean(self.mean, self.ci95)} % "
            f"({shape}, {p.get('setting', 'inductive')}, n={self.n}, seed={self.seed}, {self.dataset})"
        )

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "dataset": self.dataset,
            "seed": self.seed,
            "protocol": self.protocol,
            "n": self.n,
            "mean": self.mean,
            "ci95": self.ci95,
            "interval": MEAN_INTERVAL,
            "std": self.std,
            "fit_seconds_per_episode": float(np.mean(self.fit_seconds)),
            "predict_seconds_per_episode": float(np.mean(self.predict_seconds)),
            "accuracies": self.accuracies.tolist(),
            "episodes": self.episodes.tolist(),
        }


# Settings that change where or how fast a method runs, not its results: a resume may change them.
UNCHECKED_SETTINGS = frozenset({"cache_dir", "quiet", "device", "teacher_runtime", "teacher_weights"})


def plain(value: Any) -> Any:
    """``value`` as a results file holds it (JSON): tuples as lists, numpy scalars as numbers, other objects
    as their text, so settings compare equal before and after a round trip through the file."""

    def fallback(x: Any) -> Any:
        if isinstance(x, (np.generic, np.ndarray)):
            return x.tolist()
        if callable(x) and hasattr(x, "__qualname__"):
            return f"{getattr(x, '__module__', '')}.{x.__qualname__}"
        text = str(x)
        return type(x).__qualname__ if " at 0x" in text else text  # no memory address: it differs per process

    return json.loads(json.dumps(value, default=fallback))


def _teacher_metas(features: Any) -> list[dict]:
    """The pass metadata of each teacher behind ``features`` (one entry for a single teacher)."""
    return features.meta.get("teachers") or [features.meta]


def teacher_provenance(features: Any) -> list[dict]:
    """Which teacher(s) made ``features`` (a FeatureSet): name, weights fingerprint and stored dtype of each.

    Features made outside a teacher pass (an array, pixels) have no fingerprint; a digest of their values
    stands in for it.
    """
    metas = _teacher_metas(features)
    teachers = [
        {"backbone": m.get("backbone", features.backbone), "weights": m.get("weights"), "dtype": m.get("dtype")}
        for m in metas
    ]
    if any(t["weights"] is None for t in teachers):
        values = np.ascontiguousarray(features.values)
        digest = hashlib.blake2b(values.tobytes(), digest_size=8).hexdigest()
        teachers = [{**t, "weights": t["weights"] or f"values:{digest}"} for t in teachers]
    return teachers


def method_settings(method: Any, features: Any = None) -> dict:
    """What a method ran with: its class, its parameters (``get_params``) and, for methods that train on
    images, the teacher views it read; settings in UNCHECKED_SETTINGS are left out."""
    if hasattr(method, "effective_params"):  # defaults included, so a default that changes is seen
        params = method.effective_params()
    elif hasattr(method, "get_params"):
        params = method.get_params(deep=False)
    else:
        params = {k: v for k, v in vars(method).items() if not k.startswith("_") and not k.endswith("_")}
    settings = {"class": f"{type(method).__module__}.{type(method).__qualname__}"}
    settings.update((k, v) for k, v in sorted(params.items()) if k not in UNCHECKED_SETTINGS)
    if features is not None and "images" in getattr(method, "needs", "features"):
        settings["teacher views"] = [[m.get("views"), m.get("view_seed")] for m in _teacher_metas(features)]
    return plain(settings)


def resolved_settings(method: Any) -> dict:
    """``{"resolved": ...}``: what a fitted method's "auto" settings became (``method.resolved_settings()``,
    e.g. a student's learning rate and mimic weight), for its record; ``{}`` for a method without them. A
    record then tells which value a default that has since changed ran with."""
    resolved = method.resolved_settings() if hasattr(method, "resolved_settings") else {}
    return {"resolved": plain(resolved)} if resolved else {}


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    """``key: old != new`` for every leaf where two plain values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            line
            for key in sorted(set(old) | set(new), key=str)
            for line in _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        ]
    return [] if old == new else [f"{where or 'value'}: {old!r} != {new!r}"]


# "auto" settings chosen from each episode's images (tcs/resolution.py): they may differ between episodes of a run.
RESOLVED_PER_EPISODE = frozenset({"image_size", "clean_crop"})


def _shared_resolved(records: dict[tuple[str, int], dict]) -> dict[str, dict[str, Any]]:
    """Per method, each resolved "auto" setting on whose value all its records that carry it agree (those in
    RESOLVED_PER_EPISODE left out)."""
    seen: dict[str, dict[str, list]] = {}
    for (method, _), record in records.items():
        for key, value in (record.get("resolved") or {}).items():
            values = seen.setdefault(method, {}).setdefault(key, [])
            if value not in values:  # compared as values: 2 and 2.0 agree
                values.append(value)
    return {
        method: {k: v[0] for k, v in keys.items() if len(v) == 1 and k not in RESOLVED_PER_EPISODE}
        for method, keys in seen.items()
    }


class ResultsLog:
    """A JSON Lines file of per-episode records, appended as episodes finish.

    Reopening a file from a killed run drops a half-written last line and serves the finished records,
    so the same evaluation resumes instead of starting over. Records carry what produced them (``run``: the
    teacher(s) and protocol, shared by every record of the file; ``settings``: the method's), and
    :meth:`check` refuses a run that would mix other settings into the file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[tuple[str, int], dict] = {}
        if self.path.exists():
            self._read()
        self._resolved_before = _shared_resolved(self.records)  # what earlier runs wrote: append checks against it

    def _read(self) -> None:
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        if good_end < len(data):  # the last write was interrupted
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
        for line_no, line in enumerate(data[:good_end].decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                self.records[(record["method"], int(record["episode"]))] = record
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"{self.path}:{line_no} is not a results record ({error}); use another results file"
                ) from error

    def get(self, method: str, episode: int, key: str) -> dict | None:
        """The finished record of this method on this episode, if any."""
        record = self.records.get((method, episode))
        if record is not None and record.get("key") != key:
            raise ValueError(
                f"{self.path} holds {method} on a different episode {episode} (key {record.get('key')} != {key}): "
                "it belongs to other episodes. Use another results file."
            )
        return record

    def check(self, method: str, run: dict, settings: dict) -> dict:
        """Refuse to mix runs: every record of the file must share ``run`` (teacher(s), protocol) and this
        method's records its ``settings``. Returns the stamp to add to each new record."""
        stamp = {"run": plain(run), "settings": plain(settings)}
        unchecked = 0
        for (name, episode), record in self.records.items():
            if "run" not in record:
                unchecked += 1
                continue
            differences = _differences(record["run"], stamp["run"])
            if not differences and name == method:
                differences = _differences(record.get("settings"), stamp["settings"])
            if differences:
                raise ValueError(
                    f"{self.path} holds {name} results (episode {episode}) of another run; this one differs in "
                    f"{'; '.join(differences[:4])}{' ...' if len(differences) > 4 else ''}. Write to another "
                    "results file (another --out folder), or delete this one to start over."
                )
        if unchecked:
            log.warning(
                "%s: %d records were written before results recorded their teacher and settings; they are "
                "reused without that check",
                self.path,
                unchecked,
            )
        return stamp

    def append(self, record: dict) -> None:
        """Write a finished record; refuse one whose "auto" settings resolved otherwise than every record of
        its method this file held when opened (a default's rule changed since: resuming would mix the two)."""
        before = self._resolved_before.get(record["method"], {})
        for key, value in (record.get("resolved") or {}).items():
            if key in before and before[key] != value:
                raise ValueError(
                    f"{self.path} holds {record['method']} records whose {key} resolved to {before[key]!r}; this "
                    f"run resolved it to {value!r}: a default's rule has changed since they ran, and resuming "
                    "would mix the two. Write to another results file (another --out folder), or rename the old "
                    "records' method."
                )
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.records[(record["method"], int(record["episode"]))] = record
