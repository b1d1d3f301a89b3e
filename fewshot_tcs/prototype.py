"""A quick prototype from a folder of customer images: an honest accuracy, then a deployable student."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from . import distributed
from .data import FolderSource
from .report import plot_spectrum
from .results import confidence_interval, proportion_interval
from .tcs import TCSClassifier

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
    bounds); with fewer, stratified k-fold with k = the smallest class size (Student's t over the folds).
    Returns the report's text (empty on ranks other than 0 under torchrun, which write nothing).
    """
    TCSClassifier(seed=seed, **params)._check_params()
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
    params = {"seed": seed, **params}
    smallest = min(counts.values())
    positions = np.arange(len(source))
    if smallest >= HOLDOUT_MIN_PER_CLASS:
        train, held = source.train_test_split(test_size=0.25, seed=seed)
        clf = TCSClassifier(**params).fit(train, unlabeled=unlabeled)
        accuracy = clf.score(held)
        low, high = proportion_interval(round(accuracy * len(held)), len(held))
        how = f"held-out quarter, {len(held)} images, Wilson score interval"
    else:
        folds = StratifiedKFold(n_splits=smallest, shuffle=True, random_state=seed)
        scores = [
            TCSClassifier(**params).fit(source.subset(tr), unlabeled=unlabeled).score(source.subset(te))
            for tr, te in folds.split(positions, source.labels)
        ]
        accuracy, half = confidence_interval(scores)
        low, high = max(0.0, accuracy - half), min(1.0, accuracy + half)
        how = f"{smallest}-fold cross-validation, the smallest class has {smallest} images; Student's t over folds"
    final = TCSClassifier(**params).fit(source, unlabeled=unlabeled)
    if not distributed.is_main():  # under torchrun every rank trained the same student; rank 0 writes it
        return ""
    out = Path(out)
    model_dir = final.save(out / "model")
    onnx = final.export(model_dir / "student.onnx")
    spectrum = plot_spectrum(final, out / "spectrum.png")
    report = "\n".join(
        [
            f"# fewshot-tcs fit: {source.root}",
            "",
            f"- classes: {len(counts)} ({', '.join(f'{k}: {v}' for k, v in counts.items())})",
            f"- accuracy: {100 * accuracy:.1f} % (95% interval {100 * low:.1f} to {100 * high:.1f} %; {how})",
            f"- teacher: {final.backbone}; student: {final.student} at {final.image_size_} px, "
            f"{int(final.mask_.sum())} of {final.coords_.n_components_} coordinates kept",
            f"- model: {model_dir} (safetensors + config.json), ONNX: {onnx}, spectrum plot: {spectrum}",
            "",
            f"Predict with: fewshot-tcs predict {model_dir} <images or folder>",
        ]
    )
    (out / "report.md").write_text(report + "\n")
    return report


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
