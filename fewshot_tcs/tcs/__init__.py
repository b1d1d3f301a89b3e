"""The TCS method: coordinate system, coordinate selection and distillation losses."""

from .classifier import TCSClassifier
from .coords import CoordinateSystem
from .losses import ELSH, mimic_loss
from .selection import FisherSelector, IterativeSelector, NoSelector, fisher_ranking, make_selector

__all__ = [
    "CoordinateSystem",
    "ELSH",
    "FisherSelector",
    "IterativeSelector",
    "NoSelector",
    "TCSClassifier",
    "fisher_ranking",
    "make_selector",
    "mimic_loss",
]
