"""The two entry points: :func:`list_backbones` (what exists, what is usable offline) and :func:`create_backbone`."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import uuid

import torch

from . import offline_weights, open_clip_loader, timm_loader
from .backbone import Backbone
from .info import BackboneInfo
from .registry import get_spec, registered

_LOADERS = {"dinov2": timm_loader, "timm": timm_loader, "open_clip": open_clip_loader, "offline": offline_weights}


def list_backbones(pattern: str | None = None, cache_dir: str | os.PathLike | None = None) -> list[BackboneInfo]:
    """Registered backbones whose name matches the fnmatch `pattern` (e.g. ``"dinov2_*"``), sorted by name.

    ``available`` is decided from local files only (pip packages, `cache_dir`, the HF and torch.hub caches).
    ``timm:<model>`` and ``open_clip:<arch>/<tag>`` names also work in :func:`create_backbone` but are not listed.
    """
    specs = [s for s in registered() if pattern is None or fnmatch.fnmatch(s.name, pattern)]
    return [_LOADERS[spec.family].describe(spec, cache_dir) for spec in specs]


def create_backbone(
    name: str,
    pretrained: bool = True,
    weights: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    *,
    source: str = "timm",
    img_size: int | None = None,
    seed: int | None = None,
) -> Backbone:
    """A :class:`Backbone` in eval mode: images (B, 3, H, W) -> pooled features (B, feature_dim).

    Weights: `weights` (a `.safetensors` / `.pth` / `.pt` file or a folder holding one; the original authors'
    layouts such as Meta's DINOv2 or OpenAI's CLIP are converted) takes precedence; else with `pretrained`,
    files already in `cache_dir` / the torch.hub cache, then a download into `cache_dir`: by timm (HF hub) for
    ``source="timm"``, torch.hub for ``"hub"`` (DINOv2 only), timm then torch.hub for ``"auto"``; else a random
    init, reproducible with `seed`. `img_size` changes the input size (ViT position embeddings are resampled).
    Raises WeightsNotFoundError when pretrained weights cannot be had, ValueError for an unknown name.
    """
    spec = get_spec(name)
    with torch.random.fork_rng(devices=[]):  # a seeded init must not disturb the caller's random stream
        if seed is not None:
            torch.manual_seed(seed)
        trunk, head, info, fingerprint = _LOADERS[spec.family].build(
            spec, pretrained=pretrained, weights=weights, cache_dir=cache_dir, source=source, img_size=img_size
        )
    if fingerprint is None:
        # Unseeded random weights are never reproduced, so they must never match a cached result.
        fingerprint = f"random-init:{seed}" if seed is not None else f"random-init:unseeded-{uuid.uuid4().hex[:8]}"
    info = dataclasses.replace(info, available=info.available or not fingerprint.startswith("random-init"))
    backbone = Backbone(trunk, info, fingerprint, head).eval()
    return backbone.to(device) if device is not None else backbone
