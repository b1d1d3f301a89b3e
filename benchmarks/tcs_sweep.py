"""Student settings side by side on the first episodes of a tcs_quality part: the tuning runs behind the defaults.

    python benchmarks/tcs_sweep.py --episodes 12 --config ce method=ce steps=60 \
        --config tcs-raw-l1 normalize_mimic=false lambda_mimic=1 steps=60

Each ``--config NAME KEY=VALUE ...`` is a student: ``method`` tcs (default), tcs-kd, ce or kd (student-kd on cached
views), and TCSClassifier parameters over the part's settings (values are JSON, else strings), evaluated on
the same episodes as the others and as tcs_quality. Records go to benchmarks/results/tcs_sweep/<part>.jsonl
under the config's name, so a rerun skips what is done: give a new name to a changed config.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import tcs_quality as quality

from fewshot_tcs.data import load_source
from fewshot_tcs.evaluation.evaluate import evaluate
from fewshot_tcs.features import teacher_pass
from fewshot_tcs.methods import StudentCE, StudentTCS, StudentTCSKD

RESULTS = Path(__file__).parent / "results" / "tcs_sweep"
METHODS = {
    "tcs": StudentTCS,
    "tcs-kd": StudentTCSKD,
    "ce": StudentCE,
    "kd": quality.cached_kd,
}


def parse_config(words: list[str]) -> tuple[str, dict]:
    name, params = words[0], {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise SystemExit(f"--config {name}: {word!r} is not KEY=VALUE")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return name, params


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", default=quality.MAIN.name, help="a tcs_quality part name")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--config", nargs="+", action="append", required=True, metavar="NAME KEY=VALUE")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    parts = {p.name: p for p in quality.PARTS}
    if args.part not in parts:
        parser.error(f"unknown part {args.part!r}; known: {sorted(parts)}")
    part = parts[args.part]
    source = load_source("omniglot-small")
    features = teacher_pass(quality.TEACHERS[part.teacher], source, views=quality.VIEWS)
    sampler = quality.sampler_for(part, source, args.episodes)
    args.out.mkdir(parents=True, exist_ok=True)
    means = {}
    for name, params in map(parse_config, args.config):
        kind = params.pop("method", "tcs")
        if kind not in METHODS:
            parser.error(f"--config {name}: method must be one of {sorted(METHODS)}; got {kind!r}")
        settings = {**quality.student_params(part, kind), **params}
        method = METHODS[kind](**settings)
        start = time.perf_counter()
        result = evaluate(method, sampler, features, source=source, name=name, out=args.out / f"{part.name}.jsonl")
        means[name] = result.mean
        print(
            f"{name:24s} {100 * result.mean:6.2f} +- {100 * result.ci95:5.2f} % (n={result.n}), "
            f"train {np.mean(result.fit_seconds):5.1f} s/episode [{time.perf_counter() - start:.0f} s] {params}",
            flush=True,
        )
    return means


if __name__ == "__main__":
    main()
