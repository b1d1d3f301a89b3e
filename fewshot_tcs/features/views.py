"""Seeded, recorded augmented views: the teacher's cached target and the student's input are the same crop.

A view is five numbers per image, ``(top, left, height, width, flip)``, the crop box as fractions of the
image size, so a view can be re-created exactly at any resolution and for any model's normalisation.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from ..data import ToRGB

VIEW_FIELDS = ("top", "left", "height", "width", "flip")


def stable_seed(text: str) -> int:
    """A 64-bit integer from a string, equal in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def sample_view_params(
    ids: Sequence[str],
    views: int,
    seed: int = 0,
    scale: tuple[float, float] = (0.35, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> np.ndarray:
    """Random-resized-crop and flip parameters ``(len(ids), views, 5)`` float32, one generator per item id.

    Depending on the id (not the position) means an item gets the same views in any subset of the data.
    """
    params = np.empty((len(ids), views, len(VIEW_FIELDS)), dtype=np.float32)
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for i, item_id in enumerate(ids):
        rng = np.random.default_rng([seed, stable_seed(item_id)])
        area = rng.uniform(*scale, size=views)
        aspect = np.exp(rng.uniform(*log_ratio, size=views))
        width = np.minimum(np.sqrt(area * aspect), 1.0)
        height = np.minimum(np.sqrt(area / aspect), 1.0)
        top = rng.uniform(size=views) * (1 - height)
        left = rng.uniform(size=views) * (1 - width)
        flip = rng.uniform(size=views) < 0.5
        params[i] = np.stack([top, left, height, width, flip], axis=1)
    return params


def centre_square(width: int, height: int, fraction: float = 1.0) -> np.ndarray:
    """The clean view of a ``width`` x ``height`` image: the central ``fraction`` of its largest centred square
    (all of it by default, the whole image when it is square), so a photo is not squashed to the student's
    square input. As view parameters ``(5,)``."""
    side = min(width, height) * fraction
    return np.array(
        [(height - side) / 2 / height, (width - side) / 2 / width, side / height, side / width, 0.0], dtype=np.float32
    )


def clean_views(
    images: Sequence[Image.Image], size: int, crop: float, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """The clean views ``(n, 3, size, size)`` of ``images`` (``centre_square`` at ``crop``), normalised."""
    transform = ViewTransform((size, size), mean, std)
    return torch.stack([transform(image, centre_square(*image.size, crop)) for image in images])


class ViewTransform:
    """Image + view parameters -> normalised tensor ``(3, H, W)``, for any model's preprocessing."""

    def __init__(
        self, size: tuple[int, int], mean: Sequence[float], std: Sequence[float], interpolation: str = "bilinear"
    ):
        self.size = tuple(size)
        self.mean, self.std = list(mean), list(std)
        self.interpolation = InterpolationMode(interpolation)
        self.to_rgb = ToRGB()

    def __call__(self, image: Image.Image, params: np.ndarray) -> torch.Tensor:
        image = self.to_rgb(image)
        width, height = image.size
        top, left, h, w, flip = (float(v) for v in params)
        crop = F.resized_crop(
            image,
            round(top * height),
            round(left * width),
            max(1, round(h * height)),
            max(1, round(w * width)),
            list(self.size),
            self.interpolation,
            antialias=True,
        )
        if flip >= 0.5:
            crop = F.hflip(crop)
        return F.normalize(F.to_tensor(crop), self.mean, self.std)

    def __repr__(self) -> str:
        return (
            f"ViewTransform(size={self.size}, mean={self.mean}, std={self.std}, "
            f"interpolation={self.interpolation.value})"
        )
