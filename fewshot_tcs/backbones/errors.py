"""The error raised when pretrained weights cannot be had, worded so the user knows what to do next."""

from __future__ import annotations

from collections.abc import Sequence


class WeightsNotFoundError(RuntimeError):
    """Pretrained weights for a backbone are not on this machine and could not be fetched."""


def weights_not_found(backbone: str, tried: Sequence[str], fixes: Sequence[str]) -> WeightsNotFoundError:
    """A :class:`WeightsNotFoundError` naming the backbone, every place tried and why it failed, and the fixes."""
    fixes = [*fixes, "pretrained=False for randomly initialised weights of the same architecture"]
    lines = [f"no pretrained weights for backbone {backbone!r}.", "Tried:"]
    lines += [f"  - {item}" for item in tried]
    lines += ["Fix (any one):"]
    lines += [f"  - {item}" for item in fixes]
    return WeightsNotFoundError("\n".join(lines))


def reason(error: BaseException) -> str:
    """``ErrorType: first line of the message``, to quote a low-level failure inside a user-facing message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
