"""The one teacher pass: pooled features of every item, cached on disk (``cache``), resumable after a kill,
split over the ranks of a torchrun job."""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .. import distributed
from ..backbones.runtime import check_runtime, choose_runtime, onnx_forward, requested_runtime
from ..data import ImageSource, ToRGB, as_any_images
from ..data.paths import cache_root, folder_name, write_atomic
from ..threads import available_cores
from .cache import (
    Entry,
    complete,
    create_arrays,
    digest,
    feature_set,
    item_keys,
    merge_shards,
    open_complete,
    prepare_entry,
    request_key,
)
from .featureset import FeatureSet
from .views import ViewTransform, sample_view_params

log = logging.getLogger(__name__)


def pixel_features(source: ImageSource, size: int = 28, mode: str = "L", quiet: bool | None = None) -> FeatureSet:
    """Raw pixels as features: each image resized to ``size x size`` in ``mode``, scaled to [0, 1]."""
    to_rgb = ToRGB()
    values = np.empty((len(source), size * size * len(mode)), dtype=np.float32)
    for i in tqdm(range(len(source)), desc=f"pixels of {source.name}", disable=quiet):
        image = to_rgb(source.load(i)).convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        values[i] = np.asarray(image, dtype=np.float32).ravel() / 255.0
    return FeatureSet(source.ids, values, backbone=f"pixels{size}{mode}")


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
    keys = item_keys(source)
    root = (Path(cache_dir) if cache_dir is not None else cache_root()) / "features"
    settings = {"views": [views, view_seed], "dtype": dtype}
    owned = isinstance(backbone, str)
    alias = root / "requests" / f"{request_key(backbone, pretrained, weights, seed, settings)}.json" if owned else None
    if cache and alias is not None and alias.is_file():
        # A name seen before: find its entry without building the model (a damaged alias is just a miss).
        try:
            entry = Entry(root / json.loads(alias.read_text())["model"] / digest(keys))
        except (OSError, ValueError, KeyError, TypeError):
            entry = None
        if entry is not None and entry.complete:
            return open_complete(entry, source, root)
    model = _build(backbone, pretrained, weights, seed) if owned else backbone
    info, weights_fp = model.info, model.weights_fingerprint
    model_dir = f"{folder_name(info.name)}/" + digest(
        {
            "name": info.name,
            "weights": weights_fp,
            **settings,
            "preprocessing": [info.input_size, info.mean, info.std, info.interpolation, info.crop_pct, info.crop_mode],
        }
    )
    entry = Entry(root / model_dir / digest(keys))
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
        write_atomic(alias, json.dumps({"model": model_dir}))
    if cache and entry.complete:
        return open_complete(entry, source, root)

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
            return feature_set(source, entry.open(), meta, entry.path)
        if cache:
            arrays = prepare_entry(entry, source, keys, info.feature_dim, views, view_seed, np_dtype)
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
        return feature_set(source, arrays, meta, None)
    complete(entry, arrays, meta)
    return feature_set(source, entry.open(), meta, entry.path)


def _sharded_pass(
    model,
    source: ImageSource,
    entry: Entry,
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
        arrays = prepare_entry(entry, source, keys, dim, views, view_seed, dtype)
        del arrays
    distributed.barrier()
    done = np.load(entry.path / "done.npy", mmap_mode="r")
    mine = np.flatnonzero(~np.asarray(done))[rank::world]
    view_params = np.load(entry.path / "view_params.npy", mmap_mode="r")[mine] if views else None
    del done
    if len(mine):
        shard = Entry(entry.path / "shards" / f"{rank}-of-{world}")
        shard.path.mkdir(parents=True, exist_ok=True)
        np.save(shard.path / "rows.npy", mine)
        arrays = create_arrays(shard, len(mine), dim, views, dtype)
        if views:
            arrays["view_params"][:] = view_params
        options = {**pass_options, "quiet": True if rank != 0 else pass_options["quiet"]}
        _run_pass(model, source.subset(mine), np.arange(len(mine)), arrays, views, **options)
        for array in arrays.values():
            array.flush()
        del arrays
    distributed.barrier()
    if rank == 0:
        arrays = create_arrays(entry, len(keys), dim, views, dtype)
        merge_shards(entry, arrays)
        if not np.asarray(arrays["done"]).all():
            raise RuntimeError(f"sharded teacher pass left rows missing in {entry.path}; run it again to resume")
        complete(entry, arrays, meta)
    distributed.barrier()


def _build(name: str, pretrained: bool, weights: Any, seed: int | None):
    from ..backbones import create_backbone

    return create_backbone(name, pretrained=pretrained, weights=weights, seed=seed)


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
    device = distributed.default_device(device)
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
