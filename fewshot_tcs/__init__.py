"""fewshot-tcs: few-shot image classification with a tailored coordinate system (TCS).

Names are imported on first use, so ``import fewshot_tcs`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

from . import _moved, defaults

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS = {
    "allway_benchmark": ".evaluation.benchmark",
    "benchmark": ".evaluation.benchmark",
    "create_backbone": ".backbones",
    "list_backbones": ".backbones",
    "register_backbone": ".backbones",
    "ImageSource": ".data",
    "as_source": ".data",
    "list_sources": ".data",
    "load_source": ".data",
    "Episode": ".episodes",
    "EpisodeSampler": ".episodes",
    "load_episodes": ".episodes",
    "save_episodes": ".episodes",
    "evaluate": ".evaluation.evaluate",
    "FeatureSet": ".features",
    "extract_features": ".features",
    "FewShotMethod": ".methods",
    "ItemSet": ".methods",
    "LogisticProbe": ".methods",
    "ProtoNet": ".methods",
    "create_method": ".methods",
    "list_methods": ".methods",
    "EvaluationResult": ".evaluation.results",
    "confidence_interval": ".evaluation.results",
    "TCSClassifier": ".tcs",
    "teacher_pass": ".features",
}

if TYPE_CHECKING:
    from .backbones import create_backbone, list_backbones, register_backbone
    from .data import ImageSource, as_source, list_sources, load_source
    from .episodes import Episode, EpisodeSampler, load_episodes, save_episodes
    from .evaluation.benchmark import allway_benchmark, benchmark
    from .evaluation.evaluate import evaluate
    from .evaluation.results import EvaluationResult, confidence_interval
    from .features import FeatureSet, extract_features, teacher_pass
    from .methods import FewShotMethod, ItemSet, LogisticProbe, ProtoNet, create_method, list_methods
    from .tcs import TCSClassifier


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the submodules ``benchmark`` and ``evaluate`` binds them on the package; the functions of
        # the same name stay what ``fewshot_tcs.benchmark`` means, as when they were imported eagerly.
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
sys.meta_path.append(_moved.MovedModules())  # old import paths, for one release


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        if importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module 'fewshot_tcs' has no attribute {name!r}")
        return importlib.import_module(f".{name}", __name__)  # a submodule, as ``fewshot_tcs.distributed``
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


def fit(
    support: Any,
    labels: Any = None,
    *,
    backbone: str | list[str] = defaults.TEACHER,
    student: str = defaults.STUDENT,
    unlabeled: Any = None,
    **params: Any,
) -> TCSClassifier:
    """Train a TCS student on labelled ``support`` (a folder, (path | image | array, label) pairs, arrays,
    a Hugging Face dataset or a dataset name; or images with ``labels`` second, the scikit-learn way) and
    return the fitted :class:`TCSClassifier`. Other keywords are TCSClassifier's settings."""
    from .tcs import TCSClassifier

    return TCSClassifier(backbone=backbone, student=student, **params).fit(support, labels, unlabeled=unlabeled)


__all__ = [
    "__version__",
    "fit",
    "allway_benchmark",
    "benchmark",
    "create_backbone",
    "list_backbones",
    "register_backbone",
    "ImageSource",
    "as_source",
    "list_sources",
    "load_source",
    "Episode",
    "EpisodeSampler",
    "load_episodes",
    "save_episodes",
    "evaluate",
    "FeatureSet",
    "extract_features",
    "FewShotMethod",
    "ItemSet",
    "LogisticProbe",
    "ProtoNet",
    "create_method",
    "list_methods",
    "EvaluationResult",
    "confidence_interval",
    "TCSClassifier",
    "teacher_pass",
]
