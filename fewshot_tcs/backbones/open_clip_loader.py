"""CLIP image towers from open_clip: ``open_clip:<arch>[/<pretrained tag>]``, features = the image embedding."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import open_clip
from open_clip.transform import PreprocessCfg
from torch import nn

from ..registry import did_you_mean
from .checkpoints import (
    NETWORK_ERRORS,
    WEIGHT_SUFFIXES,
    file_fingerprint,
    hf_cached_file,
    local_weights_file,
    resolve_weights_path,
)
from .errors import reason, weights_not_found
from .info import BackboneInfo, BackboneSpec, data_config, make_info
from .network import hf_hub_offline_unless_reachable, reachable, unreachable

PREFIX = "open_clip:"
HF_FILENAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# open_clip's resize modes as timm crop modes: shortest side + centre crop, plain resize, letterbox.
CROP_MODES = {"shortest": "center", "squash": "squash", "longest": "border"}


def dynamic_spec(name: str) -> BackboneSpec:
    """The spec for ``open_clip:<arch>[/<tag>]``; ValueError naming close matches for an unknown arch or tag."""
    arch, _, tag = name[len(PREFIX) :].partition("/")
    if arch not in open_clip.list_models():
        close = did_you_mean(arch, open_clip.list_models(), n=5)
        raise ValueError(f"unknown open_clip architecture {arch!r} in {name!r}.{close} See open_clip.list_models().")
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if tag and tag not in tags:
        raise ValueError(f"open_clip architecture {arch!r} has no pretrained tag {tag!r}; its tags: {tags}")
    return BackboneSpec(name=name, family="open_clip", arch=arch, tag=tag or None)


def describe(spec: BackboneSpec, cache_dir: str | os.PathLike | None, img_size: int | None = None) -> BackboneInfo:
    """Info from open_clip's architecture config and the tag's preprocessing; `available` checks local files."""
    tag_cfg = _tag_cfg(spec)
    size = open_clip.get_model_config(spec.arch)["vision_cfg"]["image_size"]
    preprocess = {**_tag_preprocess(tag_cfg), "size": size}
    return _info(spec, preprocess, cache_dir, img_size)


def build(
    spec: BackboneSpec,
    *,
    pretrained: bool,
    weights: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    source: str,
    img_size: int | None,
) -> tuple[nn.Module, None, BackboneInfo, str | None]:
    """(visual tower, None, info, weights fingerprint or None for random init)."""
    if source != "timm":
        raise ValueError(f"source={source!r} needs a torch.hub checkpoint; open_clip backbones have none")
    tag_cfg = _tag_cfg(spec)
    path = None
    if weights is not None:
        path = resolve_weights_path(spec.name, weights, [*_file_names(spec, tag_cfg), *HF_FILENAMES])
    elif pretrained:
        path = local_weights_file(cache_dir, _file_names(spec, tag_cfg)) or _download(spec, tag_cfg, cache_dir)
    model = open_clip.create_model(
        spec.arch,
        pretrained=None,
        force_quick_gelu=bool(tag_cfg.get("quick_gelu")),  # e.g. OpenAI weights were trained with QuickGELU
        force_image_size=img_size,
        force_preprocess_cfg=_tag_preprocess(tag_cfg),
    )
    if path is not None:
        try:
            # Converts OpenAI / third-party layouts and resizes position embeddings; torch files weights_only.
            open_clip.load_checkpoint(model, str(path), strict=True, weights_only=True)
        except RuntimeError as error:
            detail = str(error)
            if "TorchScript" in detail:
                detail = "it is a TorchScript archive (code, not only tensors); use a state_dict file"
            raise ValueError(f"weights {path} do not load into open_clip {spec.arch!r}: {detail}") from None
    visual = model.visual
    info = _info(spec, open_clip.get_model_preprocess_cfg(model), cache_dir, img_size)
    return visual, None, info, file_fingerprint(path) if path is not None else None


def _download(spec: BackboneSpec, tag_cfg: dict[str, Any], cache_dir) -> Path:
    """The tag's weight file, fetched by open_clip into `cache_dir`; WeightsNotFoundError when unreachable."""
    if not tag_cfg:
        tags = open_clip.list_pretrained_tags_by_model(spec.arch)
        raise ValueError(
            f"{spec.name!r} names no pretrained tag; use open_clip:{spec.arch}/<tag> with a tag from {tags}, "
            "pass weights=, or pretrained=False"
        )
    where = f"hf-hub:{tag_cfg['hf_hub']}" if tag_cfg.get("hf_hub") else tag_cfg.get("url")
    try:
        if not tag_cfg.get("hf_hub") and not reachable(where):
            raise ConnectionError(unreachable(where))
        with hf_hub_offline_unless_reachable():  # a cached copy still loads; a missing one fails at once
            return Path(open_clip.download_pretrained(tag_cfg, cache_dir=cache_dir))
    except NETWORK_ERRORS as error:
        tried = [f"open_clip download from {where}: unreachable ({reason(error)})"]
    fixes = [
        f"pass {{weights}}'/path/to/{_file_names(spec, tag_cfg)[0]}' (an open_clip or OpenAI state_dict file)",
        "pass {cache_dir}a folder (or Hugging Face cache) holding it",
        "retry where the Hugging Face hub can be reached",
    ]
    raise weights_not_found(spec.name, tried, fixes)


def _info(spec: BackboneSpec, preprocess: dict[str, Any], cache_dir, img_size: int | None) -> BackboneInfo:
    size = preprocess["size"]
    height, width = (size, size) if isinstance(size, int) else size
    base = {
        "input_size": (3, height, width),
        "mean": preprocess["mean"],
        "std": preprocess["std"],
        "interpolation": preprocess["interpolation"],
        "crop_pct": 1.0,
        "crop_mode": CROP_MODES[preprocess["resize_mode"]],
    }
    tag_cfg = _tag_cfg(spec)
    hub = tag_cfg.get("hf_hub", "")
    available = local_weights_file(cache_dir, _file_names(spec, tag_cfg)) is not None or bool(
        hub and hf_cached_file(*_hf_files(hub), cache_dir)
    )
    source = f"hf-hub:{hub}" if hub else tag_cfg.get("url") or "none"
    feature_dim = open_clip.get_model_config(spec.arch)["embed_dim"]  # the image embedding's size
    return make_info(spec, data_config(base, spec.data_overrides, img_size), feature_dim, source, available)


def _tag_cfg(spec: BackboneSpec) -> dict[str, Any]:
    return dict(open_clip.get_pretrained_cfg(spec.arch, spec.tag)) if spec.tag else {}


def _tag_preprocess(tag_cfg: dict[str, Any]) -> dict[str, Any]:
    """The tag's preprocessing keys over open_clip's defaults (OpenAI mean/std, bicubic, shortest side)."""
    defaults = asdict(PreprocessCfg())
    keys = ("mean", "std", "interpolation", "resize_mode")
    return {**{k: defaults[k] for k in keys}, **{k: tag_cfg[k] for k in keys if tag_cfg.get(k)}}


def _hf_files(hub: str) -> tuple[str, tuple[str, ...]]:
    """(repo id, files) open_clip fetches for an ``org/repo/[file]`` entry: the safetensors twin first."""
    repo_id, filename = os.path.split(hub)
    if not filename:
        return repo_id, HF_FILENAMES
    return repo_id, (f"{filename.rsplit('.', 1)[0]}.safetensors", filename)


def _file_names(spec: BackboneSpec, tag_cfg: dict[str, Any]) -> list[str]:
    """Names this entry's weights go by in a folder: ``<arch>-<tag>.*`` and the original download's name."""
    names = [f"{spec.arch}-{spec.tag}{suffix}" for suffix in WEIGHT_SUFFIXES] if spec.tag else []
    return names + ([os.path.basename(tag_cfg["url"])] if tag_cfg.get("url") else [])
