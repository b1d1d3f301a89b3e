"""Backbone tests run offline: the HF hub is in offline mode, sockets refuse to connect, torch.hub's cache
lives in a temporary folder."""

from __future__ import annotations

import socket

import huggingface_hub.constants
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in the tests")

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # fail at once, no retries
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


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
