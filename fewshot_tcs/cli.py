"""The ``fewshot-tcs`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter

from . import __version__
from .data import list_sources, load_source
from .episodes import EpisodeSampler, load_episodes, save_episodes

EXIT_USAGE = 2


def _episodes_make(args: argparse.Namespace) -> int:
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
    )
    path = save_episodes(sampler.episodes(), args.out)
    if not args.quiet:
        print(
            f"wrote {len(sampler)} {args.n_way}-way {args.k_shot}-shot episodes of {source.name} "
            f"(fingerprint {source.fingerprint()}) to {path}"
        )
    return 0


def _episodes_show(args: argparse.Namespace) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fewshot-tcs", description="Few-shot image classification with TCS.")
    parser.add_argument("--version", action="version", version=f"fewshot-tcs {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or chatter")
    commands = parser.add_subparsers(dest="command", required=True)

    episodes = commands.add_parser("episodes", help="make or inspect fixed episode files")
    episode_commands = episodes.add_subparsers(dest="episodes_command", required=True)
    make = episode_commands.add_parser("make", help="sample episodes into a JSON Lines file")
    make.add_argument("dataset", help=f"dataset name ({', '.join(list_sources())}) or folder:<path>")
    make.add_argument("--out", required=True, help="episode file to write (.jsonl)")
    make.add_argument("--split", default=None)
    make.add_argument("--root", default=None, help="where the dataset files are (default: the data roots)")
    make.add_argument("--n-way", type=int, default=5)
    make.add_argument("--k-shot", type=int, default=5)
    make.add_argument("--n-query", type=int, default=15)
    make.add_argument("--n-unlabeled", type=int, default=0)
    make.add_argument("--n-episodes", type=int, default=600)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--skip-small-classes", action="store_true")
    make.set_defaults(run=_episodes_make)
    show = episode_commands.add_parser("show", help="summarise an episode file")
    show.add_argument("file")
    show.add_argument("--head", type=int, default=3, help="episodes to list")
    show.set_defaults(run=_episodes_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, KeyError, OSError) as error:
        # A user's mistake: say what was wrong, no traceback.
        print(f"fewshot-tcs: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
