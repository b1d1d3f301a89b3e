"""The one teacher pass: pooled features of every item, cached on disk, resumable after a kill.

Cache layout: ``<cache>/features/<backbone>/<model key>/<items key>/`` holding ``features.npy`` (n, d), and
with views ``views.npy`` (n, V, d) and ``view_params.npy`` (n, V, 5), plus ``items.json`` (ids and content
keys). The model key covers the backbone's name, weights fingerprint and preprocessing; the items key each
item's id and content identity, so a changed file or transform is a miss. Arrays are written in place as
memory maps; a ``done`` mask, flushed after the rows it marks, says which rows are valid. ``meta.json`` is
written last: only then is an entry read as complete. A killed pass resumes with the missing rows, and a new
entry first copies the rows of items it shares with earlier entries of the same model.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from . import distributed
from .backbones.runtime import check_runtime, choose_runtime, onnx_forward, requested_runtime
from .data import ImageSource, ToRGB, as_any_images
from .data.paths import cache_root, folder_name
from .threads import available_cores
from .views import ViewTransform, sample_view_params

log = logging.getLogger(__name__)


@dataclass
class FeatureSet:
    """Features of a source's items: ``values`` is ``(n, d)``, row i belongs to ``ids[i]``.

    With augmented views, ``views`` is ``(n, V, d)`` and ``view_params`` ``(n, V, 5)`` (see views.py).
    Arrays may be read-only memory maps.
    """

    ids: tuple[str, ...]
    values: np.ndarray
    backbone: str
    meta: dict = field(default_factory=dict)
    views: np.ndarray | None = None
    view_params: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(features)``: the ``(n, d)`` values (float32 unless ``dtype`` says otherwise)."""
        values = np.asarray(self.values, dtype=dtype or np.float32)
        return values.copy() if copy else values

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.values):
            raise ValueError(f"{len(self.ids)} ids but {len(self.values)} feature rows")
        self._row = {item_id: k for k, item_id in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Positions of the given ids; KeyError naming the first id without features."""
        try:
            return np.fromiter((self._row[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as error:
            raise KeyError(f"no {self.backbone} features for item {error.args[0]!r}") from None

    def take(self, ids: Sequence[str]) -> np.ndarray:
        """Feature rows of the given ids, ``(len(ids), d)`` float32."""
        return np.asarray(self.values[self.rows(ids)], dtype=np.float32)

    def with_rows_of(self, other: FeatureSet) -> FeatureSet:
        """These rows followed by ``other``'s (the same backbone, other items). Items of ``other`` without
        views get NaN views, which nothing reads: views are for training items, never for queries."""
        views = view_params = None
        if self.views is not None:
            blank = np.full((len(other), *self.views.shape[1:]), np.nan, dtype=self.views.dtype)
            views = np.concatenate([self.views, blank if other.views is None else other.views])
            blank = np.full((len(other), *self.view_params.shape[1:]), np.nan, dtype=self.view_params.dtype)
            view_params = np.concatenate([self.view_params, blank if other.view_params is None else other.view_params])
        values = np.concatenate([self.values, other.values])
        return FeatureSet(self.ids + other.ids, values, self.backbone, dict(self.meta), views, view_params)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, ``(..., d)``; zero rows stay zero."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def pixel_features(source: ImageSource, size: int = 28, mode: str = "L", quiet: bool | None = None) -> FeatureSet:
    """Raw pixels as features: each image resized to ``size x size`` in ``mode``, scaled to [0, 1]."""
    to_rgb = ToRGB()
    values = np.empty((len(source), size * size * len(mode)), dtype=np.float32)
    for i in tqdm(range(len(source)), desc=f"pixels of {source.name}", disable=quiet):
        image = to_rgb(source.load(i)).convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        values[i] = np.asarray(image, dtype=np.float32).ravel() / 255.0
    return FeatureSet(source.ids, values, backbone=f"pixels{size}{mode}")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _item_keys(source: ImageSource) -> list[str]:
    return [_digest([source.ids[i], source.identity(i)]) for i in range(len(source))]


class _Entry:
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


def _create_arrays(entry: _Entry, n: int, dim: int, views: int, dtype: np.dtype) -> dict[str, np.ndarray]:
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


def _seed_from_siblings(entry: _Entry, keys: list[str], arrays: dict[str, np.ndarray], limit: int = 8) -> int:
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
        sibling = _Entry(sibling_path)
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


class _PassDataset(torch.utils.data.Dataset):
    """Items of a source for the teacher pass: the eval view, then each recorded augmented view."""

    def __init__(self, source: ImageSource, positions: np.ndarray, transform, view_transform, view_params):
        self.source, self.positions = source, positions
        self.transform, self.view_transform, self.view_params = transform, view_transform, view_params

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int]:
        i = int(self.positions[k])
        image = self.source.load(i)
        tensors = [self.transform(image)]
        if self.view_params is not None:
            tensors += [self.view_transform(image, p) for p in self.view_params[i]]
        return torch.stack(tensors), i


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_workers(n_items: int) -> int:
    """Loader processes: none for small jobs, otherwise up to 8 leaving one core to the model."""
    return 0 if n_items < 256 else max(0, min(8, available_cores() - 1))


def extract_features(
    backbone: Any,
    source: Any,
    items: Sequence[int] | None = None,
    *,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    views: int = 0,
    view_seed: int = 0,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    num_workers: int | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    dtype: str = "float32",
    seed: int | None = None,
    runtime: str = "auto",
    quiet: bool | None = None,
) -> FeatureSet:
    """Pooled teacher features of ``source`` (or the positions ``items``), from the cache where possible.

    Args:
        source: images in any kind ``fit`` takes (an ImageSource, a class folder, pairs, ``(images, labels)``
            arrays, a Hugging Face dataset, a dataset name) or ``predict`` takes (a folder of images, a list
            of paths / PIL images / arrays, a batch).
        backbone: a registry name (built only if something is missing, and released afterwards) or a
            Backbone from ``create_backbone``; ``pretrained``, ``weights`` and ``seed`` (for random
            weights) are passed to ``create_backbone``.
        views: augmented views per image to cache as well, with seeded, recorded crop/flip parameters.
        batch_size: images per forward pass, views included (a batch holds ``batch_size // (1 + views)``
            items, at least one); default 16 on CPU (faster there than larger batches, see
            benchmarks/teacher_pass.py) and 128 on GPU.
        dtype: "float32" or "float16" for the stored features.
        cache: False keeps the features in memory and writes none (an ONNX export is still cached).
        runtime: "auto" (ONNX Runtime on CPU for passes long enough to repay its one-off export, eager
            PyTorch otherwise and on GPU; see ``backbones.runtime``), "onnxruntime" or "torch". Features of
            either runtime agree to ~1e-5 and share one cache entry.
    """
    if views < 0 or (batch_size is not None and batch_size < 1):
        raise ValueError("views must be >= 0 and batch_size >= 1")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16'; got {dtype!r}")
    check_runtime(runtime)
    source = as_any_images(source)
    if items is not None:
        source = source.subset(items)
    keys = _item_keys(source)
    root = (Path(cache_dir) if cache_dir is not None else cache_root()) / "features"
    settings = {"views": [views, view_seed], "dtype": dtype}
    owned = isinstance(backbone, str)
    alias = root / "requests" / f"{_request_key(backbone, pretrained, weights, seed, settings)}.json" if owned else None
    if cache and alias is not None and alias.is_file():
        # A name seen before: find its entry without building the model (a damaged alias is just a miss).
        try:
            entry = _Entry(root / json.loads(alias.read_text())["model"] / _digest(keys))
        except (OSError, ValueError, KeyError, TypeError):
            entry = None
        if entry is not None and entry.complete:
            return _open_complete(entry, source, root)
    model = _build(backbone, pretrained, weights, seed) if owned else backbone
    info, weights_fp = model.info, model.weights_fingerprint
    model_dir = f"{folder_name(info.name)}/" + _digest(
        {
            "name": info.name,
            "weights": weights_fp,
            **settings,
            "preprocessing": [info.input_size, info.mean, info.std, info.interpolation, info.crop_pct, info.crop_mode],
        }
    )
    entry = _Entry(root / model_dir / _digest(keys))
    meta = {
        "backbone": info.name,
        "weights": weights_fp,
        "feature_dim": info.feature_dim,
        "views": views,
        "view_seed": view_seed,
        "dtype": dtype,
        "source": source.name,
        "n": len(keys),
    }
    if cache and alias is not None and not weights_fp.startswith("random-init:unseeded"):
        alias.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(alias, json.dumps({"model": model_dir}))
    if cache and entry.complete:
        return _open_complete(entry, source, root)

    np_dtype = np.dtype(dtype)
    pass_options = {
        "batch_size": batch_size,
        "device": device,
        "num_workers": num_workers,
        "runtime": runtime,
        "cache_dir": cache_dir,
        "quiet": quiet,
    }
    try:
        if cache and distributed.init():
            _sharded_pass(model, source, entry, keys, info.feature_dim, views, view_seed, np_dtype, meta, pass_options)
            return _feature_set(source, entry.open(), meta, entry.path)
        if cache:
            arrays = _prepare_entry(entry, source, keys, info.feature_dim, views, view_seed, np_dtype)
        else:
            arrays = {"features": np.zeros((len(keys), info.feature_dim), np_dtype), "done": np.zeros(len(keys), bool)}
            if views:
                arrays["views"] = np.zeros((len(keys), views, info.feature_dim), np_dtype)
                arrays["view_params"] = sample_view_params(source.ids, views, seed=view_seed)
        missing = np.flatnonzero(~np.asarray(arrays["done"]))
        if len(missing):
            _run_pass(model, source, missing, arrays, views, **pass_options)
    finally:
        if owned:  # the teacher is released as soon as its pass ends
            del model
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    if not cache:
        arrays.pop("done")
        return _feature_set(source, arrays, meta, None)
    _complete(entry, arrays, meta)
    return _feature_set(source, entry.open(), meta, entry.path)


def _prepare_entry(
    entry: _Entry, source: ImageSource, keys: list[str], dim: int, views: int, view_seed: int, dtype: np.dtype
) -> dict[str, np.ndarray]:
    """The entry's arrays, with rows of killed sharded runs and of sibling entries already filled in."""
    entry.path.mkdir(parents=True, exist_ok=True)
    (entry.path / "items.json").write_text(json.dumps({"ids": list(source.ids), "keys": keys}))
    arrays = _create_arrays(entry, len(keys), dim, views, dtype)
    _merge_shards(entry, arrays)
    _seed_from_siblings(entry, keys, arrays)
    if views:
        arrays["view_params"][:] = sample_view_params(source.ids, views, seed=view_seed)
        arrays["view_params"].flush()
    return arrays


def _complete(entry: _Entry, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Flush the rows, then declare the entry complete (meta.json last)."""
    for array in arrays.values():
        array.flush()
    del arrays
    _write_atomic(entry.path / "meta.json", json.dumps(meta, indent=1))
    (entry.path / "done.npy").unlink(missing_ok=True)


def _sharded_pass(
    model,
    source: ImageSource,
    entry: _Entry,
    keys: list[str],
    dim: int,
    views: int,
    view_seed: int,
    dtype: np.dtype,
    meta: dict,
    pass_options: dict,
) -> None:
    """The teacher pass split over the ranks of a torchrun job.

    Rank 0 prepares the entry; each rank computes every W-th missing row into its own shard
    (``shards/<rank>-of-<W>/``, with the global row numbers in ``rows.npy``); rank 0 then merges the shards
    and completes the entry, which is then what a single process would have written. Shards of a killed run
    are merged by the next one, so no finished row is computed twice.
    """
    rank, world = distributed.rank(), distributed.world_size()
    if rank == 0:
        arrays = _prepare_entry(entry, source, keys, dim, views, view_seed, dtype)
        del arrays
    distributed.barrier()
    done = np.load(entry.path / "done.npy", mmap_mode="r")
    mine = np.flatnonzero(~np.asarray(done))[rank::world]
    view_params = np.load(entry.path / "view_params.npy", mmap_mode="r")[mine] if views else None
    del done
    if len(mine):
        shard = _Entry(entry.path / "shards" / f"{rank}-of-{world}")
        shard.path.mkdir(parents=True, exist_ok=True)
        np.save(shard.path / "rows.npy", mine)
        arrays = _create_arrays(shard, len(mine), dim, views, dtype)
        if views:
            arrays["view_params"][:] = view_params
        options = {**pass_options, "quiet": True if rank != 0 else pass_options["quiet"]}
        _run_pass(model, source.subset(mine), np.arange(len(mine)), arrays, views, **options)
        for array in arrays.values():
            array.flush()
        del arrays
    distributed.barrier()
    if rank == 0:
        arrays = _create_arrays(entry, len(keys), dim, views, dtype)
        _merge_shards(entry, arrays)
        if not np.asarray(arrays["done"]).all():
            raise RuntimeError(f"sharded teacher pass left rows missing in {entry.path}; run it again to resume")
        _complete(entry, arrays, meta)
    distributed.barrier()


def _merge_shards(entry: _Entry, arrays: dict[str, np.ndarray]) -> int:
    """Copy the finished rows of every shard into the entry's arrays, then delete the shards."""
    merged = 0
    for shard_path in sorted((entry.path / "shards").glob("*-of-*")):
        rows_file = shard_path / "rows.npy"
        if rows_file.is_file() and (shard_path / "done.npy").is_file():
            rows = np.load(rows_file)
            shard = _Entry(shard_path)
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


def _build(name: str, pretrained: bool, weights: Any, seed: int | None):
    from .backbones import create_backbone

    return create_backbone(name, pretrained=pretrained, weights=weights, seed=seed)


def _request_key(name: str, pretrained: bool, weights: Any, seed: int | None, settings: dict) -> str:
    """What a call asked for; a weights file counts by path, size and modification time."""
    file = None
    if weights is not None and Path(weights).exists():
        stat = Path(weights).stat()
        file = [str(Path(weights).resolve()), stat.st_size, stat.st_mtime_ns]
    return _digest({"name": name, "pretrained": pretrained, "weights": file or weights, "seed": seed, **settings})


def _run_pass(
    model,
    source: ImageSource,
    missing: np.ndarray,
    arrays: dict[str, np.ndarray],
    views: int,
    batch_size: int,
    device,
    num_workers: int | None,
    runtime: str,
    cache_dir,
    quiet: bool | None,
) -> None:
    device = torch.device(device) if device is not None else default_device()
    batch_size = batch_size or (128 if device.type == "cuda" else 16)
    info = model.info
    forward = _forward(model, runtime, device, len(missing) * (1 + views), cache_dir)
    view_transform = ViewTransform(info.input_size[1:], info.mean, info.std, info.interpolation) if views else None
    dataset = _PassDataset(source, missing, model.eval_transform, view_transform, arrays.get("view_params"))
    workers = default_workers(len(missing)) if num_workers is None else num_workers
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=max(1, batch_size // (1 + views)),
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )
    persist = isinstance(arrays["done"], np.memmap)
    with torch.inference_mode(), tqdm(total=len(missing), desc=f"{info.name} on {source.name}", disable=quiet) as bar:
        for batch, positions in loader:
            b, v = batch.shape[:2]
            out = forward(batch.flatten(0, 1)).float().cpu().numpy()
            out = out.reshape(b, v, -1)
            rows = positions.numpy()
            arrays["features"][rows] = out[:, 0]
            if views:
                arrays["views"][rows] = out[:, 1:]
            if persist:  # rows reach the disk before the mask that declares them valid
                for name in ("features", "views", "view_params"):
                    if name in arrays:
                        arrays[name].flush()
            arrays["done"][rows] = True
            if persist:
                arrays["done"].flush()
            bar.update(b)


def _forward(model, runtime: str, device: torch.device, n_images: int, cache_dir) -> Callable:
    """The model's forward on the chosen runtime; under "auto" a failed ONNX export falls back to eager."""
    requested = requested_runtime(runtime, device)
    chosen = choose_runtime(requested, device, model, n_images, cache_dir)
    if chosen == "onnxruntime":
        try:
            forward = onnx_forward(model, cache_dir)
            log.info("teacher pass of %s: ONNX Runtime on CPU", model.info.name)
            return forward
        except Exception as error:
            if requested == "onnxruntime":
                raise RuntimeError(f"could not run {model.info.name} in ONNX Runtime: {error}") from error
            log.warning("ONNX export of %s failed (%s); the pass runs in eager PyTorch", model.info.name, error)
    log.info("teacher pass of %s: eager PyTorch on %s", model.info.name, device)
    # channels_last doubles CPU throughput of the depthwise convolutions in EfficientNet/MobileNet.
    model = model.eval().to(device, memory_format=torch.channels_last)
    return lambda x: model(x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class FeatureCacheError(ValueError):
    """A cache entry that cannot be read: the message names it and how to clear it."""


def _open_complete(entry: _Entry, source: ImageSource, root: Path) -> FeatureSet:
    """A complete entry as a FeatureSet, checked enough that damage is an error naming the entry."""
    try:
        meta = json.loads((entry.path / "meta.json").read_text())
        arrays = entry.open()
        rows = len(arrays["features"])
        if rows != len(source):
            raise ValueError(f"{rows} rows for {len(source)} items")
        return _feature_set(source, arrays, meta, entry.path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FeatureCacheError(
            f"the feature cache entry {entry.path} is damaged ({type(error).__name__}: {error}); delete that "
            f"folder and run again to compute it anew (deleting the whole cache, {root}, is always safe)"
        ) from error


def _feature_set(source: ImageSource, arrays: dict[str, np.ndarray], meta: dict, path: Path | None) -> FeatureSet:
    return FeatureSet(
        source.ids,
        arrays["features"],
        backbone=meta["backbone"],
        meta={**meta, "cache": str(path) if path else None},
        views=arrays.get("views"),
        view_params=arrays.get("view_params"),
    )
