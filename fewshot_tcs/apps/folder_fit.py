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
from ..evaluation.results import format_bounds, proportion_interval
from ..methods import LogisticCV
from ..tcs import TCSClassifier
from ..tcs.classifier import choose_readout, choose_whiten
from ..tcs.trainer import progress_label
from .fit_report import Estimate, HeldOutPredictions, write_report_html

# Folds of the held-out estimate: every labelled image is held out once, so the choice between the trained and the
# untrained student rests on all of them, not on one held-out quarter (62 photos on ants and bees: +-6 points).
HOLDOUT_FOLDS = 4


@dataclass
class Candidate:
    """A model ``fit_folder`` may ship: its settings and its predictions on the held-out images."""

    name: str
    params: dict
    held: HeldOutPredictions
    pretrained: bool  # the student started from its pretrained weights

    @property
    def correct(self) -> int:
        """How many held-out images it classified correctly, over all the folds."""
        return int(np.sum(np.array(self.held.predicted) == np.array(self.held.truth)))


def fit_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike = "runs/fit",
    unlabeled: str | None = None,
    seed: int = 0,
    ship: str = defaults.FIT_SHIP,
    **params,
) -> str:
    """Estimate accuracy on held-out labelled images, train on all of them, write the student and a report.

    Stratified 4-fold cross-validation holds every image out once (k = the smallest class size where a class
    has fewer than 4 images); the accuracy is over all of them, with its Wilson score interval. The teacher's
    logistic probe (C by cross-validation) is scored on the same held-out images. With ``ship="best"`` the
    untrained student (its pretrained weights, ``steps=0``) read out through its probe is scored too, and the
    final model is whichever of the two scored higher there (the trained one on a tie);
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
    # Chosen once from the whole folder (each fold holds fewer images a class), so the held-out estimate scores
    # the readout and coordinates the final model ships.
    params = {
        "seed": seed,
        **params,
        "readout": choose_readout(settings.readout, smallest, settings.objective),
        "whiten": choose_whiten(settings.whiten, len(counts), smallest, settings.objective),
    }
    n_folds = min(smallest, HOLDOUT_FOLDS)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    splits = list(folds.split(np.arange(len(source)), source.labels))
    fewer = "" if n_folds == HOLDOUT_FOLDS else f", the smallest class has {smallest} images"
    how = f"{n_folds}-fold cross-validation, each of the {len(source)} images held out once{fewer}"
    how += "; Wilson score interval"
    trained = _held_out("trained student" if settings.steps else "untrained student", params, source, splits, unlabeled)
    candidates = [trained]
    if ship == "best" and settings.steps and trained.pretrained:
        untrained = {**params, "steps": 0, "readout": "probe"}
        candidates.append(_held_out("untrained student", untrained, source, splits, unlabeled))
    chosen = max(candidates, key=lambda c: c.correct)  # the first, the trained one, on a tie
    estimates = {c.name: _estimate(c.correct, len(source)) for c in candidates}
    teacher = _estimate(_teacher_probe_correct(settings, source, splits), len(source))
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
    for fold, (train_positions, held_positions) in enumerate(splits, 1):
        with progress_label(f"held-out estimate: {name} in fold {fold} of {len(splits)}"):
            clf = TCSClassifier(**params).fit(source.subset(train_positions), unlabeled=unlabeled)
        predicted = [str(c) for c in clf.predict(source.subset(held_positions))]
        truth = [source.classes[label] for label in source.labels[held_positions]]
        held.positions += [int(p) for p in held_positions]
        held.truth += truth
        held.predicted += predicted
    return Candidate(name, params, held, bool(clf.student_pretrained_))


def _teacher_probe_correct(settings: TCSClassifier, source: FolderSource, splits: list) -> int:
    """How many held-out images the teacher's logistic probe (C by cross-validation) gets right, over the splits."""
    values = np.asarray(settings.teacher_features(source))  # the final fit's pass: one cache entry serves both
    return sum(
        int(np.sum(LogisticCV().fit(values[train], source.labels[train]).predict(values[held]) == source.labels[held]))
        for train, held in splits
    )


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


def _estimate(correct: int, total: int) -> Estimate:
    """The held-out accuracy with its Wilson score interval."""
    return Estimate(correct / total, *proportion_interval(correct, total))


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
