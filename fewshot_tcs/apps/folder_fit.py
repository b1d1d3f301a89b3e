"""A quick prototype from a folder of customer images: an honest accuracy, then a deployable student."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .. import distributed
from ..backbones.errors import WeightsNotFoundError
from ..data import FolderSource
from ..evaluation.report import plot_spectrum
from ..evaluation.results import confidence_interval, format_bounds, proportion_interval
from ..methods import ItemSet, LogisticCV, StudentViewProbe
from ..tcs import TCSClassifier
from ..tcs.classifier import choose_readout
from ..tcs.trainer import progress_label
from .fit_report import Estimate, HeldOutPredictions, write_report_html

HOLDOUT_MIN_PER_CLASS = 5


def fit_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike = "runs/fit",
    unlabeled: str | None = None,
    seed: int = 0,
    **params,
) -> str:
    """Estimate accuracy on held-out labelled images, train on all of them, write the student and a report.

    With at least 5 images in every class, a stratified quarter is held out (interval: Wilson score, as
    bounds); with fewer, stratified k-fold with k = the smallest class size (Student's t over the folds). The
    teacher's logistic probe (C by cross-validation) is scored on the same held-out images. Writes
    ``report.md`` and ``report.html`` (per-class accuracy, confusion matrix, the held-out images the student
    got wrong). Returns the report's text (empty on ranks other than 0 under torchrun, which write nothing).
    """
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
    held_out = HeldOutPredictions([], [], [], list(source.classes))
    student_scores = []
    for fold, (train_positions, held_positions) in enumerate(splits, 1):
        what = f"student on {len(train_positions)} images" if len(splits) == 1 else f"fold {fold} of {len(splits)}"
        with progress_label(f"held-out estimate: {what}"):
            clf = TCSClassifier(**params).fit(source.subset(train_positions), unlabeled=unlabeled)
        predicted = [str(c) for c in clf.predict(source.subset(held_positions))]
        truth = [source.classes[label] for label in source.labels[held_positions]]
        student_scores.append(float(np.mean(np.array(predicted) == np.array(truth))))
        held_out.positions += [int(p) for p in held_positions]
        held_out.truth += truth
        held_out.predicted += predicted
    teacher_scores = _teacher_probe_scores(settings, source, splits)
    student, teacher = (_estimate(scores, len(held_out.truth)) for scores in (student_scores, teacher_scores))
    own_scores = _own_probe_scores(settings, source, splits)
    own = _estimate(own_scores, len(held_out.truth)) if own_scores else None
    with progress_label(f"final model: student on all {len(source)} images"):
        final = TCSClassifier(**params).fit(source, unlabeled=unlabeled)
    if not distributed.is_main():  # under torchrun every rank trained the same student; rank 0 writes it
        return ""
    out = Path(out)
    model_dir = final.save(out / "model")
    onnx = final.export(model_dir / "student.onnx")
    spectrum = plot_spectrum(*final.spectrum(), out / "spectrum.png")
    interval = f"95% interval {format_bounds(student.low, student.high)}"
    facts = [
        ("folder", str(source.root)),
        ("classes", f"{len(counts)} ({', '.join(f'{k}: {v}' for k, v in counts.items())})"),
        ("teacher", str(final.backbone)),
        (
            "student",
            f"{final.student} at {final.image_size_} px, seeing {final.clean_crop_:.3g} of each centred square, "
            f"{final.objective} objective, {final.readout_} readout",
        ),
        ("coordinates kept", f"{int(final.mask_.sum())} of {final.coords_.n_components_}"),
        ("model", f"{model_dir} (safetensors + config.json), ONNX: {onnx}"),
    ]
    html = write_report_html(
        out / "report.html",
        title=f"fewshot-tcs fit: {source.root.name}",
        student=student,
        teacher=teacher,
        own=own,
        how=how,
        facts=facts,
        held=held_out,
        source=source,
    )
    report = "\n".join(
        [
            f"# fewshot-tcs fit: {source.root}",
            "",
            f"- classes: {facts[1][1]}",
            f"- accuracy: {100 * student.accuracy:.1f} % ({interval}; {how})",
            f"- teacher's probe on the same held-out images: {100 * teacher.accuracy:.1f} % "
            f"(95% interval {format_bounds(teacher.low, teacher.high)})",
            *([] if own is None else [_own_probe_line(own, student)]),
            f"- teacher: {final.backbone}; student: {facts[3][1]}, {facts[4][1]} coordinates kept",
            f"- model: {facts[5][1]}, spectrum plot: {spectrum}",
            f"- report with per-class accuracy, confusion matrix and the images it got wrong: {html}",
            "",
            f"Predict with: fewshot-tcs predict {model_dir} <images or folder>",
        ]
    )
    (out / "report.md").write_text(report + "\n")
    return report


def _teacher_probe_scores(settings: TCSClassifier, source: FolderSource, splits: list) -> list[float]:
    """Accuracy of the teacher's logistic probe (C by cross-validation) on each split's held-out images."""
    values = np.asarray(settings.teacher_features(source))  # the final fit's pass: one cache entry serves both
    return [
        LogisticCV().fit(values[train], source.labels[train]).score(values[held], source.labels[held])
        for train, held in splits
    ]


def _own_probe_scores(settings: TCSClassifier, source: FolderSource, splits: list) -> list[float]:
    """Accuracy of the student backbone's own probe, untrained, at the student's view (``StudentViewProbe``) on
    each split's held-out images; none for a student without pretrained weights."""
    if not settings.student_pretrained:
        return []
    probe = StudentViewProbe(settings.student, image_size=settings.image_size, clean_crop=settings.clean_crop)
    try:
        return [
            probe.fit(ItemSet(images=source.subset(train), labels=source.labels[train])).score(
                ItemSet(images=source.subset(held)), source.labels[held]
            )
            for train, held in splits
        ]
    except WeightsNotFoundError:
        return []


def _own_probe_line(own: Estimate, student: Estimate) -> str:
    """The report's line on the untrained student, with what to do when the distilled one did not beat it."""
    line = (
        f"- the student backbone's own probe, untrained, at the student's view, on the same held-out images: "
        f"{100 * own.accuracy:.1f} % (95% interval {format_bounds(own.low, own.high)})"
    )
    if own.accuracy > student.accuracy:
        line += (
            "; training did not beat it here: `--weight-interpolation 0 --readout probe` ships that network "
            "(the pretrained student and its probe)"
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
