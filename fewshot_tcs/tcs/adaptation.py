"""How much of the student trains, and how fast, when the user does not choose: from the images and whether
the student starts from pretrained weights.

The rules (each logged at INFO with its reason):

- **Photographs** (colour images) with a pretrained student: the last 2 stages train at ``lr=3e-4``, a
  fine-tuning rate. Few photographs cannot retrain an ImageNet network without erasing what it knows: on
  CIFAR-10 5-shot episodes training 3 stages cost 2.3 points and a 10x higher rate 14 (docs/performance.md).
- **Single-channel images** (characters, sketches): the whole network trains at ``lr=3e-3``. Such images
  are far from the student's ImageNet pretraining, and what it must learn is in the early stages too: on the
  first 20 Omniglot episodes tcs-kd went from 95.8 % (2 stages, 3e-4) to 96.8 % (4 stages, 3e-3) and
  97.4 % (whole network, 3e-3), level with the tuned KD student (docs/performance.md).
- **From scratch**: the whole network trains (nothing pretrained to keep), at the rate its images choose
  (a from-scratch student wants a far larger one still: docs/method.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PIL import Image

from .resolution import is_single_channel

log = logging.getLogger(__name__)

PHOTO_TRAIN_STAGES = 2
PHOTO_LR, SINGLE_CHANNEL_LR = 3e-4, 3e-3


def choose_train_stages(images: Sequence[Image.Image], pretrained: bool) -> int | None:
    """The student's last stages that train (None: the whole network) for these images (see the module)."""
    if not pretrained:
        stages, why = None, "a student from scratch has nothing pretrained to keep"
    elif is_single_channel(images):
        stages, why = None, "single-channel images are far from the student's pretraining"
    else:
        stages, why = PHOTO_TRAIN_STAGES, "a pretrained student on photographs keeps its early stages"
    log.info(
        "student trains %s (%s); pass train_stages= to override",
        "the whole network" if stages is None else f"its last {stages} stages",
        why,
    )
    return stages


def choose_lr(images: Sequence[Image.Image]) -> float:
    """The student backbone's learning rate for these images (see the module)."""
    if is_single_channel(images):
        lr, why = SINGLE_CHANNEL_LR, "single-channel images: the student adapts far from its pretraining"
    else:
        lr, why = PHOTO_LR, "a fine-tuning rate"
    log.info("student learning rate %g (%s); pass lr= to override", lr, why)
    return lr
