"""Runs under ``torchrun``: the process group from the environment, and the few collectives the library uses.

Nothing here is needed in a single process: every helper answers as rank 0 of 1. Under ``torchrun`` (or
SLURM's ``srun`` with the same variables set) the first library call that shards work joins the process
group, with the ``gloo`` backend on CPU and ``nccl`` on GPU, each rank on the GPU of its ``LOCAL_RANK``.
"""

from __future__ import annotations

import atexit
import datetime
import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")

TIMEOUT_ENV = "FEWSHOT_TCS_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800


class DistributedError(RuntimeError):
    """A collective failed: another rank died or stopped answering."""


def timeout_seconds() -> float:
    """How long a rank waits for the others in one collective (``$FEWSHOT_TCS_DIST_TIMEOUT``, default 30 min)."""
    return float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))


def launched() -> bool:
    """Whether this process was started as one of several ranks (``WORLD_SIZE`` > 1 in the environment)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init() -> bool:
    """Join the process group described by the environment, once; True when running distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if not launched():
        return False
    if not dist.is_available():
        raise DistributedError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=timeout_seconds()))
    # Leave the group before the interpreter exits: gloo torn down during shutdown can abort the process.
    atexit.register(_leave)
    return dist.get_world_size() > 1


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if init() else 0


def world_size() -> int:
    return dist.get_world_size() if init() else 1


def is_main() -> bool:
    """Rank 0, the one that writes shared files and prints; True in a single process."""
    return rank() == 0


def default_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a torch device; None: CUDA where there is a GPU (under torchrun each rank's own, which
    ``init`` makes current), else the CPU. Every part of the library picks its default here."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _collective(what: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Turn the backend's error for a dead or silent peer into one that says what happened."""

    def wrap(function: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> T:
            try:
                return function(*args, **kwargs)
            except (RuntimeError, dist.DistBackendError) as error:
                raise DistributedError(
                    f"rank {dist.get_rank()} of {dist.get_world_size()} lost the other ranks during {what}: a rank "
                    f"died or did not answer within {timeout_seconds():.0f} s (${TIMEOUT_ENV}). The first error "
                    f"is in the log of the rank that failed. Backend said: {error}"
                ) from error

        return run

    return wrap


@_collective("a barrier")
def barrier() -> None:
    if init():
        dist.barrier()


@_collective("gathering results")
def all_gather(value: T) -> list[T]:
    """Every rank's ``value`` (picklable), in rank order, on every rank."""
    if not init():
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


@_collective("sharing rank 0's state")
def broadcast(value: T) -> T:
    """Rank 0's ``value`` on every rank."""
    if not init():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@_collective("averaging a tensor")
def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over ranks, in place."""
    if init():
        dist.all_reduce(tensor)
        tensor /= dist.get_world_size()
    return tensor
