"""Teacher-pass throughput (images per second) over batch sizes and threads, and the cached rerun's speed-up.

    python benchmarks/teacher_pass.py [--images 128] [--batch-sizes 16 32 64] [--threads 1 2]

Backbones: efficientnet_lite2 (its real pip-shipped weights, 260 px) and dinov2_vits14 (random weights of the
same architecture: the cost is the same), both at their registry input size. Images are Omniglot characters
when ../shared is present, else random pixels.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from fewshot_tcs.backbones import create_backbone
from fewshot_tcs.data import ArraySource, load_source
from fewshot_tcs.features import extract_features


def images(n: int):
    try:
        return load_source("omniglot-small").subset(np.arange(n))
    except FileNotFoundError:
        pixels = np.random.default_rng(0).integers(0, 255, (n, 105, 105), dtype=np.uint8)
        return ArraySource(pixels, np.arange(n) % 5, name="random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backbones", nargs="+", default=["efficientnet_lite2", "dinov2_vits14"])
    args = parser.parse_args()
    source = images(args.images)
    print(
        f"{len(source)} images of {source.name}, torch {torch.__version__}, CPU threads available "
        f"{torch.get_num_threads()}"
    )
    for name in args.backbones:
        backbone = create_backbone(name, pretrained=name != "dinov2_vits14", seed=0)
        print(f"\n{name} ({backbone.info.input_size[1]} px, weights {backbone.weights_fingerprint})")
        print("threads  batch  images/s")
        for threads in args.threads:
            torch.set_num_threads(threads)
            for batch_size in args.batch_sizes:
                start = time.perf_counter()
                extract_features(backbone, source, cache=False, batch_size=batch_size, num_workers=0, quiet=True)
                print(f"{threads:7d}  {batch_size:5d}  {len(source) / (time.perf_counter() - start):8.1f}")
        torch.set_num_threads(max(args.threads))
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            extract_features(name, source, pretrained=name != "dinov2_vits14", seed=0, cache_dir=cache, quiet=True)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            extract_features(name, source, pretrained=name != "dinov2_vits14", seed=0, cache_dir=cache, quiet=True)
            warm = time.perf_counter() - start
        print(
            f"cached rerun: cold {cold:.2f} s (model build included), warm {warm * 1000:.1f} ms, "
            f"speed-up {cold / warm:.0f}x"
        )


if __name__ == "__main__":
    main()
