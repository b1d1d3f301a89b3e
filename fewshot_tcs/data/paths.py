"""Where the library's files are on this machine (datasets, caches), and how they are written."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "FEWSHOT_TCS_DATA"


def cache_root() -> Path:
    """Where downloads and caches go: ``$FEWSHOT_TCS_CACHE`` or ``~/.cache/fewshot_tcs``."""
    return Path(os.environ.get("FEWSHOT_TCS_CACHE", Path.home() / ".cache" / "fewshot_tcs")).expanduser()


def folder_name(name: str) -> str:
    """A registry name as one folder name of a cache (``timm:org/model`` -> ``timm_org_model``)."""
    return name.replace("/", "_").replace(":", "_")


def data_roots() -> list[Path]:
    """Folders searched for datasets, in order: ``$FEWSHOT_TCS_DATA`` (``os.pathsep``-separated), the
    download cache, then ``shared/data`` beside the working directory or beside a source checkout."""
    roots = [Path(p).expanduser() for p in os.environ.get(DATA_ENV, "").split(os.pathsep) if p]
    roots.append(cache_root() / "data")
    checkout = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), checkout):
        roots += [base / "shared" / "data", base.parent / "shared" / "data"]
    unique = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def find_data(*relative: str) -> Path | None:
    """The first existing ``root/<relative>`` over the data roots, trying each relative path in turn."""
    for root in data_roots():
        for rel in relative:
            candidate = root / rel
            if candidate.exists():
                return candidate
    return None


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` through a temporary file beside ``path`` and a rename: readers, and a run killed
    midway, see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    os.replace(tmp, path)
    return path
