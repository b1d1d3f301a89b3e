"""How much of the student trains, how fast, with which batch-norm statistics and how much of training's change
it keeps, when the user does not choose: from the images and whether the student starts from pretrained weights.

The rules (each logged at INFO with its reason):

- **Photographs** (colour images) with a pretrained student: the last 3 stages train at ``lr=3e-4``, a
  fine-tuning rate. Few photographs cannot retrain an ImageNet network without erasing what it knows: on
  CIFAR-10 5-shot episodes a 10x higher rate cost 14 points. With the pretrained statistics kept and half of
  training's change (below), 3 stages against 2, ahead in the mean everywhere: CIFAR-10 all-way 16-shot +1.9
  points (3 seeds), 5-way 5-shot +0.7 (60 episodes), two-class 5-shot +1.3 and 16-shot +0.3 (30 episodes each),
  ants and bees +0.3 (7 seeds); under the first settings (statistics measured, all of the change kept) 3 stages
  had cost 2.3 at 5-way 5-shot. The paper's objective (``objective="tcs"``, whose mimic weighs 10, with its
  statistics measured) keeps 2: with 3 it lost 3.6 points at all-way 16-shot, every seed (docs/performance.md).
- **Batch-norm statistics** of a pretrained student on photographs stay the pretrained ones
  (``bn_stats="pretrained"``): its batch norms normalise with them in training and after, and only their scales
  and shifts train. Statistics measured on a few photographs of a few classes (each batch's in training, then
  over every view) move the features away from what the pretrained layers expect: on two-class CIFAR-10 episodes
  of 5 labelled images a class keeping them gained 4.2 points, on ants and bees cut to 16 photos a class 4.1;
  with 245 photos nothing, and at CIFAR-10 all-way 16-shot they cost 1.1 (docs/performance.md). Single-channel
  images, students from scratch and the paper's objective (``objective="tcs"``, whose mimic weighs 10: with the
  statistics kept it fell to 36.6 % at CIFAR-10 all-way 16-shot, seed 0, against 60.3 % measuring them) measure
  theirs (``"measured"``).
- **Weight interpolation** of a pretrained student on photographs: after training its weights move halfway back
  to where they started (``weight_interpolation=0.5``, WiSE-FT: Wortsman et al., 2022), keeping half of what a
  few photographs taught it and more of what its pretraining knew. On ants and bees it gained 2.0 points at 16
  photos a class (5 seeds) and 0.7 with all 245; on CIFAR-10 all-way 16-shot 0.7 (3 seeds); on the 5-way
  5-shot episodes it cost 0.3 (docs/performance.md). Single-channel images (the student must move far from its
  pretraining), students from scratch (nothing to return to) and students trained by cross-entropy alone
  (``objective="ce"``, which KD trains too: their head starts random, so the way back leads to no classifier;
  KD at 5-way 5-shot lost 3.9 points with it) keep all of training's change.
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

PHOTO_TRAIN_STAGES, PHOTO_TRAIN_STAGES_PAPER_OBJECTIVE = 3, 2
PHOTO_LR, SINGLE_CHANNEL_LR = 3e-4, 3e-3
SCRATCH_LR, SCRATCH_LR_PAPER_OBJECTIVE = 3e-2, 1e-2
PHOTO_WEIGHT_INTERPOLATION = 0.5


def choose_train_stages(images: Sequence[Image.Image], pretrained: bool, objective: str) -> int | None:
    """The student's last stages that train (None: the whole network) for these images, a pretrained student or
    not, and the training objective (see the module)."""
    if not pretrained:
        stages, why = None, "a student from scratch has nothing pretrained to keep"
    elif is_single_channel(images):
        stages, why = None, "single-channel images are far from the student's pretraining"
    elif objective == "tcs":
        stages, why = PHOTO_TRAIN_STAGES_PAPER_OBJECTIVE, "the paper's objective lost with 3 at all-way 16-shot"
    else:
        stages, why = PHOTO_TRAIN_STAGES, "a pretrained student on photographs keeps its early stages"
    log.info(
        "student trains %s (%s); pass train_stages= to override",
        "the whole network" if stages is None else f"its last {stages} stages",
        why,
    )
    return stages


def choose_bn_stats(images: Sequence[Image.Image], pretrained: bool, objective: str) -> str:
    """Whose batch-norm statistics the student normalises with: "pretrained" (kept from its pretraining) or
    "measured" (on these images), for these images, a pretrained student or not, and the training objective (see
    the module)."""
    if not pretrained:
        stats, why = "measured", "a student from scratch has no statistics to keep"
    elif objective == "tcs":
        stats, why = "measured", "the paper's objective collapses with the pretrained statistics kept"
    elif is_single_channel(images):
        stats, why = "measured", "single-channel images are far from the student's pretraining"
    else:
        stats, why = "pretrained", "a few photographs measure them worse than the pretraining did"
    log.info("student batch-norm statistics: %s (%s); pass bn_stats= to override", stats, why)
    return stats


def choose_weight_interpolation(images: Sequence[Image.Image], pretrained: bool, objective: str) -> float:
    """The share of training's change to its weights the student keeps, for these images, a pretrained student or
    not, and the training objective (see the module)."""
    if not pretrained:
        alpha, why = 1.0, "a student from scratch has no pretrained weights to return to"
    elif objective == "ce":
        alpha, why = 1.0, "a student trained by cross-entropy alone starts from a random head, not a classifier"
    elif is_single_channel(images):
        alpha, why = 1.0, "single-channel images are far from the student's pretraining"
    else:
        alpha, why = PHOTO_WEIGHT_INTERPOLATION, "a pretrained student on photographs keeps part of what it knew"
    log.info(
        "student keeps %g of training's change to its weights (%s); pass weight_interpolation= to override", alpha, why
    )
    return alpha


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
