"""fewshot-tcs: few-shot image classification with a tailored coordinate system (TCS)."""

from .data import ImageSource, as_source, list_sources, load_source
from .episodes import Episode, EpisodeSampler, load_episodes, save_episodes
from .evaluate import evaluate
from .methods import LogisticProbe, ProtoNet, create_method, list_methods
from .results import EvaluationResult, confidence_interval

__version__ = "0.1.0"

__all__ = [
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
