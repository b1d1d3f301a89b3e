"""The ``fewshot-tcs`` command: demo, bench, fit, predict, backbones, episodes."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from .. import __version__, defaults

# Heavy libraries (torch, timm, ...) are imported inside the commands, so --help answers at once.

EXIT_USAGE = 2
DATASET_HELP = (
    "a named dataset (omniglot-small, cifar10, hymenoptera, fashion-mnist, ...; an unknown name lists them all), "
    "folder:<path> or hf:<repo>"
)


def _episodes_make(args: argparse.Namespace) -> int:
    from ..data import load_source
    from ..episodes import EpisodeSampler, save_episodes

    source = load_source(args.dataset, split=args.split, root=args.root)
    sampler = EpisodeSampler(
        source,
        args.n_way,
        args.k_shot,
        n_query=args.n_query,
        n_episodes=args.n_episodes,
        seed=args.seed,
        n_unlabeled=args.n_unlabeled,
        skip_small_classes=args.skip_small_classes,
        unlabeled_source=None
        if args.unlabeled_split is None
        else load_source(args.dataset, split=args.unlabeled_split, root=args.root),
    )
    path = save_episodes(sampler.episodes(), args.out)
    _say(
        args,
        f"wrote {len(sampler)} {args.n_way}-way {args.k_shot}-shot episodes of {source.name} "
        f"(fingerprint {sampler.source.fingerprint()}) to {path}",
    )
    return 0


def _episodes_show(args: argparse.Namespace) -> int:
    from ..episodes import load_episodes

    episodes = load_episodes(args.file)
    first = episodes[0]
    shapes = Counter((e.n_way, len(e.support) // e.n_way, len(e.query) // e.n_way) for e in episodes)
    print(
        f"{args.file}: {len(episodes)} episodes of {first.dataset} (split {first.split}, "
        f"fingerprint {first.fingerprint}, seed {first.seed})"
    )
    for (n_way, k_shot, n_query), count in sorted(shapes.items()):
        print(f"  {count} x {n_way}-way {k_shot}-shot, {n_query} queries per class")
    for episode in episodes[: args.head]:
        print(f"  episode {episode.index}: classes {', '.join(episode.classes)}")
    return 0


def _backbones(args: argparse.Namespace) -> int:
    from ..backbones import list_backbones

    print(f"{'name':26s} {'family':10s} {'dim':>5s} {'input':>7s} {'offline':>8s}  licence")
    for info in list_backbones(args.pattern):
        print(
            f"{info.name:26s} {info.family:10s} {info.feature_dim:5d} {info.input_size[1]:5d}px "
            f"{'yes' if info.available else 'no':>8s}  {info.licence}"
        )
    print(
        "\nAlso: timm:<any timm model>, open_clip:<arch>/<pretrained tag>. 'offline: no' means the weights "
        "must be downloaded or given with --weights."
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .. import distributed
    from ..evaluation.benchmark import benchmark
    from ..evaluation.report import markdown_table, plot_accuracy_vs_shots, write_tables

    params = {"student": args.student, "teacher_views": args.views, "steps": args.steps, "image_size": args.image_size}
    result = benchmark(
        args.dataset,
        methods=args.methods,
        backbone=_teachers(args.backbone),
        n_way=args.n_way,
        shots=args.shots,
        n_episodes=args.n_episodes,
        seed=args.seed,
        n_query=args.n_query,
        n_unlabeled=args.n_unlabeled,
        episodes=args.episodes,
        split=args.split,
        views=args.views,
        out=Path(args.out) / "episodes",
        method_params=params,
        weights=args.weights,
        quiet=args.quiet,
    )
    if not distributed.is_main():  # under torchrun, rank 0 writes the tables
        return 0
    rows = result.rows()
    paths = write_tables(rows, args.out)
    plot = plot_accuracy_vs_shots(rows, Path(args.out) / "accuracy_vs_shots.png", title=result.dataset)
    print(markdown_table(rows))
    _say(args, f"\ntables: {paths['md']}, {paths['csv']}, {paths['json']}; plot: {plot}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    from .folder_fit import fit_folder

    summary = fit_folder(
        args.folder,
        out=args.out,
        unlabeled=args.unlabeled,
        backbone=_teachers(args.backbone),
        student=args.student,
        teacher_weights=args.weights,
        steps=args.steps,
        image_size=args.image_size,
        clean_crop=args.clean_crop,
        readout=args.readout,
        weight_interpolation=args.weight_interpolation,
        whiten=args.whiten,
        objective=args.objective,
        ship=args.ship,
        quiet=args.quiet,
    )
    if summary:
        print(summary)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from ..data import as_images
    from ..tcs import TCSClassifier

    clf = TCSClassifier.load(args.model)
    images = as_images(args.images[0]) if len(args.images) == 1 else as_images(args.images)
    proba = clf.predict_proba(images)
    rows = [
        {
            "image": images.describe(i),
            "class": str(clf.classes_[row.argmax()]),
            "probability": round(float(row.max()), 4),
        }
        for i, row in enumerate(proba)
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=1))
        return 0
    delimiter = "," if args.format == "csv" else "\t"
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(out=args.out, n_episodes=args.n_episodes, quiet=args.quiet)
    return 0


def _teachers(value: str) -> str | list[str]:
    names = value.split("+")
    return names[0] if len(names) == 1 else names


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def _image_size(value: str) -> int | str:
    return value if value == "auto" else int(value)


def _fraction_or_auto(value: str) -> float | str:
    return value if value == "auto" else float(value)


def _whiten(value: str) -> bool | str:
    choices = {"auto": "auto", "true": True, "false": False}
    if value not in choices:
        raise argparse.ArgumentTypeError(f"choose from auto, true, false; got {value!r}")
    return choices[value]


def _add_episode_options(parser: argparse.ArgumentParser) -> None:
    """The episode shape and seed, shared by the commands that sample episodes."""
    parser.add_argument("--split", default=None, help="the dataset's split (default: its test split)")
    parser.add_argument("--n-way", type=int, default=defaults.N_WAY, help="classes per episode")
    parser.add_argument("--n-query", type=int, default=defaults.N_QUERY, help="query images per class")
    parser.add_argument("--n-unlabeled", type=int, default=0, help="unlabelled images per class (semi-supervised)")
    parser.add_argument("--n-episodes", type=int, default=defaults.N_EPISODES, help="episodes per shot count")
    parser.add_argument("--seed", type=int, default=0, help="episode i is drawn from the generator [seed, i]")


def _global_options(suppress: bool) -> argparse.ArgumentParser:
    """-q, -v and --threads, accepted before or after the command (after it, a default must not override a
    value given before it: hence SUPPRESS there)."""
    options = argparse.ArgumentParser(add_help=False)

    def default(value):
        return argparse.SUPPRESS if suppress else value

    options.add_argument(
        "-q", "--quiet", action="store_true", default=default(None), help="no progress bars or chatter"
    )
    options.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="also log each choice (size, runtime)"
    )
    options.add_argument(
        "--threads", type=int, default=default(None), help="CPU threads (default: $OMP_NUM_THREADS, else all cores)"
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    after = _global_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="fewshot-tcs",
        description="Few-shot image classification with TCS: "
        "distil a large teacher into a small student from a few labelled images.",
        parents=[_global_options(suppress=False)],
        epilog="Progress bars show on a terminal and stay out of logs and pipes; -q hides them everywhere.",
    )
    parser.add_argument("--version", action="version", version=f"fewshot-tcs {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=help.replace("%%", "%"),  # descriptions are not %-formatted
            parents=[after],
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )

    demo = command("demo", "the whole pipeline offline on Fashion-MNIST (a few minutes)")
    demo.add_argument("--out", default="runs/demo", help="where tables, plots and the student go")
    demo.add_argument("--n-episodes", type=int, default=30, help="episodes per shot count for the probes")
    demo.set_defaults(run=_demo)

    bench = command("bench", "methods side by side on identical episodes, with 95%% intervals")
    bench.add_argument("dataset", help=DATASET_HELP)
    bench.add_argument("--methods", nargs="+", default=list(defaults.BENCH_METHODS), help="method names")
    bench.add_argument("--backbone", default=defaults.TEACHER, help="teacher; join several with '+'")
    bench.add_argument(
        "--episodes", default=None, help="a fixed episode file, or a shipped one by name (e.g. omniglot-small/5w5s)"
    )
    bench.add_argument("--weights", default=None, help="a local checkpoint file for the teacher (offline weights)")
    bench.add_argument("--shots", type=int, nargs="+", default=list(defaults.SHOTS), help="labelled images per class")
    _add_episode_options(bench)
    bench.add_argument("--views", type=int, default=0, help="augmented views per image in the teacher pass")
    bench.add_argument("--student", default=defaults.STUDENT, help="student backbone of the student methods")
    bench.add_argument("--steps", type=int, default=defaults.STEPS, help="training steps per student")
    bench.add_argument(
        "--image-size", type=_image_size, default=defaults.IMAGE_SIZE, help="student input size in px, or auto"
    )
    bench.add_argument("--out", default="runs/bench", help="tables, plot and resumable per-episode records")
    bench.set_defaults(run=_bench)

    fit = command("fit", "train and export a student from a folder with one sub-folder per class")
    fit.add_argument("folder", help="a folder with one sub-folder of images per class")
    fit.add_argument("--unlabeled", default=None, help="a folder of unlabelled images of the same kind")
    fit.add_argument("--backbone", default=defaults.TEACHER, help="teacher; join several with '+'")
    fit.add_argument("--weights", default=None, help="a local checkpoint file for the teacher (offline weights)")
    fit.add_argument("--student", default=defaults.STUDENT, help="student backbone (its pretrained weights)")
    fit.add_argument("--steps", type=int, default=defaults.STEPS, help="training steps")
    fit.add_argument(
        "--image-size",
        type=_image_size,
        default=defaults.IMAGE_SIZE,
        help="student input size in px, or auto (from the images and the student's pretrained size)",
    )
    fit.add_argument(
        "--clean-crop",
        type=_fraction_or_auto,
        default=defaults.CLEAN_CROP,
        help="central fraction of each image's centred square the student sees, or auto (a tighter crop for large "
        "photographs, to keep objects at the student's pretrained scale)",
    )
    fit.add_argument(
        "--readout",
        choices=defaults.READOUTS,
        default=defaults.READOUT,
        help="linear: the trained head; ncm: nearest class mean; probe: a logistic probe on the trained student's "
        "features; coord-probe: the same on its tailored coordinates; probe+linear: the mean of the probe's and the "
        "head's logits; auto: probe when every class has at least 16 "
        "images, else coord-probe under the tcs-kd objective when every class has at least 2, else linear",
    )
    fit.add_argument(
        "--weight-interpolation",
        type=_fraction_or_auto,
        default=defaults.WEIGHT_INTERPOLATION,
        help="share of training's change to the student's weights it keeps (0: the pretrained network, 1: all of "
        "training), or auto (0.5 for a pretrained student on photographs)",
    )
    fit.add_argument(
        "--whiten",
        type=_whiten,
        default=defaults.WHITEN,
        help="mimic whitened tailored coordinates: true, false, or auto (true under tcs-kd from 5 classes of 16 "
        "images each)",
    )
    fit.add_argument(
        "--objective",
        choices=defaults.DISTILLING_OBJECTIVES,
        default=defaults.OBJECTIVE,
        help="tcs-kd: the teacher's decision and its tailored coordinates on every image and view; tcs: the "
        "paper's objective (CE + coordinate mimic)",
    )
    fit.add_argument(
        "--ship",
        choices=defaults.FIT_SHIPS,
        default=defaults.FIT_SHIP,
        help="best: the trained student or the untrained one read out through its probe, whichever scores higher "
        "on the held-out images (the trained one on a tie; only the trained one for a student from scratch or "
        "--steps 0); trained: always the trained student",
    )
    fit.add_argument("--out", default="runs/fit", help="where the model, its ONNX export and the report go")
    fit.set_defaults(run=_fit)

    predict = command("predict", "classify images with a saved student")
    predict.add_argument("model", help="folder written by 'fit' (model.safetensors + config.json)")
    predict.add_argument("images", nargs="+", help="image files or one folder")
    predict.add_argument(
        "--format", choices=("tsv", "csv", "json"), default="tsv", help="columns image, class, probability"
    )
    predict.set_defaults(run=_predict)

    backbones = command("backbones", "registered backbones and whether they work offline")
    backbones.add_argument("pattern", nargs="?", default=None, help="fnmatch pattern, e.g. 'dinov2_*'")
    backbones.set_defaults(run=_backbones)

    episodes = command("episodes", "make or inspect fixed episode files")
    episode_commands = episodes.add_subparsers(dest="episodes_command", required=True, metavar="ACTION")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        return episode_commands.add_parser(
            name, help=help, description=help, parents=[after], formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )

    make = action("make", "sample episodes into a JSON Lines file")
    make.add_argument("dataset", help=DATASET_HELP)
    make.add_argument("--out", required=True, help="episode file to write (.jsonl or .jsonl.gz)")
    make.add_argument("--root", default=None, help="where the dataset files are (default: the data roots)")
    make.add_argument("--k-shot", type=int, default=5, help="labelled images per class")
    _add_episode_options(make)
    make.add_argument("--skip-small-classes", action="store_true", help="leave out classes with too few images")
    make.add_argument(
        "--unlabeled-split", default=None, help="draw the unlabelled images from this split (e.g. train) of the dataset"
    )
    make.set_defaults(run=_episodes_make)
    show = action("show", "summarise an episode file")
    show.add_argument("file", help="an episode file, or the name of a shipped one (omniglot-small/5w5s)")
    show.add_argument("--head", type=int, default=3, help="episodes to list")
    show.set_defaults(run=_episodes_show)
    return parser


# Commands that split their work over the ranks of a torchrun job; the others run on rank 0 alone.
DISTRIBUTED_COMMANDS = ("bench", "fit")


def main(argv: list[str] | None = None) -> int:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # one rank of a torchrun job
        from torch.distributed.elastic.multiprocessing.errors import record

        # Under torchrun the failing rank's traceback is reported as the run's root cause.
        return record(_main)(argv)
    return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    from .. import distributed
    from ..backbones import WeightsNotFoundError
    from ..episodes import EpisodeFileError
    from ..threads import configure_threads

    if distributed.launched() and args.command not in DISTRIBUTED_COMMANDS and not distributed.is_main():
        return 0
    try:
        configure_threads(args.threads)
        return args.run(args)
    except (ValueError, FileNotFoundError, KeyError, EpisodeFileError, WeightsNotFoundError, OSError) as error:
        # A user's mistake or a missing asset: say what was wrong, no traceback.
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        if isinstance(error, WeightsNotFoundError):
            message = error.for_interface("cli")  # --weights, not the Python keyword
        print(f"fewshot-tcs: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fewshot-tcs: interrupted; finished episodes are kept in the results files", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
