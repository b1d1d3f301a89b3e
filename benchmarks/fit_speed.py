"""A photo fit before and after the fast paths: 5 classes x 10 photos, with time, peak memory and accuracy.

    python benchmarks/fit_speed.py [--classes 5] [--per-class 10] [--held-out 100] [--threads 2]

The folder: ``--per-class`` CIFAR-10 training photos of ``--classes`` classes, written as
``<class>/<n>.png``; accuracy: ``--held-out`` CIFAR-10 test photos of each of those classes. The recipe is
the library's default in every run (efficientnet_lite2 teacher, mobilenetv2_100 student at the size chosen
from the images, its last 2 stages trained, 4 recorded teacher views, 120 steps). Each configuration runs in
a fresh process (its peak resident memory is its own) with an empty feature cache:

- ``before``: the teacher pass in eager PyTorch, and the student's frozen stages recomputed at every
  training step (inside the trained network, in eval mode, without gradients), as a step cost before
  their output was cached in the view bank;
- ``after, first fit``: ONNX Runtime for the teacher pass, its one-off export included; the frozen stages
  computed once per view;
- ``after``: the same with the export already cached, as every later fit with this teacher.

Prints seconds of the whole ``fit`` and of its training loop, peak memory, held-out accuracy, and the
speed-up of each against ``before``. Target: >= 2x, accuracy within noise, <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

CONFIGS = {"before": "torch", "after, first fit": "auto", "after": "auto"}


class _RecomputedFrozen(nn.Module):
    """The frozen stages run again at every step, then the trained tail (the cost before caching)."""

    def __init__(self, frozen: nn.Module, tail: nn.Module):
        super().__init__()
        self.tail = tail
        self.__dict__["frozen"] = frozen  # not a submodule: train() and BN recalibration leave it as it is

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.frozen.eval()  # Student.train() reaches it through the whole backbone; its statistics stay
        with torch.no_grad():
            x = self.frozen(x)
        return self.tail(x)


def recompute_frozen_stages() -> None:
    """Make ``fit`` cache the pixels only (an identity "frozen part") and recompute the frozen stages."""
    from fewshot_tcs.tcs import classifier

    split = classifier.split_backbone

    def without_cache(backbone, stages):
        parts = split(backbone, stages)
        return None if parts is None else (nn.Identity(), _RecomputedFrozen(*parts))

    classifier.split_backbone = without_cache


def child(config: str, folder: str, held_out: int, cache: str, threads: int) -> None:
    """One fit in this process; prints its figures as one JSON line."""
    from fewshot_tcs import TCSClassifier
    from fewshot_tcs.data import FolderSource, load_source

    torch.set_num_threads(threads)
    if config == "before":
        recompute_frozen_stages()
    support = FolderSource(folder)
    test = load_source("cifar10", "test")
    names = np.array(test.classes, dtype=object)[test.labels]
    rows = np.concatenate([np.flatnonzero(names == c)[:held_out] for c in support.classes])
    clf = TCSClassifier(backbone="efficientnet_lite2", cache_dir=cache, teacher_runtime=CONFIGS[config])
    start = time.perf_counter()
    clf.fit(support)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    accuracy = float(np.mean(clf.predict(test.subset(rows)) == names[rows]))
    print(json.dumps({"fit": seconds, "train": clf.log_.seconds, "peak_gib": peak, "accuracy": accuracy}))


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--child", choices=list(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.folder, args.held_out, args.cache, args.threads)
        return {}
    from fewshot_tcs.data import load_source, write_folder

    results = {}
    with tempfile.TemporaryDirectory() as work:
        folder = write_folder(load_source("cifar10", "train"), Path(work) / "photos", args.classes, args.per_class)
        for config in CONFIGS:
            cache = Path(work) / ("before" if config == "before" else "after")
            # "after" keeps the ONNX export that "after, first fit" made, never its features.
            shutil.rmtree(cache / "features", ignore_errors=True)
            command = [sys.executable, __file__, "--child", config, "--folder", str(folder), "--cache", str(cache)]
            command += ["--held-out", str(args.held_out), "--threads", str(args.threads)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[config] = json.loads(out.strip().splitlines()[-1])
    n = args.classes * args.per_class
    print(f"fit of {args.classes} classes x {args.per_class} photos (CIFAR-10), {args.threads} threads")
    print("configuration      fit s  training s  peak GiB  held-out accuracy  speed-up")
    for config, r in results.items():
        speedup = results["before"]["fit"] / r["fit"]
        print(
            f"{config:17s}  {r['fit']:5.1f}  {r['train']:10.1f}  {r['peak_gib']:8.2f}  "
            f"{100 * r['accuracy']:16.1f} %  {speedup:7.2f}x"
        )
    print(f"({n} photos; accuracy on {args.held_out} test photos per class)")
    return results


if __name__ == "__main__":
    main()
