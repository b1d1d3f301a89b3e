"""Local weight files: find them, read them safely, fingerprint them, and load them strictly."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from .errors import weights_not_found

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")

# Hub and download failures: huggingface_hub's errors, urllib's URLError and socket errors are all OSErrors.
NETWORK_ERRORS = (OSError,)


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a `.safetensors` or torch file, unwrapped from `{"state_dict": ...}` / `{"model": ...}`.

    Torch files are read with ``weights_only=True``: a file holding arbitrary Python objects is refused,
    never unpickled.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        return load_file(path, device="cpu")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path} holds Python objects besides tensors and is not unpickled (weights_only=True); "
            f"re-save its state_dict with torch.save or as .safetensors. Detail: {error}"
        ) from None
    except RuntimeError as error:
        if "TorchScript" not in str(error):
            raise
        raise ValueError(
            f"{path} is a TorchScript archive, which is not loaded (it is code, not only tensors); "
            "use a plain state_dict or .safetensors file of the same weights"
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    if state and all(k.startswith("module.") for k in state):  # saved from DistributedDataParallel
        state = {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def file_fingerprint(path: str | os.PathLike) -> str:
    """``sha256:<first 16 hex digits>`` of the file's bytes: identifies weights whatever the file is called."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()[:16]}"


def find_weights_file(folder: str | os.PathLike, names: Iterable[str], only_file_ok: bool) -> Path | None:
    """The first of `names` (glob patterns) in `folder`; else, when `only_file_ok`, its only weight file."""
    folder = Path(folder)
    for name in names:
        found = sorted(p for p in folder.glob(name) if p.is_file())
        if found:
            return found[0]
    candidates = sorted(p for p in folder.glob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    if only_file_ok and len(candidates) == 1:
        return candidates[0]
    if only_file_ok and candidates:
        raise ValueError(
            f"{folder} holds several weight files ({', '.join(p.name for p in candidates)}) and none is named "
            f"{' or '.join(names)}; pass the file itself as weights="
        )
    return None


def resolve_weights_path(backbone: str, weights: str | os.PathLike, names: Iterable[str]) -> Path:
    """The file meant by ``weights=``: the file itself, or the matching file in a directory."""
    path = Path(weights).expanduser()
    found = path if path.is_file() else find_weights_file(path, names, True) if path.is_dir() else None
    if found is None:
        what = "directory has no weight file" if path.is_dir() else "file not found"
        raise weights_not_found(
            backbone,
            [f"{{weights}}{str(weights)!r}: {what}"],
            [f"pass {{weights}}an existing {'/'.join(WEIGHT_SUFFIXES)} file or a directory holding one"],
        )
    return found


def local_weights_file(cache_dir: str | os.PathLike | None, names: Iterable[str]) -> Path | None:
    """A weight file named one of `names` in `cache_dir` and torch.hub's checkpoint folder, without network."""
    folders = [Path(cache_dir).expanduser()] if cache_dir else []
    folders.append(Path(torch.hub.get_dir()) / "checkpoints")
    names = list(names)
    for folder in folders:
        found = find_weights_file(folder, names, False) if folder.is_dir() else None
        if found is not None:
            return found
    return None


def hf_cached_file(repo_id: str, filenames: Iterable[str], cache_dir: str | os.PathLike | None) -> Path | None:
    """A file of a Hugging Face hub repo already in the local HF cache (or `cache_dir`); never networks."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        if isinstance(found, str):
            return Path(found)
    return None


def load_strict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Load every tensor of `state_dict` into `model`, or raise ValueError naming what does not fit."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    misshapen = [
        f"{k}: {tuple(v.shape)} in the file, {tuple(expected[k].shape)} in the model"
        for k, v in state_dict.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if missing or unexpected or misshapen:
        problems = [
            f"{title} ({len(keys)}): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
            for title, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshapen))
            if keys
        ]
        raise ValueError(f"weights from {source} do not fit the architecture: " + "; ".join(problems))
    model.load_state_dict(state_dict, strict=True)
