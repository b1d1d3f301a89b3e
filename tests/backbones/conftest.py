"""Real photos for the backbone tests (every test runs offline: see tests/conftest.py)."""

from __future__ import annotations

import pytest
from PIL import Image


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    """Real photos that ship with dependencies: a Chinese palace, a dahlia, Grace Hopper in uniform."""
    datasets = pytest.importorskip("sklearn.datasets")
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        grace_hopper = Image.open(handle).convert("RGB")
    return {
        "china.jpg": Image.fromarray(datasets.load_sample_image("china.jpg")),
        "flower.jpg": Image.fromarray(datasets.load_sample_image("flower.jpg")),
        "grace_hopper.jpg": grace_hopper,
    }
