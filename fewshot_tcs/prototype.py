"""A quick prototype from a folder of customer images: an honest accuracy, then a deployable student."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from . import distributed
from .data import FolderSource
from .report import plot_spectrum
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

    With at least 5 images in every class, a stratified quarter is held out (interval: normal approximation
    of the binomial); with fewer, stratified k-fold with k = the smallest class size (interval over folds).
    Returns the report's text (empty on ranks other than 0 under torchrun, which write nothing).
    """
    TCSClassifier(seed=seed, **params)._check_params()
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
        interval = 1.96 * math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / len(held))
        how = f"held-out quarter ({len(held)} images, normal approximation)"
    else:
        folds = StratifiedKFold(n_splits=smallest, shuffle=True, random_state=seed)
        scores = [
            TCSClassifier(**params).fit(source.subset(tr), unlabeled=unlabeled).score(source.subset(te))
            for tr, te in folds.split(positions, source.labels)
        ]
        accuracy = float(np.mean(scores))
        interval = 1.96 * float(np.std(scores, ddof=1)) / math.sqrt(len(scores))
        how = f"{smallest}-fold cross-validation (the smallest class has {smallest} images)"
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
            f"- accuracy: {100 * accuracy:.1f} % +- {100 * interval:.1f} (95% interval, {how})",
            f"- teacher: {final.backbone}; student: {final.student} at {final.image_size} px, "
            f"{int(final.mask_.sum())} of {final.coords_.n_components_} coordinates kept",
            f"- model: {model_dir} (safetensors + config.json), ONNX: {onnx}, spectrum plot: {spectrum}",
            "",
            f"Predict with: fewshot-tcs predict {model_dir} <images or folder>",
        ]
    )
    (out / "report.md").write_text(report + "\n")
    return report
