"""Plain data about backbones: registry entries (how to build one) and infos (what a built one is)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FAMILIES = ("dinov2", "open_clip", "timm", "offline")


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry: the architecture, where its pretrained weights live, and preprocessing overrides.

    `arch` is a timm model name (families dinov2, timm, offline) or an open_clip architecture; `tag` the
    timm / open_clip pretrained tag. `model_kwargs` go to the model constructor, `data_overrides` replace
    keys of the weights' own preprocessing config (input_size, crop_pct, interpolation, ...).
    """

    name: str
    family: str
    arch: str
    tag: str | None = None
    feature_dim: int | None = None
    licence: str = "unknown"
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    data_overrides: Mapping[str, Any] = field(default_factory=dict)
    hub_url: str | None = None
    package: str | None = None
    package_file: str | None = None
    pip_install: str | None = None

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"backbone {self.name!r}: family must be one of {FAMILIES}, got {self.family!r}")


@dataclass(frozen=True)
class BackboneInfo:
    """What a backbone is and how images must be prepared for it (the weights' preprocessing config).

    `available` says whether pretrained weights can be loaded right now without a network;
    `weights_source` says where they come from (hub repo, pip package, file).
    """

    name: str
    family: str
    feature_dim: int
    input_size: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str
    crop_pct: float
    crop_mode: str
    licence: str
    weights_source: str
    available: bool


DATA_KEYS = ("input_size", "mean", "std", "interpolation", "crop_pct", "crop_mode")


def data_config(base: Mapping[str, Any], overrides: Mapping[str, Any], img_size: int | None) -> dict[str, Any]:
    """Preprocessing config: the weights' own `base`, then per-entry `overrides`, then a square `img_size`."""
    config = {"crop_mode": "center", **{k: base[k] for k in DATA_KEYS if base.get(k) is not None}}
    config.update(overrides)
    if img_size is not None:
        config["input_size"] = (3, img_size, img_size)
    config["input_size"] = tuple(config["input_size"])
    config["mean"], config["std"] = tuple(config["mean"]), tuple(config["std"])
    return config


def make_info(
    spec: BackboneSpec, config: Mapping[str, Any], feature_dim: int, weights_source: str, available: bool
) -> BackboneInfo:
    """A :class:`BackboneInfo` for `spec` with preprocessing `config` (keys of :data:`DATA_KEYS`)."""
    return BackboneInfo(
        name=spec.name,
        family=spec.family,
        feature_dim=feature_dim,
        licence=spec.licence,
        weights_source=weights_source,
        available=available,
        **{k: config[k] for k in DATA_KEYS},
    )
