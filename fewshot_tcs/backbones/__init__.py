"""Backbones by name: a registry, one factory, and preprocessing that travels with the weights.

>>> backbone = create_backbone("efficientnet_lite0")          # weights from a pip package, offline
>>> features = backbone(backbone.eval_transform(image)[None])  # (1, 1280)
"""

from .backbone import Backbone
from .errors import WeightsNotFoundError
from .factory import create_backbone, list_backbones
from .info import BackboneInfo, BackboneSpec
from .registry import register_backbone

__all__ = [
    "Backbone",
    "BackboneInfo",
    "BackboneSpec",
    "WeightsNotFoundError",
    "create_backbone",
    "list_backbones",
    "register_backbone",
]
