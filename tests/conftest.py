"""Shared fixtures: tiny real image trees, the bundled Omniglot zips, and the ``slow`` marker."""

from __future__ import annotations

import socket
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
from PIL import Image

OMNIGLOT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Keep caches and downloads of every test out of the user's home."""
    monkeypatch.setenv("FEWSHOT_TCS_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Tests run offline: the HF hub is in offline mode, sockets refuse to connect, torch.hub's cache is empty."""

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in the tests")

    connect = socket.socket.connect

    def local_only(sock, address):
        # Unix sockets stay: DataLoader workers share tensors through them.
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse()
        return connect(sock, address)

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # fail at once, no retries
    monkeypatch.setattr(socket.socket, "connect", local_only)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """``root/<class>/<n>.png``: 4 classes x 6 images of mixed modes (RGB, L, RGBA), each class its own hue."""
    root = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for c, name in enumerate(["ant", "bee", "cat", "dog"]):
        (root / name).mkdir(parents=True)
        for k in range(6):
            pixels = (rng.random((12, 10, 3)) * 60 + 60 * c).astype(np.uint8)
            image = Image.fromarray(pixels)
            image = image.convert(["RGB", "L", "RGBA"][k % 3])
            image.save(root / name / f"{k}.png")
    return root


@pytest.fixture
def omniglot_dir() -> Path:
    """../shared/data/omniglot beside the checkout; tests that need it skip without it."""
    if not (OMNIGLOT_DIR / "images_background_small1.zip").exists():
        pytest.skip(f"Omniglot zips not found in {OMNIGLOT_DIR}")
    return OMNIGLOT_DIR


@pytest.fixture
def omniglot_small(omniglot_dir):
    from fewshot_tcs.data import omniglot

    return omniglot("small", root=omniglot_dir)


@pytest.fixture
def tiny_fit() -> dict:
    """TCSClassifier settings for a fit of seconds: small random teacher and student, two steps."""
    return dict(
        backbone="timm:resnet10t",
        teacher_pretrained=False,
        student="timm:lcnet_050",
        student_pretrained=False,
        image_size=24,
        steps=2,
        batch_size=4,
        n_components=4,
        keep=2,
        select_every=1,
        teacher_views=0,
        student_views=1,
    )


@pytest.fixture
def colour_photos():
    """3 classes x 4 colour 'photos' of 512 x 384 px, each class its own colour, with the pretrained student
    (``mobilenetv2_100``, pip-shipped weights) at hand; skips without its weights."""
    from fewshot_tcs.backbones import WeightsNotFoundError, create_backbone
    from fewshot_tcs.data import ArraySource

    try:
        create_backbone("mobilenetv2_100", pretrained=True)
    except WeightsNotFoundError as error:
        pytest.skip(f"no offline mobilenetv2_100 weights: {error}")
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 4)
    palette = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]])
    noise = rng.integers(-30, 30, (12, 384, 512, 3))
    images = np.clip(palette[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    return ArraySource(images, labels, name="photos")
