"""``python -m fewshot_tcs``: the ``fewshot-tcs`` command."""

import sys

from .apps.cli import main

sys.exit(main())
