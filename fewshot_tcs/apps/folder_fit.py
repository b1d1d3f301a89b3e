"""A quick prototype from a folder of customer images: an honest accuracy, then a deployable student."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .. import defaults, distributed
from ..data import FolderSource
from ..evaluation.report import plot_spectrum
from ..evaluation.results import confidence_interval, format_bounds, proportion_interval
from ..methods import LogisticCV
from ..tcs import TCSClassifier
from ..tcs.classifier import choose_readout
from ..tcs.trainer import progress_label
from .fit_report import Estimate, HeldOutPredictions, write_report_html

HOLDOUT_MIN_PER_CLASS = 5


@dataclass
class Candidate:
    """A model ``fit_folder`` may ship: its settings and its predictions on the held-out images."""

    name: str
    params: dict
    scores: list[float]  # accuracy on each split's held-out images
    held: HeldOutPredictions
    pretrained: bool  # the student started from its pretrained weights


def fit_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike = "runs/fit",
    unlabeled: str | None = None,
    seed: int = 0,
    ship: str = defaults.FIT_SHIP,
    **params,
) -> str:
    """Estimate accuracy on held-out labelled images, train on all of them, write the student and a report.

    With at least 5 images in every class, a stratified quarter is held out (interval: Wilson score, as
    bounds); with fewer, stratified k-fold with k = the smallest class size (Student's t over the folds). The
    teacher's logistic probe (C by cross-validation) is scored on the same held-out images. With
    ``ship="best"`` the untrained student (its pretrained weights, ``steps=0``) read out through its probe is
    scored too, and the final model is whichever of the two scored higher there (the trained one on a tie);
    ``ship="trained"`` always ships the trained one. Writes ``report.md`` and ``report.html`` (per-class
    accuracy, confusion matrix, the held-out images the shipped model got wrong). Returns the report's text
    (empty on ranks other than 0 under torchrun, which write nothing).
    """
    if ship not in defaults.FIT_SHIPS:
        raise ValueError(f"ship must be one of {defaults.FIT_SHIPS}; got {ship!r}")
    settings = TCSClassifier(seed=seed, **params)
    settings._check_params()
    _check_writable(Path(out))
    source = FolderSource(folder)
    counts = source.class_counts()
    too_few = {name: n for name, n in counts.items() if n < 2}
    if too_few:
        listed = ", ".join(f"{name!r} has {n}" for name, n in too_few.items())
        raise ValueError(f"class {listed} image; fit needs at least 2 per class (one to train on, one to check)")
    if len(counts) < 2:
        raise ValueError(f"{folder} has a single class folder; a classifier needs at least two")
    problems = source.verify()
    if problems:
        raise ValueError(f"{len(problems)} unreadable image(s): " + "; ".join(problems[:3]))
    smallest = min(counts.values())
    # Chosen once from the whole folder, so the held-out estimate scores the readout the final model ships.
    params = {"seed": seed, **params, "readout": choose_readout(settings.readout, smallest)}
    if smallest >= HOLDOUT_MIN_PER_CLASS:
        train, held = source.train_test_split(test_size=0.25, seed=seed)
        splits = [(train.positions, held.positions)]
        how = f"held-out quarter, {len(held)} images, Wilson score interval"
    else:
        folds = StratifiedKFold(n_splits=smallest, shuffle=True, random_state=seed)
        splits = list(folds.split(np.arange(len(source)), source.labels))
        how = f"{smallest}-fold cross-validation, the smallest class has {smallest} images; Student's t over folds"
    trained = _held_out("trained student" if settings.steps else "untrained student", params, source, splits, unlabeled)
    candidates = [trained]
    if ship == "best" and settings.steps and trained.pretrained:
        untrained = {**params, "steps": 0, "readout": "probe"}
        candidates.append(_held_out("untrained student", untrained, source, splits, unlabeled))
    chosen = max(candidates, key=lambda c: np.mean(c.scores))  # the first, the trained one, on a tie
    total = len(chosen.held.truth)
    estimates = {c.name: _estimate(c.scores, total) for c in candidates}
    teacher = _estimate(_teacher_probe_scores(settings, source, splits), total)
    with progress_label(f"final model: {chosen.name} on all {len(source)} images"):
        final = TCSClassifier(**chosen.params).fit(source, unlabeled=unlabeled)
    if not distributed.is_main():  # under torchrun every rank trained the same student; rank 0 writes it
        return ""
    out = Path(out)
    model_dir = final.save(out / "model")
    onnx = final.export(model_dir / "student.onnx")
    spectrum = plot_spectrum(*final.spectrum(), out / "spectrum.png")
    shipped = estimates[chosen.name]
    interval = f"95% interval {format_bounds(shipped.low, shipped.high)}"
    training = (
        f"{final.objective} objective, {final.readout_} readout, {int(final.mask_.sum())} of "
        f"{final.coords_.n_components_} coordinates kept"
        if final.steps
        else f"untrained (its pretrained weights), {final.readout_} readout"
    )
    facts = [
        ("folder", str(source.root)),
        ("classes", f"{len(counts)} ({', '.join(f'{k}: {v}' for k, v in counts.items())})"),
        ("teacher", str(final.backbone)),
        (
            "student",
            f"{final.student} at {final.image_size_} px, seeing {final.clean_crop_:.3g} of each centred square, "
            + training,
        ),
        ("model", f"{model_dir} (safetensors + config.json), ONNX: {onnx}"),
    ]
    models = [(f"{name} (shipped)" if name == chosen.name else name, e) for name, e in estimates.items()]
    html = write_report_html(
        out / "report.html",
        title=f"fewshot-tcs fit: {source.root.name}",
        models=[*models, ("teacher's logistic probe (C by cross-validation)", teacher)],
        how=how,
        facts=facts,
        held=chosen.held,
        source=source,
    )
    report = "\n".join(
        [
            f"# fewshot-tcs fit: {source.root}",
            "",
            f"- classes: {facts[1][1]}",
            f"- accuracy: {100 * shipped.accuracy:.1f} % ({interval}; {how})",
            *([] if len(candidates) == 1 else [_choice_line(chosen.name, estimates)]),
            f"- teacher's probe on the same held-out images: {100 * teacher.accuracy:.1f} % "
            f"(95% interval {format_bounds(teacher.low, teacher.high)})",
            f"- teacher: {final.backbone}; student: {facts[3][1]}",
            f"- model: {facts[4][1]}, spectrum plot: {spectrum}",
            f"- report with per-class accuracy, confusion matrix and the images it got wrong: {html}",
            "",
            f"Predict with: fewshot-tcs predict {model_dir} <images or folder>",
        ]
    )
    (out / "report.md").write_text(report + "\n")
    return report


def _held_out(name: str, params: dict, source: FolderSource, splits: list, unlabeled: str | None) -> Candidate:
    """Fit ``params`` on each split's training images and predict its held-out ones (each image once)."""
    held = HeldOutPredictions([], [], [], list(source.classes))
    scores = []
    for fold, (train_positions, held_positions) in enumerate(splits, 1):
        what = f"on {len(train_positions)} images" if len(splits) == 1 else f"in fold {fold} of {len(splits)}"
        with progress_label(f"held-out estimate: {name} {what}"):
            clf = TCSClassifier(**params).fit(source.subset(train_positions), unlabeled=unlabeled)
        predicted = [str(c) for c in clf.predict(source.subset(held_positions))]
        truth = [source.classes[label] for label in source.labels[held_positions]]
        scores.append(float(np.mean(np.array(predicted) == np.array(truth))))
        held.positions += [int(p) for p in held_positions]
        held.truth += truth
        held.predicted += predicted
    return Candidate(name, params, scores, held, bool(clf.student_pretrained_))


def _teacher_probe_scores(settings: TCSClassifier, source: FolderSource, splits: list) -> list[float]:
    """Accuracy of the teacher's logistic probe (C by cross-validation) on each split's held-out images."""
    values = np.asarray(settings.teacher_features(source))  # the final fit's pass: one cache entry serves both
    return [
        LogisticCV().fit(values[train], source.labels[train]).score(values[held], source.labels[held])
        for train, held in splits
    ]


def _choice_line(chosen: str, estimates: dict[str, Estimate]) -> str:
    """The report's line on which of the two students ships and why."""
    scored = ", ".join(
        f"{name} {100 * e.accuracy:.1f} % (95% interval {format_bounds(e.low, e.high)})"
        for name, e in estimates.items()
    )
    line = f"- shipped: the {chosen}, the higher of the two on the same held-out images: {scored}"
    if chosen == "untrained student":
        line += (
            ". Training did not beat the pretrained network read out through its probe here. Chosen on these "
            "images, so the accuracy above leans optimistic; `--ship trained` ships the trained student"
        )
    return line


def _estimate(scores: list[float], total: int) -> Estimate:
    """One held-out split: the accuracy with its Wilson interval; folds: their mean with Student's t."""
    if len(scores) == 1:
        low, high = proportion_interval(round(scores[0] * total), total)
        return Estimate(scores[0], low, high)
    mean, half = confidence_interval(scores)
    return Estimate(mean, max(0.0, mean - half), min(1.0, mean + half))


def _check_writable(out: Path) -> None:
    """``out`` can take the model and report, checked before any training."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output {out} is a file; give a folder for the model and report")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise ValueError(f"cannot write to {out} ({error.strerror}); give a folder you can write to") from error
