"""``fewshot-tcs demo``: the whole pipeline offline on Fashion-MNIST with the efficientnet_lite2 teacher.

Probes on 5-way 1- and 5-shot episodes, the paper's TCS student, the tcs-kd student (the default) and a CE student on
a few 5-shot episodes (every student setting at the library's default, 4 recorded teacher views), then one
student trained on an episode's support, exported to ONNX, with plots of accuracy and of the tailored
spectrum.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..data import load_source
from ..episodes import EpisodeSampler
from ..evaluation.benchmark import benchmark
from ..evaluation.report import markdown_table, plot_accuracy_vs_shots, plot_spectrum, write_tables
from ..tcs import TCSClassifier

TEACHER = "efficientnet_lite2"
STUDENT = dict(student="mobilenetv2_100")
VIEWS = 4
STUDENT_EPISODES = 5


def run_demo(out: str | os.PathLike = "runs/demo", n_episodes: int = 30, quiet: bool | None = None) -> str:
    start = time.perf_counter()
    out = Path(out)
    source = load_source("fashion-mnist", split="test", download=True)
    say = (lambda *a: None) if quiet else print
    say(f"fewshot-tcs demo: {source} with teacher {TEACHER}")
    probes = benchmark(
        source,
        methods=["protonet", "logistic", "tcs-probe"],
        backbone=TEACHER,
        shots=(1, 5),
        n_episodes=n_episodes,
        out=out / "episodes",
        quiet=quiet,
    )
    students = benchmark(
        source,
        methods=["student-ce", "student-tcs", "student-tcs-kd"],
        backbone=TEACHER,
        shots=(5,),
        n_episodes=STUDENT_EPISODES,
        views=VIEWS,
        out=out / "episodes",
        method_params=STUDENT,
        quiet=quiet,
    )
    rows = probes.rows() + students.rows()
    table = markdown_table(rows)
    paths = write_tables(rows, out)
    accuracy_plot = plot_accuracy_vs_shots(rows, out / "accuracy_vs_shots.png", title="Fashion-MNIST, 5-way")

    episode = EpisodeSampler(source, 5, 5, n_query=15, n_episodes=1, seed=123)[0]
    support = source.subset(source.index_of(episode.support))
    query = source.subset(source.index_of(episode.query))
    clf = TCSClassifier(backbone=TEACHER, **STUDENT, quiet=quiet).fit(support)
    model_dir = clf.save(out / "student")
    onnx = clf.export(model_dir / "student.onnx")
    spectrum = plot_spectrum(*clf.spectrum(), out / "spectrum.png")
    summary = "\n".join(
        [
            table,
            "",
            f"(mean +- 95% interval over n episodes; students on the first {STUDENT_EPISODES} 5-shot episodes)",
            f"one more student on a 5-way 5-shot support: {100 * clf.score(query):.1f} % on its 75 queries",
            f"tables: {paths['md']}  plot: {accuracy_plot}  spectrum: {spectrum}",
            f"student: {model_dir} (safetensors + config.json), ONNX: {onnx}",
            f"demo took {time.perf_counter() - start:.0f} s",
        ]
    )
    print(summary)
    return summary
