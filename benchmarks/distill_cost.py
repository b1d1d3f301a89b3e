"""Cost of distillation: the TCS student against classic KD with the teacher in the training loop.

    python benchmarks/distill_cost.py [--teachers dinov2_vits14 efficientnet_lite2] [--steps 120] [--batch-size 32]

Both sides train the same student (mobilenetv2_100 at 64 px) for the same steps and batch size on the same
images: one 5-way 5-shot Omniglot episode with 10 unlabelled images per class (random pixels when Omniglot is
not here). Each run is its own process, so its peak resident memory (``ru_maxrss``; on GPU also
``torch.cuda.max_memory_allocated``) is its own:

- tcs: one teacher pass over the episode's images into a cold cache, then training with no teacher.
- kd: the same teacher pass (KD's soft targets come from a probe on the support's teacher features), then
  training with the teacher run on every batch's exact views.

Totals count the teacher pass on both sides. "Training only" reruns each side in a fresh process that reads
the pass from the now warm cache (the KD side still builds its in-loop teacher). Memory is reported as the
process peak and as the peak above the process's size before the work (imports and images loaded).
Teachers: dinov2_vits14 with random weights (``pretrained=False, seed=0``: the same cost as the real ones)
and efficientnet_lite2 with its pip-shipped weights. Targets: TCS / KD time <= 0.4, peak memory <= 0.7.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from fewshot_tcs.data import ArraySource, load_source
from fewshot_tcs.episodes import EpisodeSampler
from fewshot_tcs.features import TeacherFeatures, extract_features, join_teachers
from fewshot_tcs.methods import ItemSet, StudentKD
from fewshot_tcs.tcs import TCSClassifier

RANDOM_TEACHERS = {"dinov2_vits14"}  # no weights offline; random ones cost the same


def episode_pixels(way: int, shot: int, unlabeled: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Support pixels (way * shot, H, W), their labels 0..way-1, unlabelled pixels, and the data's name."""
    try:
        source = load_source("omniglot-small")
    except FileNotFoundError:
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 255, (way * (shot + unlabeled), 105, 105), dtype=np.uint8)
        return pixels[: way * shot], np.repeat(np.arange(way), shot), pixels[way * shot :], "random pixels"
    sampler = EpisodeSampler(source, way, shot, n_query=1, n_unlabeled=unlabeled, n_episodes=1, seed=0)
    _, support, _, pool = sampler.positions(0)

    def load(positions: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(source.load(int(i)).convert("L")) for i in positions.ravel()])

    return load(support), np.repeat(np.arange(way), shot), load(pool), source.name


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(args: argparse.Namespace) -> dict:
    """One side's run in this process: the teacher pass (cold or warm cache), then training."""
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    s_pixels, s_labels, u_pixels, _ = episode_pixels(args.way, args.shot, args.unlabeled)
    support = ArraySource(s_pixels, s_labels, name="support")
    pool = ArraySource(u_pixels, np.zeros(len(u_pixels), np.int64), name="unlabeled") if len(u_pixels) else None
    images = ArraySource(np.concatenate([s_pixels, u_pixels]), np.zeros(len(s_pixels) + len(u_pixels)), name="episode")
    pretrained = args.teacher not in RANDOM_TEACHERS
    baseline = peak_mb()
    start = time.perf_counter()
    features = extract_features(
        args.teacher, images, pretrained=pretrained, seed=0, cache_dir=args.cache, device=device, quiet=True
    )
    features = np.asarray(join_teachers([features]).values)  # l2-normalised, as teacher_pass gives them
    passed = time.perf_counter()
    labelled, unlabelled = TeacherFeatures(features[: len(support)]), TeacherFeatures(features[len(support) :])
    common = dict(
        backbone=args.teacher,
        teacher_pretrained=pretrained,
        student=args.student,
        image_size=args.image_size,
        steps=args.steps,
        batch_size=args.batch_size,
        device=device,
        seed=0,
    )
    if args.worker == "tcs":
        TCSClassifier(**common).fit(
            support,
            unlabeled=pool,
            support_features=labelled,
            unlabeled_features=unlabelled if pool is not None else None,
        )
    else:
        StudentKD(teacher_in_loop=True, **common).fit(
            ItemSet(features=labelled.clean, images=support, labels=s_labels),
            unlabeled=ItemSet(features=unlabelled.clean, images=pool) if pool is not None else None,
        )
    done = time.perf_counter()
    return {
        "pass_s": passed - start,
        "train_s": done - passed,
        "baseline_mb": baseline,
        "peak_mb": peak_mb(),
        "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
    }


def run_side(side: str, teacher: str, cache: str, args: argparse.Namespace) -> dict:
    sizes = ["--way", args.way, "--shot", args.shot, "--unlabeled", args.unlabeled, "--steps", args.steps]
    sizes += ["--batch-size", args.batch_size, "--image-size", args.image_size, "--threads", args.threads]
    command = [sys.executable, __file__, "--worker", side, "--teacher", teacher, "--cache", cache, "--student"]
    command += [args.student, *map(str, sizes)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {side} run with {teacher} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(teacher: str, runs: dict[str, dict]) -> dict[str, float]:
    tcs, kd, tcs_train, kd_train = runs["tcs"], runs["kd"], runs["tcs-train"], runs["kd-train"]
    print(f"\nteacher {teacher}" + (" (random weights)" if teacher in RANDOM_TEACHERS else ""))
    print("run                      teacher pass s  training s   total s   peak MB  above start MB  GPU peak MB")
    for name, r in runs.items():
        gpu = f"{r['cuda_peak_mb']:11.0f}" if r["cuda_peak_mb"] is not None else "          -"
        print(
            f"{name:24s} {r['pass_s']:14.2f} {r['train_s']:11.2f} {r['pass_s'] + r['train_s']:9.2f} "
            f"{r['peak_mb']:9.0f} {r['peak_mb'] - r['baseline_mb']:15.0f} {gpu}"
        )

    def total(r: dict) -> float:
        return r["pass_s"] + r["train_s"]

    def above(r: dict) -> float:
        return r["peak_mb"] - r["baseline_mb"]

    ratios = {
        "time": total(tcs) / total(kd),
        "time_training": tcs_train["train_s"] / kd_train["train_s"],
        "memory": above(tcs) / above(kd),
        "memory_process": tcs["peak_mb"] / kd["peak_mb"],
        "memory_training": above(tcs_train) / above(kd_train),
    }
    print(
        f"TCS / KD time, teacher pass counted: {ratios['time']:.2f} (target <= 0.4); "
        f"training only: {ratios['time_training']:.2f}"
    )
    print(
        f"TCS / KD peak memory above start, teacher pass counted: {ratios['memory']:.2f} (target <= 0.7); "
        f"whole process: {ratios['memory_process']:.2f}; training only: {ratios['memory_training']:.2f}"
    )
    if tcs["cuda_peak_mb"] is not None:
        ratios["memory_gpu"] = tcs["cuda_peak_mb"] / kd["cuda_peak_mb"]
        print(f"TCS / KD GPU peak memory (max_memory_allocated): {ratios['memory_gpu']:.2f}")
    return ratios


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", default=["dinov2_vits14", "efficientnet_lite2"])
    parser.add_argument("--student", default="mobilenetv2_100")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--way", type=int, default=5)
    parser.add_argument("--shot", type=int, default=5)
    parser.add_argument("--unlabeled", type=int, default=10, help="unlabelled images per class")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--worker", choices=["tcs", "kd"], help=argparse.SUPPRESS)
    parser.add_argument("--teacher", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return {}
    _, _, _, data = episode_pixels(args.way, args.shot, args.unlabeled)
    print(
        f"{args.way}-way {args.shot}-shot episode of {data} with {args.unlabeled} unlabelled per class; student "
        f"{args.student} at {args.image_size} px, {args.steps} steps of batch {args.batch_size}; "
        f"{'GPU' if torch.cuda.is_available() else f'CPU, {args.threads} threads'}"
    )
    ratios = {}
    for teacher in args.teachers:
        runs = {}
        for side in ("tcs", "kd"):
            with tempfile.TemporaryDirectory() as cache:
                runs[side] = run_side(side, teacher, cache, args)
                runs[f"{side}-train"] = run_side(side, teacher, cache, args)
        ratios[teacher] = report(teacher, {k: runs[k] for k in ("tcs", "kd", "tcs-train", "kd-train")})
    return ratios


if __name__ == "__main__":
    main()
