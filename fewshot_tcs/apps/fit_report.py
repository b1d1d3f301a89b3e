"""``report.html`` of a customer-folder fit: one self-contained file (styles and thumbnails inline, no script,
nothing fetched) showing the held-out accuracy of each candidate model and of the teacher's probe, per-class
accuracy, the confusion matrix and the held-out images the shipped model got wrong."""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import confusion_matrix

from ..data import ImageSource
from ..evaluation.results import format_bounds

THUMBNAIL_PX = 112
MAX_MISTAKES = 60  # thumbnails shown; the count of the rest is stated

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .3rem .6rem; border: 1px solid #d0d0d7; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.headline td { font-size: 1.05rem; }
.confusion td { min-width: 2.2rem; text-align: center; }
.mistakes { display: flex; flex-wrap: wrap; gap: .8rem; }
figure { margin: 0; width: 8.5rem; font-size: .8rem; }
figure img { display: block; max-width: 100%; border: 2px solid #c0392b; }
figcaption { overflow-wrap: anywhere; }
.facts td { text-align: left; }
.note { color: #555; font-size: .9rem; }
"""


@dataclass
class Estimate:
    """A held-out accuracy: the fraction, its 95% interval as bounds, and how it was measured."""

    accuracy: float
    low: float
    high: float


@dataclass
class HeldOutPredictions:
    """The shipped model's predictions on the images held out of its training (each image once)."""

    positions: list[int]  # into the report's source
    truth: list[str]
    predicted: list[str]
    classes: list[str]


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _thumbnail(image: Image.Image) -> str:
    image = image.convert("RGB")
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _confusion_table(held: HeldOutPredictions) -> str:
    matrix = confusion_matrix(held.truth, held.predicted, labels=held.classes)
    peak = max(int(matrix.max()), 1)
    header = "".join(f"<th>{html.escape(c)}</th>" for c in held.classes)
    rows = []
    for name, counts in zip(held.classes, matrix, strict=True):
        cells = []
        for j, count in enumerate(counts):
            hue = "46,125,50" if held.classes[j] == name else "192,57,43"
            alpha = 0.08 + 0.6 * count / peak if count else 0
            cells.append(f'<td style="background: rgba({hue},{alpha:.2f})">{count}</td>')
        rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    return '<table class="confusion"><tr><th>true \\ predicted</th>' + header + "</tr>" + "".join(rows) + "</table>"


def _per_class_table(held: HeldOutPredictions) -> str:
    truth, predicted = np.asarray(held.truth), np.asarray(held.predicted)
    rows = []
    for name in held.classes:
        mine = truth == name
        right = int((predicted[mine] == name).sum())
        total = int(mine.sum())
        accuracy = _percent(right / total) if total else "-"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{right} of {total}</td><td>{accuracy}</td></tr>")
    return "<table><tr><th>class</th><th>right</th><th>accuracy</th></tr>" + "".join(rows) + "</table>"


def _mistakes(held: HeldOutPredictions, source: ImageSource) -> str:
    wrong = [k for k, (t, p) in enumerate(zip(held.truth, held.predicted, strict=True)) if t != p]
    if not wrong:
        return "<p>None: every held-out image was classified correctly.</p>"
    figures = []
    for k in wrong[:MAX_MISTAKES]:
        position = held.positions[k]
        name = html.escape(source.ids[position])
        figures.append(
            f'<figure><img src="{_thumbnail(source.load(position))}" alt="{name}" title="{name}">'
            f"<figcaption>true <b>{html.escape(held.truth[k])}</b><br>predicted <b>{html.escape(held.predicted[k])}</b>"
            f"<br>{name}</figcaption></figure>"
        )
    more = len(wrong) - MAX_MISTAKES
    extra = f'<p class="note">and {more} more not shown.</p>' if more > 0 else ""
    return f'<div class="mistakes">{"".join(figures)}</div>{extra}'


def write_report_html(
    path: str | os.PathLike,
    *,
    title: str,
    models: list[tuple[str, Estimate]],
    how: str,
    facts: list[tuple[str, str]],
    held: HeldOutPredictions,
    source: ImageSource,
) -> Path:
    """Write the report; ``models`` are (label, held-out accuracy) rows, ``held`` the shipped model's predictions,
    ``facts`` (label, text) lines (classes, teacher, student, files)."""
    headline = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{_percent(e.accuracy)}</td><td>{format_bounds(e.low, e.high)}</td></tr>"
        for label, e in models
    )
    fact_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in facts)
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<h2>Held-out accuracy</h2>
<table class="headline"><tr><th>model</th><th>accuracy</th><th>95% interval</th></tr>{headline}</table>
<p class="note">{html.escape(how)}; all on the same held-out images, never trained on.</p>
<h2>Per class</h2>
{_per_class_table(held)}
<h2>Confusion matrix (held-out images)</h2>
{_confusion_table(held)}
<h2>Held-out images the shipped model got wrong</h2>
{_mistakes(held, source)}
<h2>Run</h2>
<table class="facts">{fact_rows}</table>
</body></html>
"""
    path = Path(path)
    path.write_text(body, encoding="utf-8")
    return path
