"""One ONNX export for every model the library writes (the teacher for ONNX Runtime, the deployed student):
the dynamo exporter, a dynamic batch dimension, written atomically, one self-contained file."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

import torch

log = logging.getLogger(__name__)

# Protobuf caps one ONNX file at 2 GiB; weights past this margin go to a ``.data`` file beside it.
SINGLE_FILE_BYTES = int(1.8 * 2**30)


def weight_bytes(module: torch.nn.Module) -> int:
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def export_onnx(
    module: torch.nn.Module, path: str | os.PathLike, input_shape: tuple[int, ...], output_name: str
) -> Path:
    """``module`` as ONNX at ``path``: input ``images`` (B, *input_shape), output ``output_name``.

    One self-contained file for models under the protobuf limit (every model this library ships); a larger
    one keeps its weights in ``<path>.data`` beside it (logged), which must travel with it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    external = weight_bytes(module) > SINGLE_FILE_BYTES
    if external:
        log.warning("%s: weights over the 2 GiB protobuf limit go to %s.data, which must stay beside it", path, path)
    partial = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.partial.onnx")  # unique across ranks and hosts
    try:
        with torch.no_grad(), open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            program = torch.onnx.export(
                module.eval(),
                (torch.zeros(2, *input_shape),),
                input_names=["images"],
                output_names=[output_name],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                dynamo=True,
                verbose=False,
            )
        if external:  # the .onnx names its .data file, so it is written under its final name
            program.save(str(path), external_data=True)
        else:
            program.save(str(partial), external_data=False)
            os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
