"""One registry shape for backbones, methods and data sources: names to entries, with ``register_*``,
``list_*`` and one factory each built on it, and one "did you mean" for every unknown name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def did_you_mean(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> str:
    """`` Did you mean ['x']?`` for the known names close to ``name``, or an empty string."""
    close = difflib.get_close_matches(str(name), list(known), n=n, cutoff=cutoff)
    return f" Did you mean {close}?" if close else ""


class Registry(Generic[T]):
    """Entries by name (a method's class, a data source's loader, a backbone's spec).

    ``kind`` names the entries in messages; ``hint`` ends the unknown-name message (where else to look).
    """

    def __init__(self, kind: str, hint: str = ""):
        self.kind, self.hint = kind, hint
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            raise ValueError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, self._entries)} Known: {self.names()}{self.hint}"
            )
        return self._entries[name]
