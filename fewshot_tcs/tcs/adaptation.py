"""How much of the student trains, and how fast, when the user does not choose: from the images and whether
the student starts from pretrained weights.

The rules (each logged at INFO with its reason):

- **Photographs** (colour images) with a pretrained student: the last 2 stages train at ``lr=3e-4``, a
  fine-tuning rate. Few photographs cannot retrain an ImageNet network without erasing what it knows: on
  CIFAR-10 5-shot episodes training 3 stages cost 2.3 points and a 10x higher rate 14 (docs/performance.md).
- **Single-channel images** (characters, sketches): the whole network trains at ``lr=3e-3``. Such images
  are far from the student's ImageNet pretraining, and what it must learn is in the early stages too: on the
  100 semi-supervised Omniglot episodes of the main row tcs-kd (at its mimic weight of 1 then) went from
  94.4 % (2 stages, 3e-4) to 96.8 % (whole network, 3e-3); with the mimic at 0.1 it reaches 98.1 %
  (docs/performance.md).
- **From scratch**: the whole network trains (nothing pretrained to keep) at ``lr=3e-2``, whatever the
  images: a fine-tuning rate leaves it near chance in 120 steps. On the from-scratch Omniglot benchmark
  (``timm:lcnet_050``, 30 episodes) 3e-2 was the best rate for CE, KD and tcs-kd; the paper's objective,
  whose mimic weighs 10, was best at ``1e-2`` and collapses above, so it gets that (docs/performance.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PIL import Image

from .resolution import is_single_channel

log = logging.getLogger(__name__)

PHOTO_TRAIN_STAGES = 2
PHOTO_LR, SINGLE_CHANNEL_LR = 3e-4, 3e-3
SCRATCH_LR, SCRATCH_LR_PAPER_OBJECTIVE = 3e-2, 1e-2


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


def choose_lr(images: Sequence[Image.Image], pretrained: bool, objective: str) -> float:
    """The student backbone's learning rate for these images, a pretrained student or not, and the training
    objective (see the module)."""
    if not pretrained:
        paper = objective == "tcs"
        lr = SCRATCH_LR_PAPER_OBJECTIVE if paper else SCRATCH_LR
        why = "a student from scratch" + (" under the paper's objective, whose mimic is heavy" if paper else "")
    elif is_single_channel(images):
        lr, why = SINGLE_CHANNEL_LR, "single-channel images: the student adapts far from its pretraining"
    else:
        lr, why = PHOTO_LR, "a fine-tuning rate"
    log.info("student learning rate %g (%s); pass lr= to override", lr, why)
    return lr
