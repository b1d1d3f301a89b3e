"""mkdocs hook: replace ``<!-- cli-help -->`` with the ``--help`` text of every fewshot-tcs command.

The CLI reference is generated from the argparse parser at build time, so it cannot drift from the code.
"""

from __future__ import annotations

import argparse

MARKER = "<!-- cli-help -->"


def _sections(parser: argparse.ArgumentParser, command: str) -> list[str]:
    text = parser.format_help().replace(parser.prog, command, 1)
    sections = [f"## `{command}`\n\n```text\n{text.rstrip()}\n```\n"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sections += _sections(sub, f"{command} {name}")
    return sections


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    from fewshot_tcs.apps.cli import build_parser

    return markdown.replace(MARKER, "\n".join(_sections(build_parser(), "fewshot-tcs")))
