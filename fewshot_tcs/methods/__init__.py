"""Few-shot methods behind one interface: ``fit(support)`` then ``predict(query)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Registry
from .base import FeatureMethod, FewShotMethod, ItemSet
from .kd import StudentKD
from .logistic import LogisticCV, LogisticProbe
from .protonet import ProtoNet
from .student_probe import StudentProbe, StudentViewProbe
from .students import StudentCE, StudentMethod, StudentTCS, StudentTCSKD
from .tcs_probe import TCSProbe

METHODS: Registry[Callable[..., FewShotMethod]] = Registry("method")


def register_method(method: type[FewShotMethod]) -> type[FewShotMethod]:
    """Add a method class under its ``name`` (usable as a decorator). What it needs from the evaluator
    (``needs``: features, images or both) is declared on the class; a method that trains on images is
    given the teacher's name and the student settings by ``benchmark``."""
    METHODS.add(method.name, method)
    return method


def list_methods() -> list[str]:
    return METHODS.names()


def create_method(name: str, **params: Any) -> FewShotMethod:
    """A method by name (see :func:`list_methods`) with its hyperparameters."""
    return METHODS[name](**params)


for _method in (
    ProtoNet,
    LogisticProbe,
    LogisticCV,
    StudentProbe,
    StudentViewProbe,
    TCSProbe,
    StudentTCS,
    StudentTCSKD,
    StudentCE,
    StudentKD,
):
    register_method(_method)


__all__ = [
    "FeatureMethod",
    "FewShotMethod",
    "ItemSet",
    "LogisticCV",
    "LogisticProbe",
    "ProtoNet",
    "StudentCE",
    "StudentKD",
    "StudentMethod",
    "StudentProbe",
    "StudentViewProbe",
    "StudentTCS",
    "StudentTCSKD",
    "TCSProbe",
    "create_method",
    "list_methods",
    "register_method",
]
