"""Episodes per second on cached features: batched evaluation against the per-episode loop.

    python benchmarks/episode_throughput.py [--episodes 10000] [--loop-episodes 500] [--threads 2]

Features are random (``--items`` x ``--dim`` float32, 242 classes of 20 items like Omniglot small1+small2 at
EfficientNet-Lite2's 1280 dimensions): throughput does not depend on their values. Both paths run
``evaluate`` on the same 5-way 5-shot 15-query episodes. The loop runs on the first ``--loop-episodes`` only
and its time for all episodes is extrapolated; the accuracies of those episodes are checked to be identical.
Targets: 10,000 ProtoNet episodes in <= 2 s on 2 cores, >= 50x the loop.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fewshot_tcs.data import ArraySource
from fewshot_tcs.episodes import EpisodeSampler
from fewshot_tcs.evaluation.evaluate import evaluate
from fewshot_tcs.features import FeatureSet
from fewshot_tcs.methods import ProtoNet, TCSProbe


def random_features(n_items: int, dim: int, n_classes: int) -> tuple[ArraySource, FeatureSet]:
    labels = np.arange(n_items) % n_classes
    source = ArraySource(np.zeros((n_items, 1, 1), np.uint8), labels, name="random")
    values = np.random.default_rng(0).normal(size=(n_items, dim)).astype(np.float32)
    return source, FeatureSet(source.ids, values, backbone="random")


def timed(method, episodes, features, batched: bool):
    start = time.perf_counter()
    result = evaluate(method, episodes, features, batched=batched, quiet=True)
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--loop-episodes", type=int, default=500, help="episodes timed with the loop")
    parser.add_argument("--items", type=int, default=4840)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--classes", type=int, default=242)
    parser.add_argument("--methods", nargs="+", default=["protonet", "tcs-probe"], choices=["protonet", "tcs-probe"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    source, features = random_features(args.items, args.dim, args.classes)
    start = time.perf_counter()
    episodes = list(EpisodeSampler(source, 5, 5, n_query=15, n_episodes=args.episodes, seed=0).episodes())
    print(
        f"{args.episodes} episodes 5-way 5-shot 15-query on {args.items} x {args.dim} float32 features "
        f"(sampled in {time.perf_counter() - start:.2f} s, not counted); torch threads {torch.get_num_threads()}"
    )
    n_loop = min(args.loop_episodes, args.episodes)
    summary = {}
    for name in args.methods:
        method = ProtoNet() if name == "protonet" else TCSProbe()
        batched, batched_s = timed(method, episodes, features, batched=True)
        looped, looped_s = timed(method, episodes[:n_loop], features, batched=False)
        if looped.accuracies.tolist() != batched.accuracies[:n_loop].tolist():
            raise AssertionError(f"{name}: batched accuracies differ from the loop's on the first {n_loop} episodes")
        loop_all = looped_s * args.episodes / n_loop
        summary[name] = {
            "batched_s": batched_s,
            "batched_eps": args.episodes / batched_s,
            "loop_eps": n_loop / looped_s,
            "speedup": loop_all / batched_s,
        }
        print(
            f"{name:10s} batched: {batched_s:6.2f} s for {args.episodes} ({args.episodes / batched_s:9.0f} episodes/s)"
            f" | loop: {looped_s:6.2f} s for {n_loop} ({n_loop / looped_s:7.0f} episodes/s), "
            f"{loop_all:7.1f} s for {args.episodes} extrapolated | speed-up {loop_all / batched_s:5.1f}x "
            f"| accuracy {100 * batched.mean:.2f}% (identical on the {n_loop} looped episodes)"
        )
    return summary


if __name__ == "__main__":
    main()
