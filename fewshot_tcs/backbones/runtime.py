"""Where a backbone's forward pass runs: eager PyTorch, or ONNX Runtime on a copy exported once.

On CPU, ONNX Runtime ran efficientnet_lite2 several times faster than eager PyTorch
(``benchmarks/teacher_pass.py``). The export is cached under ``<cache>/onnx/``, keyed like the features by
the backbone's name, weights fingerprint and input size (and the exporter's versions), so each teacher pays
it once.

``runtime="auto"`` picks ONNX Runtime on CPU when it is installed and the pass is long enough to repay a
first export (``ORT_MIN_IMAGES`` forward images, views included; any length once the export is cached),
else eager PyTorch; on CUDA always eager. ``$FEWSHOT_TCS_RUNTIME`` sets what "auto" means on CPU for a
process. ONNX Runtime and the exporter's onnxscript come with the ``export`` extra
(``pip install 'fewshot-tcs[export]'``); without them "auto" runs eager PyTorch.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..data.paths import cache_root, folder_name
from ..registry import did_you_mean
from . import onnx_export
from .backbone import Backbone

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnxruntime", "torch")
RUNTIME_ENV = "FEWSHOT_TCS_RUNTIME"
# A first export of efficientnet_lite2 takes ~10 s on 2 cores; below ~130 images eager is done sooner.
ORT_MIN_IMAGES = 128


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one of RUNTIMES, else a ValueError naming the closest."""
    if runtime not in RUNTIMES:
        hint = did_you_mean(runtime, RUNTIMES, n=1, cutoff=0.3)
        raise ValueError(f"runtime must be one of {', '.join(map(repr, RUNTIMES))}; got {runtime!r}.{hint}")
    return runtime


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnxscript") is not None


def export_path(backbone: Backbone, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Where the backbone's ONNX export is cached; None for unseeded random weights (nothing to reuse)."""
    if backbone.weights_fingerprint.startswith("random-init:unseeded"):
        return None
    info = backbone.info
    # The exporter's versions too: an upgrade re-exports rather than reusing a graph it may not have written.
    exporters = [torch.__version__, *(_version(p) for p in ("onnx", "onnxscript"))]
    key = json.dumps([info.name, backbone.weights_fingerprint, list(info.input_size), exporters])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    return root / "onnx" / folder_name(info.name) / f"{digest}.onnx"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def requested_runtime(runtime: str, device: torch.device) -> str:
    """``runtime`` with "auto" replaced by ``$FEWSHOT_TCS_RUNTIME`` when set; the variable speaks for CPUs only."""
    check_runtime(runtime)
    if runtime == "auto" and device.type == "cpu":
        return check_runtime(os.environ.get(RUNTIME_ENV, "auto"))
    return runtime


def choose_runtime(
    runtime: str,
    device: torch.device,
    backbone: Backbone,
    n_images: int,
    cache_dir: str | os.PathLike | None = None,
) -> str:
    """The runtime a pass of ``n_images`` forward images will use ("onnxruntime" or "torch")."""
    runtime = requested_runtime(runtime, device)
    if runtime == "onnxruntime":
        if device.type != "cpu":
            raise ValueError(f"runtime='onnxruntime' runs on CPU; the pass was asked to run on {device}")
        if not onnxruntime_available():
            raise ImportError(
                "runtime='onnxruntime' needs onnxruntime and onnxscript: pip install 'fewshot-tcs[export]'"
            )
        return runtime
    if runtime == "torch" or device.type != "cpu" or not onnxruntime_available():
        return "torch"
    path = export_path(backbone, cache_dir)
    cached = path is not None and path.is_file()
    return "onnxruntime" if cached or n_images >= ORT_MIN_IMAGES else "torch"


def export_onnx(backbone: Backbone, path: Path) -> Path:
    """The backbone as one ONNX file (input ``images`` (B, 3, H, W), output ``features``), written atomically."""
    return onnx_export.export_onnx(backbone, path, tuple(backbone.info.input_size), "features")


def onnx_forward(
    backbone: Backbone, cache_dir: str | os.PathLike | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function images -> features running ``backbone`` in ONNX Runtime (torch's thread count), exporting it
    first if needed; a cached export this ONNX Runtime cannot open is exported again once."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    path = export_path(backbone, cache_dir)
    with contextlib.ExitStack() as stack:
        if path is None:
            path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "backbone.onnx"
        if path.is_file():
            try:
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as error:
                log.warning("the cached ONNX export %s does not open (%s); exporting it again", path, error)
                path.unlink()
        if not path.is_file():
            log.info("exporting %s to ONNX once: %s", backbone.info.name, path)
            export_onnx(backbone, path)
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(images: torch.Tensor) -> torch.Tensor:
        x = images.detach().cpu().float().contiguous().numpy()
        return torch.from_numpy(session.run(None, {"images": x})[0])

    return forward
