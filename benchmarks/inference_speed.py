"""Student against teacher inference throughput on CPU: eager PyTorch, TorchScript and ONNX Runtime.

    python benchmarks/inference_speed.py [--batch-size 32] [--repeats 10] [--threads 2]

The student is the deployed default: mobilenetv2_100 at 64 px with its folded linear head (what
``TCSClassifier.export`` writes); the teacher efficientnet_lite2 at its 260 px. Weights do not change the cost,
so both use their pip-shipped weights when installed and random ones otherwise. Each runtime gets the same
normalised input batch; images/s is the best of ``--repeats`` timed batches after a warm-up.
Target: the student >= 5x the teacher's throughput.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fewshot_tcs.backbones import WeightsNotFoundError, create_backbone
from fewshot_tcs.backbones.onnx_export import export_onnx
from fewshot_tcs.tcs.student import FoldedStudent

RUNTIMES = ("eager", "torchscript", "onnxruntime")


def backbone(name: str):
    try:
        return create_backbone(name, pretrained=True)
    except WeightsNotFoundError:
        return create_backbone(name, pretrained=False, seed=0)


def models(n_classes: int, student_size: int) -> dict[str, tuple[torch.nn.Module, int]]:
    body = backbone("mobilenetv2_100")
    student = FoldedStudent(body, torch.nn.Linear(body.feature_dim, n_classes))
    teacher = backbone("efficientnet_lite2")
    return {
        f"student mobilenetv2_100 @ {student_size} px": (student, student_size),
        f"teacher efficientnet_lite2 @ {teacher.info.input_size[1]} px": (teacher, teacher.info.input_size[1]),
    }


def runner(runtime: str, model: torch.nn.Module, x: torch.Tensor, folder: Path, threads: int) -> Callable[[], object]:
    """A zero-argument function running one batch ``x`` through ``model`` on ``runtime``."""
    model = model.eval().to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    if runtime == "eager":

        def run():
            with torch.inference_mode():
                return model(x)

        return run
    if runtime == "torchscript":
        # Deprecated in torch, but TorchScript is still one of the two formats TCSClassifier.export writes.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            scripted = torch.jit.freeze(torch.jit.trace(model, x))

        def run():
            with torch.inference_mode():
                return scripted(x)

        return run
    import onnxruntime as ort

    path = export_onnx(model, folder / "model.onnx", tuple(x.shape[1:]), "logits")  # as TCSClassifier.export
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"images": np.ascontiguousarray(x.numpy())}
    return lambda: session.run(None, feed)


def throughput(run: Callable[[], object], batch_size: int, repeats: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return batch_size / best


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--student-size", type=int, default=64)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"CPU, {args.threads} threads, batch {args.batch_size}, best of {args.repeats}; torch {torch.__version__}")
    speeds: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, (model, size) in models(args.classes, args.student_size).items():
            x = torch.randn(args.batch_size, 3, size, size)
            speeds[label] = {}
            for runtime in args.runtimes:
                run = runner(runtime, model, x, Path(folder), args.threads)
                speeds[label][runtime] = throughput(run, args.batch_size, args.repeats)
                print(f"{label:36s} {runtime:12s} {speeds[label][runtime]:9.1f} images/s", flush=True)
    student, teacher = speeds.values()
    for runtime in args.runtimes:
        print(f"student / teacher, {runtime:12s}: {student[runtime] / teacher[runtime]:5.1f}x (target >= 5x)")
    print(
        f"student / teacher, each on its fastest runtime: {max(student.values()) / max(teacher.values()):5.1f}x "
        f"(student {max(student, key=student.get)}, teacher {max(teacher, key=teacher.get)})"
    )
    return speeds


if __name__ == "__main__":
    main()
