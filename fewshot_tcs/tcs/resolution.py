"""The student's input when the user does not choose it: its resolution and the crop of its clean view, from
the images and the student's pretrained configuration.

The rules (each logged at INFO with its reason):

- **Resolution.** Single-channel images (characters, sketches, Fashion-MNIST): 64 px. Their strokes survive
  at 64 px, and on Omniglot a 64 px student matched the teacher's probe (docs/performance.md). Colour images
  (photographs): 160 px when the median short side is at least 160 px, else 128 px (small photos such as
  CIFAR's 32 px are upsampled: an ImageNet-pretrained student recognises objects at the scale it was trained
  on), never above the student's pretrained input size. 160 rather than the pretrained 224 keeps the
  deployed student at least 5x the teacher's speed on a CPU (benchmarks/inference_speed.py) and its training
  affordable; docs/performance.md has the measurements.
- **Clean crop.** The student's clean view is the central fraction ``crop`` of the image's largest centred
  square. A photograph shown below the student's pretrained size looks zoomed out to it: objects cover fewer
  pixels than in its pretraining (the train-test resolution discrepancy, Touvron et al. 2019, "FixRes").
  So photographs take ``crop = crop_pct * size / native`` (0.875 x 160 / 224 = 0.625 for MobileNetV2 at
  160 px, ImageNet's own 0.875 at 224), which keeps objects at their pretrained apparent size; but only
  when that crop still holds ``size`` pixels of the median image (the crop is never upsampled), so small
  photos (CIFAR's 32 px), single-channel images and students trained from scratch take the whole square.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

GRAYSCALE_SIZE = 64
SMALL_PHOTO_SIZE, PHOTO_SIZE = 128, 160
GRAYSCALE_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def _check_images(images: Sequence[Image.Image]) -> None:
    if not images:
        raise ValueError("no images to choose the student's input from")


def is_single_channel(images: Sequence[Image.Image]) -> bool:
    """Whether every image has one channel (characters, sketches, Fashion-MNIST), not a photograph."""
    return all(image.mode in GRAYSCALE_MODES for image in images)


def _median_short_side(images: Sequence[Image.Image]) -> float:
    return float(np.median([min(image.size) for image in images]))


def choose_image_size(images: Sequence[Image.Image], native: int) -> int:
    """The student's square input size for these images (see the module's rule); ``native`` is the size of
    the student's pretrained configuration."""
    _check_images(images)
    if is_single_channel(images):
        size, why = GRAYSCALE_SIZE, "single-channel images"
    else:
        short = _median_short_side(images)
        size = PHOTO_SIZE if short >= PHOTO_SIZE else SMALL_PHOTO_SIZE
        why = f"colour images, median short side {short:.0f} px"
    size = min(size, int(native))
    log.info(
        "student input %d px (%s; student's pretrained size %d px); pass image_size= to override", size, why, native
    )
    return size


def choose_clean_crop(
    images: Sequence[Image.Image], size: int, native: int, crop_pct: float, pretrained: bool = True
) -> float:
    """The fraction of the largest centred square the student's clean view takes (see the module's rule);
    ``native`` and ``crop_pct`` are the student's pretrained input size and evaluation crop, and a student
    that is not ``pretrained`` has no object scale to keep (whole square)."""
    _check_images(images)
    crop = min(1.0, float(crop_pct) * size / int(native))
    if not pretrained:
        crop, why = 1.0, "a student from scratch has no pretrained object scale to keep"
    elif is_single_channel(images):
        crop, why = 1.0, "single-channel images are taken whole"
    elif (short := _median_short_side(images)) * crop < size:
        crop, why = 1.0, f"median short side {short:.0f} px: a crop would be upsampled"
    else:
        why = f"photographs at {size} px keep the apparent object size of the pretrained {native} px, crop {crop_pct:g}"
    log.info("student clean view: central %.3f of the centred square (%s); pass clean_crop= to override", crop, why)
    return crop


def choose_view(
    images: Sequence[Image.Image],
    native: int,
    crop_pct: float,
    image_size: int | str = "auto",
    clean_crop: float | str = "auto",
    pretrained: bool = True,
) -> tuple[int, float]:
    """The student's input size and clean crop for these images: each given one as it is, each "auto" by its
    rule (``choose_image_size``, ``choose_clean_crop``)."""
    size = choose_image_size(images, native) if image_size == "auto" else int(image_size)
    crop = choose_clean_crop(images, size, native, crop_pct, pretrained) if clean_crop == "auto" else float(clean_crop)
    return size, crop
