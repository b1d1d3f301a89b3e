"""Few-shot methods behind one interface: ``fit(support)`` then ``predict(query)``."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from .base import FeatureMethod, FewShotMethod, ItemSet
from .logistic import LogisticCV, LogisticProbe
from .protonet import ProtoNet
from .student_probe import StudentProbe
from .tcs_methods import StudentCE, StudentKD, StudentTCS, StudentTCSKD, TCSProbe

METHODS: dict[str, Callable[..., FewShotMethod]] = {
    ProtoNet.name: ProtoNet,
    LogisticProbe.name: LogisticProbe,
    LogisticCV.name: LogisticCV,
    StudentProbe.name: StudentProbe,
    TCSProbe.name: TCSProbe,
    StudentTCS.name: StudentTCS,
    StudentTCSKD.name: StudentTCSKD,
    StudentCE.name: StudentCE,
    StudentKD.name: StudentKD,
}


def list_methods() -> list[str]:
    return sorted(METHODS)


def create_method(name: str, **params: Any) -> FewShotMethod:
    """A method by name (see :func:`list_methods`) with its hyperparameters."""
    if name not in METHODS:
        close = difflib.get_close_matches(name, METHODS, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"unknown method {name!r}.{hint} Known: {list_methods()}")
    return METHODS[name](**params)


__all__ = [
    "FeatureMethod",
    "FewShotMethod",
    "ItemSet",
    "LogisticCV",
    "LogisticProbe",
    "ProtoNet",
    "StudentCE",
    "StudentKD",
    "StudentProbe",
    "StudentTCS",
    "StudentTCSKD",
    "TCSProbe",
    "create_method",
    "list_methods",
]
