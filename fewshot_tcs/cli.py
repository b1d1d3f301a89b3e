"""Moved to :mod:`fewshot_tcs.apps.cli`; ``python -m fewshot_tcs.cli`` keeps working (``python -m fewshot_tcs``
is the new spelling)."""

import sys

from .apps.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
