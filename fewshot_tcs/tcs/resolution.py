"""The student's input resolution when the user does not choose one: from the images and the student.

The rule (logged at INFO with its reason):

- **Single-channel images** (characters, sketches, Fashion-MNIST): 64 px. Their strokes survive at 64 px,
  and on Omniglot a 64 px student matched the teacher's probe (docs/performance.md).
- **Colour images** (photographs): 160 px when the median short side is at least 160 px, else 128 px
  (small photos such as CIFAR's 32 px are upsampled: an ImageNet-pretrained student recognises objects at
  the scale it was trained on), never above the student's pretrained input size. 160 rather than the
  pretrained 224 keeps the deployed student at least 5x the teacher's speed on a CPU
  (benchmarks/inference_speed.py) and its training affordable; docs/performance.md has the measurements.
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


def choose_image_size(images: Sequence[Image.Image], native: int) -> int:
    """The student's square input size for these images (see the module's rule); ``native`` is the size of
    the student's pretrained configuration."""
    if not images:
        raise ValueError("no images to choose an input resolution from")
    if all(image.mode in GRAYSCALE_MODES for image in images):
        size, why = GRAYSCALE_SIZE, "single-channel images"
    else:
        short = float(np.median([min(image.size) for image in images]))
        size = PHOTO_SIZE if short >= PHOTO_SIZE else SMALL_PHOTO_SIZE
        why = f"colour images, median short side {short:.0f} px"
    size = min(size, int(native))
    log.info(
        "student input %d px (%s; student's pretrained size %d px); pass image_size= to override", size, why, native
    )
    return size
