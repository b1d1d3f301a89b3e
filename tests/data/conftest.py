"""Fixtures for the named benchmark sources: a machine without network."""

from __future__ import annotations

import pytest


class Offline(ConnectionError):
    """What every download raises in these tests."""


@pytest.fixture
def offline(monkeypatch):
    """Make torchvision's and Hugging Face's download functions fail like an offline machine; returns the calls."""
    import datasets
    import torchvision.datasets.cifar
    import torchvision.datasets.utils

    calls = []

    def unreachable(*args, **kwargs):
        calls.append((args, kwargs))
        raise Offline("network is unreachable")

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", unreachable)
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", unreachable)
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", unreachable)
    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    return calls
