"""fewshot-tcs: few-shot image classification with a tailored coordinate system (TCS)."""

from .backbones import create_backbone, list_backbones
from .benchmark import allway_benchmark, benchmark
from .data import ImageSource, as_source, list_sources, load_source
from .episodes import Episode, EpisodeSampler, load_episodes, save_episodes
from .evaluate import evaluate
from .methods import LogisticProbe, ProtoNet, create_method, list_methods
from .results import EvaluationResult, confidence_interval
from .tcs import TCSClassifier


def fit(support, backbone="dinov2_vits14", student="mobilenetv2_100", unlabeled=None, labels=None, **params):
    """Train a TCS student on labelled ``support`` (a folder, (path | image | array, label) pairs, arrays,
    a Hugging Face dataset or a dataset name) and return the fitted :class:`TCSClassifier`."""
    return TCSClassifier(backbone=backbone, student=student, **params).fit(support, labels=labels, unlabeled=unlabeled)


__version__ = "0.1.0"

__all__ = [
    "allway_benchmark",
    "benchmark",
    "TCSClassifier",
    "create_backbone",
    "fit",
    "list_backbones",
    "Episode",
    "EpisodeSampler",
    "EvaluationResult",
    "ImageSource",
    "LogisticProbe",
    "ProtoNet",
    "as_source",
    "confidence_interval",
    "create_method",
    "evaluate",
    "list_methods",
    "list_sources",
    "load_episodes",
    "load_source",
    "save_episodes",
]
