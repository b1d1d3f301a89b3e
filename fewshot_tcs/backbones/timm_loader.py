"""Backbones built by timm (DINOv2 and any ``timm:<model>[.<tag>]``); weights from timm's hub, torch.hub or a file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import timm
import torch
from timm.models import get_pretrained_cfg, model_entrypoint, split_model_name_tag
from torch import nn

from ..registry import did_you_mean
from .checkpoints import (
    NETWORK_ERRORS,
    WEIGHT_SUFFIXES,
    file_fingerprint,
    hf_cached_file,
    load_strict,
    local_weights_file,
    read_state_dict,
    resolve_weights_path,
)
from .errors import reason, weights_not_found
from .info import BackboneInfo, BackboneSpec, data_config, make_info
from .network import hf_hub_offline_unless_reachable, reachable, unreachable

PREFIX = "timm:"
SOURCES = ("timm", "hub", "auto")
HF_FILENAMES = ("model.safetensors", "pytorch_model.bin")


def dynamic_spec(name: str) -> BackboneSpec:
    """The spec for ``timm:<model>[.<tag>]``; ValueError naming close matches for an unknown model or tag."""
    model_name = name[len(PREFIX) :]
    arch, tag = split_model_name_tag(model_name)
    if not timm.is_model(arch):
        close = did_you_mean(arch, timm.list_models(), n=5)
        raise ValueError(f"unknown timm model {arch!r} in {name!r}.{close} See timm.list_models().")
    tags = [n.split(".", 1)[1] for n in timm.list_pretrained(f"{arch}.*")]
    if tag and tag not in tags:
        raise ValueError(f"timm model {arch!r} has no pretrained tag {tag!r}; its tags: {tags}")
    cfg = _pretrained_cfg(arch, tag or None)
    return BackboneSpec(name=name, family="timm", arch=arch, tag=tag or None, licence=cfg.get("license") or "unknown")


def describe(
    spec: BackboneSpec, cache_dir: str | os.PathLike | None, img_size: int | None = None, feature_dim: int | None = None
) -> BackboneInfo:
    """Info from timm's pretrained config plus the entry's overrides; `available` checks local files only."""
    cfg = _pretrained_cfg(spec.arch, spec.tag)
    hf_id = cfg.get("hf_hub_id")
    available = local_weights_file(cache_dir, _file_names(spec)) is not None or (
        bool(hf_id) and hf_cached_file(hf_id, _hf_filenames(cfg), cache_dir) is not None
    )
    source = f"hf-hub:{hf_id}" if hf_id else cfg.get("url") or "none"
    config = data_config(cfg, spec.data_overrides, img_size)
    return make_info(spec, config, feature_dim or spec.feature_dim or 0, source, available)


def build(
    spec: BackboneSpec,
    *,
    pretrained: bool,
    weights: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    source: str,
    img_size: int | None,
) -> tuple[nn.Module, nn.Module | None, BackboneInfo, str | None]:
    """(trunk, classifier head or None, info, weights fingerprint or None for random init)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source != "timm" and not spec.hub_url:
        raise ValueError(f"source={source!r} needs a torch.hub checkpoint; {spec.name!r} has none (DINOv2 has)")
    cfg = _pretrained_cfg(spec.arch, spec.tag)
    kwargs = dict(spec.model_kwargs)
    if img_size is not None and cfg.get("fixed_input_size"):
        kwargs["img_size"] = img_size
    path = None
    if weights is not None:
        path = resolve_weights_path(spec.name, weights, _file_names(spec))
    elif pretrained:
        path = local_weights_file(cache_dir, _file_names(spec))
    fingerprint = None
    if path is not None:
        model = timm.create_model(_model_name(spec), **kwargs)
        load_file(model, spec.arch, path)
        fingerprint = file_fingerprint(path)
    elif pretrained:
        model, fingerprint = _download(spec, cfg, kwargs, cache_dir, source)
    else:
        model = timm.create_model(_model_name(spec), **kwargs)
    head = _split_classifier(model)
    feature_dim = getattr(model, "head_hidden_size", None) or model.num_features
    return model, head, describe(spec, cache_dir, img_size, feature_dim), fingerprint


def load_file(model: nn.Module, arch: str, path: Path) -> None:
    """Load a local checkpoint in timm's or the original authors' format (e.g. Meta's DINOv2) into `model`."""
    state = read_state_dict(path)
    # The converter timm applies to its own downloads (Meta DINOv2 keys, pos-embed resampling, ...).
    filter_fn = getattr(sys.modules[model_entrypoint(arch).__module__], "checkpoint_filter_fn", None)
    if filter_fn is not None:
        state = filter_fn(state, model)
    _fit_classifier(model, state)
    load_strict(model, state, str(path))


def _download(
    spec: BackboneSpec, cfg: dict[str, Any], kwargs: dict[str, Any], cache_dir, source: str
) -> tuple[nn.Module, str]:
    """Fetch pretrained weights through timm (HF hub) and/or torch.hub; WeightsNotFoundError if both fail."""
    model_name = _model_name(spec)
    tried = []
    if source in ("timm", "auto"):
        where = f"hf-hub:{cfg['hf_hub_id']}" if cfg.get("hf_hub_id") else cfg.get("url")
        if not where:
            tried.append(f"timm: no pretrained weights are published for {model_name!r}")
        else:
            try:
                with hf_hub_offline_unless_reachable():  # a cached copy still loads; a missing one fails at once
                    model = timm.create_model(model_name, pretrained=True, cache_dir=cache_dir, **kwargs)
                return model, _hub_fingerprint(cfg, cache_dir, model_name)
            except NETWORK_ERRORS as error:
                tried.append(f"timm pretrained=True from {where}: unreachable ({reason(error)})")
    if source in ("hub", "auto"):
        folder = Path(cache_dir).expanduser() if cache_dir else Path(torch.hub.get_dir()) / "checkpoints"
        target = folder / os.path.basename(spec.hub_url)
        try:
            if not reachable(spec.hub_url):
                raise ConnectionError(unreachable(spec.hub_url))
            folder.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(spec.hub_url, str(target))
        except NETWORK_ERRORS as error:
            tried.append(f"torch.hub download of {spec.hub_url}: unreachable ({reason(error)})")
        else:
            model = timm.create_model(model_name, **kwargs)
            load_file(model, spec.arch, target)
            return model, file_fingerprint(target)
    names = " or ".join(_file_names(spec)[:2])
    fixes = [f"pass {{weights}}'/path/to/{names}' (a file or a folder holding it)"]
    fixes.append("pass {cache_dir}a folder (or Hugging Face cache) holding it")
    fixes.append("retry where the Hugging Face hub / torch.hub can be reached")
    if spec.hub_url and source == "timm":
        fixes.append(f"{{source}}'hub' or 'auto' to fetch {spec.hub_url} through torch.hub")
    raise weights_not_found(spec.name, tried, fixes)


def _hub_fingerprint(cfg: dict[str, Any], cache_dir, model_name: str) -> str:
    """sha256 of the file timm fetched, found in the HF cache; timm's name.tag when it cannot be located."""
    found = cfg.get("hf_hub_id") and hf_cached_file(cfg["hf_hub_id"], _hf_filenames(cfg), cache_dir)
    return file_fingerprint(found) if found else f"timm:{model_name}"


def _fit_classifier(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Size the classifier as the checkpoint's (a fine-tuned class count, or none for a features-only file)."""
    name = model.pretrained_cfg.get("classifier")
    if isinstance(name, str) and hasattr(model, "reset_classifier"):
        weight = state.get(f"{name}.weight")
        classes = 0 if weight is None else weight.shape[0]
        if classes != model.num_classes:
            model.reset_classifier(classes)


def _split_classifier(model: nn.Module) -> nn.Module | None:
    """Detach the classifier so `model(x)` gives pooled pre-logits features; return it (None if absent)."""
    if not getattr(model, "num_classes", 0):
        return None
    head = model.get_classifier()
    model.reset_classifier(0)
    return head


def _model_name(spec: BackboneSpec) -> str:
    return f"{spec.arch}.{spec.tag}" if spec.tag else spec.arch


def _pretrained_cfg(arch: str, tag: str | None) -> dict[str, Any]:
    cfg = get_pretrained_cfg(f"{arch}.{tag}" if tag else arch)
    return cfg.to_dict() if cfg is not None else {}


def _hf_filenames(cfg: dict[str, Any]) -> tuple[str, ...]:
    return (cfg["hf_hub_filename"],) if cfg.get("hf_hub_filename") else HF_FILENAMES


def _file_names(spec: BackboneSpec) -> list[str]:
    """File names under which this entry's weights are looked for in a folder, most specific first."""
    names = [os.path.basename(spec.hub_url)] if spec.hub_url else []
    stems = [spec.name.removeprefix(PREFIX), _model_name(spec)]
    return names + [f"{stem}{suffix}" for stem in dict.fromkeys(stems) for suffix in WEIGHT_SUFFIXES]
