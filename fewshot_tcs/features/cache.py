"""The feature cache on disk.

Layout: ``<cache>/features/<backbone>/<model key>/<items key>/`` holding ``features.npy`` (n, d), and with
views ``views.npy`` (n, V, d) and ``view_params.npy`` (n, V, 5), plus ``items.json`` (ids and content keys).
The model key covers the backbone's name, weights fingerprint and preprocessing; the items key each item's id
and content identity, so a changed file or transform is a miss. Arrays are written in place as memory maps; a
``done`` mask, flushed after the rows it marks, says which rows are valid. ``meta.json`` is written last: only
then is an entry read as complete. A killed pass resumes with the missing rows, and a new entry first copies
the rows of items it shares with earlier entries of the same model. Rows computed by the ranks of a torchrun
job go to shards first, merged by rank 0.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..data import ImageSource
from ..data.paths import write_atomic
from .featureset import FeatureSet
from .views import sample_view_params


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def item_keys(source: ImageSource) -> list[str]:
    return [digest([source.ids[i], source.identity(i)]) for i in range(len(source))]


class Entry:
    """One cache entry: the arrays of one model over one list of items."""

    ARRAYS = ("features", "views", "view_params")

    def __init__(self, path: Path):
        self.path = path

    @property
    def complete(self) -> bool:
        return (self.path / "meta.json").is_file()

    def item_keys(self) -> list[str] | None:
        try:
            return json.loads((self.path / "items.json").read_text())["keys"]
        except (OSError, ValueError, KeyError):
            return None

    def open(self, mode: str = "r") -> dict[str, np.ndarray]:
        arrays = {}
        for name in self.ARRAYS:
            file = self.path / f"{name}.npy"
            if file.exists():
                arrays[name] = np.load(file, mmap_mode=mode)
        return arrays

    def done(self) -> np.ndarray:
        if self.complete:
            return np.ones(len(self.item_keys() or []), dtype=bool)
        file = self.path / "done.npy"
        return np.load(file, mmap_mode="r") if file.exists() else np.zeros(0, dtype=bool)


def create_arrays(entry: Entry, n: int, dim: int, views: int, dtype: np.dtype) -> dict[str, np.ndarray]:
    shapes = {"features": (n, dim)}
    if views:
        shapes["views"] = (n, views, dim)
        shapes["view_params"] = (n, views, 5)
    arrays = {}
    for name, shape in shapes.items():
        file = entry.path / f"{name}.npy"
        array_dtype = np.float32 if name == "view_params" else dtype
        if file.exists():
            arrays[name] = np.load(file, mmap_mode="r+")
        else:
            arrays[name] = np.lib.format.open_memmap(file, mode="w+", dtype=array_dtype, shape=shape)
            _reserve(file)
    done_file = entry.path / "done.npy"
    if done_file.exists():
        done = np.load(done_file, mmap_mode="r+")
    else:
        done = np.lib.format.open_memmap(done_file, mode="w+", dtype=bool, shape=(n,))
        _reserve(done_file)
    arrays["done"] = done
    return arrays


def _reserve(file: Path) -> None:
    """Allocate a new memory-mapped file's blocks now: a full disk is then a clear error here, not a bus
    error when the pass first writes to a page the disk has no room for."""
    size = file.stat().st_size
    try:
        with open(file, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, size)
    except AttributeError:  # no posix_fallocate on this platform
        return
    except OSError as error:
        if error.errno != errno.ENOSPC:
            return  # a file system that cannot preallocate: the sparse file still works
        raise OSError(
            errno.ENOSPC,
            f"no space left for the feature cache ({size / 2**20:.0f} MiB for {file}); free space there or point "
            "$FEWSHOT_TCS_CACHE (or cache_dir=) at a disk with room",
        ) from error


def _seed_from_siblings(entry: Entry, keys: list[str], arrays: dict[str, np.ndarray], limit: int = 8) -> int:
    """Copy rows of items already computed in other entries of the same model; return how many."""
    wanted = {k: i for i, k in enumerate(keys) if not arrays["done"][i]}
    copied = 0
    siblings = sorted(
        (p for p in entry.path.parent.iterdir() if p != entry.path and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )[:limit]
    for sibling_path in siblings:
        if not wanted:
            break
        sibling = Entry(sibling_path)
        sibling_keys, sibling_done = sibling.item_keys(), sibling.done()
        if sibling_keys is None or len(sibling_done) != len(sibling_keys):
            continue
        theirs = sibling.open()
        if any(
            name not in theirs or theirs[name].shape[1:] != arrays[name].shape[1:] for name in arrays if name != "done"
        ):
            continue
        pairs = [(wanted.pop(k), j) for j, k in enumerate(sibling_keys) if k in wanted and sibling_done[j]]
        if pairs:
            ours, source_rows = (np.array(v) for v in zip(*pairs, strict=True))
            for name in theirs:
                arrays[name][ours] = theirs[name][source_rows]
                arrays[name].flush()
            arrays["done"][ours] = True
            arrays["done"].flush()
            copied += len(pairs)
    return copied


def prepare_entry(
    entry: Entry, source: ImageSource, keys: list[str], dim: int, views: int, view_seed: int, dtype: np.dtype
) -> dict[str, np.ndarray]:
    """The entry's arrays, with rows of killed sharded runs and of sibling entries already filled in."""
    entry.path.mkdir(parents=True, exist_ok=True)
    (entry.path / "items.json").write_text(json.dumps({"ids": list(source.ids), "keys": keys}))
    arrays = create_arrays(entry, len(keys), dim, views, dtype)
    merge_shards(entry, arrays)
    _seed_from_siblings(entry, keys, arrays)
    if views:
        arrays["view_params"][:] = sample_view_params(source.ids, views, seed=view_seed)
        arrays["view_params"].flush()
    return arrays


def complete(entry: Entry, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Flush the rows, then declare the entry complete (meta.json last)."""
    for array in arrays.values():
        array.flush()
    del arrays
    write_atomic(entry.path / "meta.json", json.dumps(meta, indent=1))
    (entry.path / "done.npy").unlink(missing_ok=True)


def merge_shards(entry: Entry, arrays: dict[str, np.ndarray]) -> int:
    """Copy the finished rows of every shard into the entry's arrays, then delete the shards."""
    merged = 0
    for shard_path in sorted((entry.path / "shards").glob("*-of-*")):
        rows_file = shard_path / "rows.npy"
        if rows_file.is_file() and (shard_path / "done.npy").is_file():
            rows = np.load(rows_file)
            shard = Entry(shard_path)
            theirs, done = shard.open(), np.asarray(np.load(shard_path / "done.npy"))
            for name in ("features", "views"):
                if name in theirs and name in arrays:
                    arrays[name][rows[done]] = theirs[name][done]
                    arrays[name].flush()
            arrays["done"][rows[done]] = True
            arrays["done"].flush()
            merged += int(done.sum())
            del theirs
        shutil.rmtree(shard_path)
    return merged


def request_key(name: str, pretrained: bool, weights: Any, seed: int | None, settings: dict) -> str:
    """What a call asked for; a weights file counts by path, size and modification time."""
    file = None
    if weights is not None and Path(weights).exists():
        stat = Path(weights).stat()
        file = [str(Path(weights).resolve()), stat.st_size, stat.st_mtime_ns]
    return digest({"name": name, "pretrained": pretrained, "weights": file or weights, "seed": seed, **settings})


class FeatureCacheError(ValueError):
    """A cache entry that cannot be read: the message names it and how to clear it."""


def open_complete(entry: Entry, source: ImageSource, root: Path) -> FeatureSet:
    """A complete entry as a FeatureSet, checked enough that damage is an error naming the entry."""
    try:
        meta = json.loads((entry.path / "meta.json").read_text())
        arrays = entry.open()
        rows = len(arrays["features"])
        if rows != len(source):
            raise ValueError(f"{rows} rows for {len(source)} items")
        return feature_set(source, arrays, meta, entry.path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FeatureCacheError(
            f"the feature cache entry {entry.path} is damaged ({type(error).__name__}: {error}); delete that "
            f"folder and run again to compute it anew (deleting the whole cache, {root}, is always safe)"
        ) from error


def feature_set(source: ImageSource, arrays: dict[str, np.ndarray], meta: dict, path: Path | None) -> FeatureSet:
    return FeatureSet(
        source.ids,
        arrays["features"],
        backbone=meta["backbone"],
        meta={**meta, "cache": str(path) if path else None},
        views=arrays.get("views"),
        view_params=arrays.get("view_params"),
    )
