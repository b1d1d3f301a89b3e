"""A benchmark() rerun with a warm feature cache against the first, cold run.

    python benchmarks/cache_rerun.py [--dataset omniglot-small] [--backbone efficientnet_lite2] [--episodes 600]

Both runs are the same ``benchmark()`` call (benchmark's default methods: ProtoNet, logistic probe and
tcs-probe, 5-way, 1 and 5 shots, on identical episodes) into one fresh cache folder and without a results
folder, so the rerun evaluates every method again and only the teacher pass comes from the cache. The teacher
needs real weights (EfficientNet-Lite2's ship with pip): ``pretrained=False`` draws unseeded random weights,
which are never cached by design. ``--dataset random`` uses random pixels instead of Omniglot.
Target: the rerun >= 20x faster than the cold run.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from fewshot_tcs.data import ArraySource, load_source
from fewshot_tcs.evaluation.benchmark import benchmark


def dataset(name: str, classes: int, per_class: int):
    if name != "random":
        try:
            return load_source(name)
        except FileNotFoundError as error:
            print(f"{name} is not here ({error}); using random pixels")
    labels = np.repeat(np.arange(classes), per_class)
    pixels = np.random.default_rng(0).integers(0, 255, (len(labels), 105, 105), dtype=np.uint8)
    return ArraySource(pixels, labels, name="random")


def timed_run(source, args, cache: str):
    start = time.perf_counter()
    result = benchmark(
        source,
        methods=args.methods,
        backbone=args.backbone,
        shots=args.shots,
        n_episodes=args.episodes,
        n_query=args.n_query,
        cache_dir=cache,
        dtype=args.dtype,
        quiet=True,
    )
    seconds = time.perf_counter() - start
    evaluation = sum(row["seconds_per_episode"] * row["n"] for row in result.rows())
    return seconds, evaluation


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="omniglot-small", help="a dataset name, or 'random'")
    parser.add_argument("--classes", type=int, default=242, help="classes of the random dataset")
    parser.add_argument("--per-class", type=int, default=20, help="images per class of the random dataset")
    parser.add_argument("--backbone", default="efficientnet_lite2")
    parser.add_argument("--methods", nargs="+", default=["protonet", "logistic", "tcs-probe"])
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--n-query", type=int, default=15)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    args = parser.parse_args(argv)
    source = dataset(args.dataset, args.classes, args.per_class)
    print(
        f"benchmark() of {args.methods} on {source.name} ({len(source)} images), {args.backbone}, shots {args.shots}, "
        f"{args.episodes} episodes each, {args.dtype} cache"
    )
    with tempfile.TemporaryDirectory() as cache:
        cold, cold_eval = timed_run(source, args, cache)
        warm, warm_eval = timed_run(source, args, cache)
    for label, total, evaluation in (("cold", cold, cold_eval), ("warm", warm, warm_eval)):
        print(
            f"{label}: {total:8.2f} s = methods {evaluation:7.2f} s + teacher pass, sampling and loading "
            f"{total - evaluation:7.2f} s"
        )
    print(f"rerun speed-up: {cold / warm:.1f}x (target >= 20x)")
    return cold / warm


if __name__ == "__main__":
    main()
