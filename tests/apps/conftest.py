"""Fixtures shared by the CLI and folder-fit tests."""

import numpy as np
import pytest


@pytest.fixture
def character_folder(omniglot_small, tmp_path):
    """3 Omniglot characters x 6 drawings as root/<character>/<n>.png, the layout a customer brings."""
    root = tmp_path / "photos"
    for c in range(3):
        items = np.flatnonzero(omniglot_small.labels == c)[:6]
        (root / f"char{c}").mkdir(parents=True)
        for k, i in enumerate(items):
            omniglot_small.load(int(i)).save(root / f"char{c}" / f"{k}.png")
    return root
