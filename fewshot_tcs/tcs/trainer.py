"""Student training: a bank of pre-rendered views, an objective, and the optimisation loop.

The loop never sees a teacher model. A TCS student learns from cached teacher coordinates; objectives that
need a teacher (classic KD, a baseline) bring it themselves.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .. import distributed
from ..features.views import ViewTransform, centre_square, sample_view_params
from .student import Student

_progress_label = contextvars.ContextVar("progress_label", default="training student")


@contextlib.contextmanager
def progress_label(label: str) -> Iterator[None]:
    """Name the training progress bars inside the block (a caller that trains several students says which)."""
    token = _progress_label.set(label)
    try:
        yield
    finally:
        _progress_label.reset(token)


class ViewBank:
    """Every item's views rendered once at the student's resolution, ``(n, A, 3, S, S)`` uint8.

    View 0 is the clean view (the central ``clean_crop`` of the largest centred square, ``centre_square``);
    views 1..A-1 are the recorded teacher views when given, else seeded random crops. Rendering once keeps
    image decoding out of the training loop.
    """

    def __init__(
        self, images: Sequence[Image.Image], params: np.ndarray, size: int, mean: Sequence[float], std: Sequence[float]
    ):
        self.images = list(images)
        self.params = params
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        render = ViewTransform((size, size), mean=(0, 0, 0), std=(1, 1, 1))
        bank = torch.empty((len(self.images), params.shape[1], 3, size, size), dtype=torch.uint8)
        for i, image in enumerate(self.images):
            for a in range(params.shape[1]):
                bank[i, a] = (render(image, params[i, a]) * 255).round().to(torch.uint8)
        self.bank = bank

    @classmethod
    def build(
        cls,
        images: Sequence[Image.Image],
        ids: Sequence[str],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        views: int = 0,
        view_params: np.ndarray | None = None,
        seed: int = 0,
        clean_crop: float = 1.0,
    ) -> ViewBank:
        """Clean view plus the recorded ``view_params`` (n, V, 5), or ``views`` seeded random views."""
        if view_params is None:
            view_params = sample_view_params(ids, views, seed=seed)
        clean = np.stack([centre_square(*image.size, clean_crop) for image in images])[:, None]
        return cls(images, np.concatenate([clean, view_params], axis=1), size, mean, std)

    @property
    def n_views(self) -> int:
        return self.bank.shape[1]

    encoded: torch.Tensor | None = None

    def pixels(self, items: torch.Tensor, views: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Normalised float images (B, 3, S, S) of the given items and views."""
        x = self.bank[items, views].to(device, non_blocking=True).float().div_(255)
        x = (x - self.mean.to(device)) / self.std.to(device)
        return x.contiguous(memory_format=torch.channels_last)

    def batch(self, items: torch.Tensor, views: torch.Tensor, device: torch.device) -> torch.Tensor:
        """What the student trains on: the images, or their encoding by a frozen network part (``encode``)."""
        if self.encoded is None:
            return self.pixels(items, views, device)
        x = self.encoded[items, views].to(device, non_blocking=True).float()
        return x.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def encode(self, frozen: torch.nn.Module, device: torch.device, batch_size: int = 64) -> None:
        """Run ``frozen`` once over every item and view and keep its output (float16): the part of the student
        that never changes is not recomputed at every step."""
        frozen.to(device).eval()
        n, a = self.bank.shape[:2]
        items = torch.arange(n).repeat_interleave(a)
        views = torch.arange(a).repeat(n)
        chunks = [
            frozen(self.pixels(i, v, device)).to("cpu", torch.float16)
            for i, v in zip(items.split(batch_size), views.split(batch_size), strict=True)
        ]
        out = torch.cat(chunks)
        self.encoded = out.reshape(n, a, *out.shape[1:])


@dataclass
class TrainConfig:
    """Optimisation settings shared by every student objective."""

    steps: int = 120
    batch_size: int = 32
    lr: float = 3e-4
    head_lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 10
    seed: int = 0
    amp: bool = True
    recalibrate_bn: bool = True
    keep_bn_stats: bool = False
    weight_interpolation: float = 1.0

    @property
    def recalibrates_bn(self) -> bool:
        """Whether batch-norm statistics are measured over every view after the steps."""
        return self.recalibrate_bn and not self.keep_bn_stats

    @property
    def leaves_network_unchanged(self) -> bool:
        """No step and no statistics to measure: training returns the network as it started."""
        return not self.steps and not self.recalibrates_bn


@dataclass
class TrainingLog:
    """What happened in training: loss per step, its parts, seconds, and when coordinates were dropped."""

    losses: list[float] = field(default_factory=list)
    parts: list[dict] = field(default_factory=list)
    selection_steps: list[int] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0


Objective = Callable[[Student, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict]]


def _sample_batch(
    labels: torch.Tensor, n_views: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """All labelled items (up to batch_size) plus batch_size unlabelled ones, each with a random view."""
    labelled = torch.nonzero(labels >= 0).flatten()
    unlabelled = torch.nonzero(labels < 0).flatten()
    if len(labelled) > batch_size:
        labelled = labelled[torch.randperm(len(labelled), generator=generator)[:batch_size]]
    parts = [labelled]
    if len(unlabelled):
        parts.append(unlabelled[torch.randint(len(unlabelled), (batch_size,), generator=generator)])
    items = torch.cat(parts)
    return items, torch.randint(n_views, (len(items),), generator=generator)


def _rank_share(items: torch.Tensor, views: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's part of a global batch: every W-th labelled and every W-th unlabelled item.

    With equal shares on every rank, DDP's average of the ranks' gradients is the gradient of the global
    batch; uneven shares (a count not divisible by W) weight the items of the smaller shares slightly more.
    """
    rank, world = distributed.rank(), distributed.world_size()
    labelled = labels[items] >= 0
    keep = torch.cat([torch.nonzero(labelled).flatten()[rank::world], torch.nonzero(~labelled).flatten()[rank::world]])
    return items[keep], views[keep]


class _SynchronisedStudent:
    """The student seen through DistributedDataParallel: ``coords`` runs the wrapped forward, so gradients
    are averaged over ranks; everything else is the student's own."""

    def __init__(self, parallel: torch.nn.parallel.DistributedDataParallel):
        self.parallel = parallel

    def coords(self, images: torch.Tensor) -> torch.Tensor:
        return self.parallel(images, coords_only=True)

    def __getattr__(self, name: str):
        return getattr(self.parallel.module, name)


def _param_groups(student: Student, config: TrainConfig) -> list[dict]:
    head = [*student.projector.parameters(), *student.classifier.parameters()]
    head_ids = {id(p) for p in head}
    body = [p for p in student.parameters() if id(p) not in head_ids and p.requires_grad]
    return [{"params": body, "lr": config.lr}, {"params": head, "lr": config.head_lr}]


def train_student(
    student: Student,
    bank: ViewBank,
    labels: torch.Tensor,
    objective: Objective,
    config: TrainConfig,
    selector=None,
    device: torch.device | None = None,
    quiet: bool | None = None,
) -> TrainingLog:
    """Optimise ``student`` on the bank's items; ``labels`` (n,) with -1 for unlabelled items.

    ``objective(student, images, items, views, mask) -> (loss, parts)``; ``mask`` is a leaf copy of the
    student's coordinate mask whose gradient feeds ``selector`` (iterative tailoring) when one is given.

    Under torchrun the student trains with DistributedDataParallel: every rank draws the same global batch
    and trains on its share (see ``_rank_share``); gradients, the mask's importance and the logged loss are
    averaged over ranks, so all ranks hold the same student at every step.
    """
    device = device or torch.device("cpu")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    student.to(device, memory_format=torch.channels_last).train()
    if config.keep_bn_stats:
        keep_batch_norm_statistics(student)
    initial = _trainable_copy(student) if config.weight_interpolation < 1 else None
    parallel = distributed.init()
    trained = student
    if parallel:
        ddp = torch.nn.parallel.DistributedDataParallel(student, device_ids=[device] if device.type == "cuda" else None)
        trained = _SynchronisedStudent(ddp)
    # The fused kernel: the per-parameter loop of the default took 10 % of a CPU photo step (fit_speed.py).
    optimizer = torch.optim.AdamW(_param_groups(student, config), weight_decay=config.weight_decay, fused=True)
    warmup = max(1, config.warmup_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            min((s + 1) / warmup, 1.0) * 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / max(1, config.steps)))
        ),
    )
    autocast = device.type == "cuda" and config.amp
    log = TrainingLog()
    start = time.perf_counter()
    quiet = True if not distributed.is_main() else quiet
    for step in tqdm(range(config.steps), desc=_progress_label.get(), disable=quiet, leave=False):
        items, views = _sample_batch(labels, bank.n_views, config.batch_size, generator)
        if parallel:
            items, views = _rank_share(items, views, labels)
        images = bank.batch(items, views, device)
        mask = student.mask.detach().clone().requires_grad_(selector is not None)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss, parts = objective(trained, images, items.to(device), views.to(device), mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if selector is not None and mask.grad is not None:
            selector.accumulate(distributed.all_reduce_mean(mask.grad.detach()) if parallel else mask.grad.detach())
            if selector.step(step + 1):
                student.mask.copy_(selector.mask.to(student.mask))
                log.selection_steps.append(step + 1)
        value = float(distributed.all_reduce_mean(loss.detach().clone()) if parallel else loss.detach())
        if not math.isfinite(value):
            terms = ", ".join(f"{k} {float(v):.3g}" for k, v in parts.items())
            raise ValueError(
                f"the training loss became {value} at step {step + 1} ({terms}): the learning rate "
                f"({config.lr:g}, head {config.head_lr:g}) is too high for this student, or an input (images, "
                "teacher features) holds NaN or inf"
            )
        log.losses.append(value)
        log.parts.append({k: float(v) for k, v in parts.items()})
    if initial is not None:
        interpolate_weights(student, initial, config.weight_interpolation)
    if config.recalibrates_bn:
        recalibrate_batch_norm(student.body, bank, device)
    log.steps = len(log.losses)
    log.seconds = time.perf_counter() - start
    student.eval()
    return log


def keep_batch_norm_statistics(student: Student) -> None:
    """Batch norms normalise with their pretrained running statistics in training too (eval mode), which no step
    updates; their scales and shifts still train."""
    for module in student.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


def _trainable_copy(student: Student) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in student.named_parameters() if p.requires_grad}


@torch.no_grad()
def interpolate_weights(student: Student, initial: dict[str, torch.Tensor], alpha: float) -> None:
    """Move each trained parameter to ``initial + alpha * (trained - initial)`` (WiSE-FT, Wortsman et al. 2022):
    part of the way back to where training started, which keeps more of what the pretrained student knew."""
    for name, param in student.named_parameters():
        if name in initial:
            param.lerp_(initial[name].to(param.device), 1 - alpha)


@torch.no_grad()
def recalibrate_batch_norm(body: torch.nn.Module, bank: ViewBank, device: torch.device, batch_size: int = 128) -> None:
    """Batch-norm statistics of the trained part of the student (``Student.body``) over every item and view.

    Training normalises with each batch's statistics while the running averages trail the last steps of a
    moving network; measured once on the final weights, inference sees the features training saw.
    """
    items = torch.arange(len(bank.bank)).repeat_interleave(bank.n_views)
    views = torch.arange(bank.n_views).repeat(len(bank.bank))
    batches = (bank.batch(i, v, device) for i, v in zip(items.split(batch_size), views.split(batch_size), strict=True))
    torch.optim.swa_utils.update_bn(batches, body)


@torch.no_grad()
def student_features(
    student: Student,
    bank: ViewBank,
    items: torch.Tensor,
    device: torch.device,
    batch_size: int = 128,
) -> torch.Tensor:
    """The student backbone's pooled features of the clean views of ``items``, (len(items), d_s)."""
    student.to(device).eval()
    chunks = items.split(batch_size)
    return torch.cat([student.body(bank.batch(chunk, torch.zeros_like(chunk), device)).float() for chunk in chunks])
