"""The one contract every backbone meets, whatever library built it."""

from __future__ import annotations

import torch
from torch import nn

from .info import BackboneInfo
from .transforms import build_transform


class Backbone(nn.Module):
    """Images (B, 3, H, W) float -> pooled pre-logits features (B, feature_dim) float.

    ViT: class token after the final norm; CNN: global average pool; CLIP: the image embedding.
    Carries its preprocessing (`eval_transform`, `train_transform`: PIL image -> normalised tensor), its
    description `info`, and `weights_fingerprint`, a short string identifying the weights (a cache key).
    `classifier_head` is the weights' own classifier (e.g. ImageNet-1k) or None when they have none.
    """

    def __init__(
        self,
        trunk: nn.Module,
        info: BackboneInfo,
        weights_fingerprint: str,
        classifier_head: nn.Module | None = None,
    ):
        super().__init__()
        self.trunk = trunk
        self.classifier_head = classifier_head
        self.info = info
        self.weights_fingerprint = weights_fingerprint
        self.eval_transform = build_transform(info, is_training=False)
        self.train_transform = build_transform(info, is_training=True)

    @property
    def feature_dim(self) -> int:
        return self.info.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk(images)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Class scores (B, num_classes) of the weights' own classifier, e.g. ImageNet-1k for efficientnet_lite0."""
        if self.classifier_head is None:
            raise ValueError(f"backbone {self.info.name!r} has no classifier head: its weights are features only")
        return self.classifier_head(self.trunk(images))

    def extra_repr(self) -> str:
        return f"name={self.info.name!r}, feature_dim={self.feature_dim}, weights={self.weights_fingerprint!r}"
