"""Teacher-pass throughput: ONNX Runtime against eager PyTorch, over batch sizes and threads, and the cached rerun.

    python benchmarks/teacher_pass.py [--images 256] [--batch-sizes 16 32] [--threads 1 2]

Backbones: efficientnet_lite2 (its real pip-shipped weights, 260 px) and dinov2_vits14 (random weights of the
same architecture: the cost is the same), both at their registry input size. Images are Omniglot characters
when ../shared is present, else random pixels. Each row is the whole pass through ``extract_features`` (image
decoding included, with the library's default loader workers); the ONNX export is made once first and timed on
its own. The features of the two runtimes are compared (largest absolute difference, features L2-normalised).
Target: ONNX Runtime >= 3x eager.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from fewshot_tcs.backbones import create_backbone
from fewshot_tcs.backbones.runtime import export_onnx, export_path
from fewshot_tcs.data import ArraySource, load_source
from fewshot_tcs.features import extract_features, l2_normalize


def images(n: int):
    try:
        return load_source("omniglot-small").subset(np.arange(n))
    except FileNotFoundError:
        pixels = np.random.default_rng(0).integers(0, 255, (n, 105, 105), dtype=np.uint8)
        return ArraySource(pixels, np.arange(n) % 5, name="random")


def timed_pass(backbone, source, runtime: str, batch_size: int, cache_dir: str) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    features = extract_features(
        backbone,
        source,
        cache=False,
        batch_size=batch_size,
        runtime=runtime,
        cache_dir=cache_dir,
        quiet=True,
    )
    return len(source) / (time.perf_counter() - start), l2_normalize(np.asarray(features.values))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backbones", nargs="+", default=["efficientnet_lite2", "dinov2_vits14"])
    args = parser.parse_args(argv)
    source = images(args.images)
    print(
        f"{len(source)} images of {source.name}, torch {torch.__version__}, CPU threads available "
        f"{torch.get_num_threads()}"
    )
    best = {}
    for name in args.backbones:
        pretrained = name != "dinov2_vits14"
        backbone = create_backbone(name, pretrained=pretrained, seed=0)
        print(f"\n{name} ({backbone.info.input_size[1]} px, weights {backbone.weights_fingerprint})")
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            export_onnx(backbone, export_path(backbone, cache))
            print(f"ONNX export (once per teacher, cached): {time.perf_counter() - start:.1f} s")
            print("threads  batch  eager images/s  onnxruntime images/s  ratio  max |difference|")
            ratios = []
            for threads in args.threads:
                torch.set_num_threads(threads)
                for batch_size in args.batch_sizes:
                    eager, eager_features = timed_pass(backbone, source, "torch", batch_size, cache)
                    ort, ort_features = timed_pass(backbone, source, "onnxruntime", batch_size, cache)
                    ratios.append(ort / eager)
                    difference = float(np.abs(eager_features - ort_features).max())
                    row = f"{threads:7d}  {batch_size:5d}  {eager:14.1f}  {ort:20.1f}  {ratios[-1]:4.1f}x"
                    print(f"{row}  {difference:.1e}")
            best[name] = max(ratios)
            torch.set_num_threads(max(args.threads))
            start = time.perf_counter()
            extract_features(name, source, pretrained=pretrained, seed=0, cache_dir=cache, quiet=True)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            extract_features(name, source, pretrained=pretrained, seed=0, cache_dir=cache, quiet=True)
            warm = time.perf_counter() - start
        print(
            f"cached rerun: cold {cold:.2f} s (model build included, runtime auto), warm {warm * 1000:.1f} ms, "
            f"speed-up {cold / warm:.0f}x"
        )
    return best


if __name__ == "__main__":
    main()
