"""Reports: results as Markdown, CSV and JSON tables, and PNG plots."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .results import format_mean


def _rows(rows: Iterable[dict]) -> list[dict]:
    rows = list(rows)
    if not rows:
        raise ValueError("no results to report")
    return rows


def markdown_table(rows: Iterable[dict]) -> str:
    """Method x shots: ``mean +- 95% interval`` in percent, with n and seconds per episode in each cell."""
    rows = _rows(rows)
    shots = sorted({r["shots"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["method"], r["shots"]): r for r in rows}
    header = "| method | " + " | ".join(f"{k}-shot" for k in shots) + " |"
    lines = [header, "|---" * (len(shots) + 1) + "|"]
    for method in methods:
        cells = []
        for k in shots:
            r = cell.get((method, k))
            cells.append(
                ""
                if r is None
                else f"{format_mean(r['mean'], r['ci95'])} (n={r['n']}, {r['seconds_per_episode']:.3f} s/ep)"
            )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_table(rows: Iterable[dict]) -> str:
    rows = _rows(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def json_table(rows: Iterable[dict]) -> str:
    return json.dumps(_rows(rows), indent=1)


def write_tables(rows: Iterable[dict], folder: str | os.PathLike, stem: str = "results") -> dict[str, Path]:
    """``<stem>.md``, ``.csv`` and ``.json`` in ``folder``; returns their paths."""
    rows = _rows(rows)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for suffix, render in (("md", markdown_table), ("csv", csv_table), ("json", json_table)):
        paths[suffix] = folder / f"{stem}.{suffix}"
        paths[suffix].write_text(render(rows) + ("\n" if suffix == "md" else ""))
    return paths


def plot_accuracy_vs_shots(rows: Iterable[dict], path: str | os.PathLike, title: str = "") -> Path:
    """Accuracy against shots, one line per method, 95% intervals as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["shots"])
        ax.errorbar(
            [r["shots"] for r in mine],
            [100 * r["mean"] for r in mine],
            yerr=[100 * r["ci95"] for r in mine],
            marker="o",
            capsize=3,
            label=method,
        )
    ax.set_xlabel("shots per class")
    ax.set_ylabel("accuracy (%), 95% CI")
    ax.set_xticks(sorted({r["shots"] for r in rows}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_spectrum(explained_ratio: np.ndarray, kept: np.ndarray, path: str | os.PathLike) -> Path:
    """A PCA spectrum (``explained_ratio`` of each coordinate) with the coordinates tailoring ``kept`` marked,
    as ``TCSClassifier.spectrum()`` gives them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio = 100 * np.asarray(explained_ratio, dtype=np.float64)
    kept = np.asarray(kept).astype(bool)
    index = np.arange(1, len(ratio) + 1)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(index[~kept], ratio[~kept], color="lightgray", label="dropped")
    ax.bar(index[kept], ratio[kept], color="tab:blue", label=f"kept ({kept.sum()})")
    ax.set_xlabel("principal coordinate")
    ax.set_ylabel("explained variance (%)")
    ax.set_title("tailored coordinate system")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
