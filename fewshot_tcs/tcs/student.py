"""The student: a backbone, a projector into the tailored coordinates, a coordinate mask and a classifier.

Deployed, the projector, mask and classifier fold into one linear layer on the backbone's features.
"""

from __future__ import annotations

import torch
from torch import nn


class Student(nn.Module):
    """``S -> P -> m -> C``: images (B, 3, H, W) -> logits (B, n_classes).

    Args:
        backbone: maps images to pooled features (B, feature_dim).
        feature_dim: d_s, the backbone's feature size.
        n_coords: r, the number of tailored coordinates.
        n_classes: classes of the task.
    """

    def __init__(
        self, backbone: nn.Module, feature_dim: int, n_coords: int, n_classes: int, body: nn.Module | None = None
    ):
        super().__init__()
        self.backbone = backbone
        # What training runs: the whole backbone, or its trainable tail on cached inputs (see split_backbone).
        self.body = backbone if body is None else body
        self.projector = nn.Linear(feature_dim, n_coords)
        self.classifier = nn.Linear(n_coords, n_classes)
        self.register_buffer("mask", torch.ones(n_coords))

    def coords(self, inputs: torch.Tensor) -> torch.Tensor:
        """Predicted coordinates P(body(x)), (B, r): ``inputs`` are images, or the frozen part's output when
        the student trains a tail (the view bank then holds those)."""
        return self.projector(self.body(inputs))

    def head(self, coords: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits C(m * coords), (B, n_classes); ``mask`` overrides the stored one (to take its gradient)."""
        return self.classifier(coords * (self.mask if mask is None else mask))

    def forward(self, images: torch.Tensor, coords_only: bool = False) -> torch.Tensor:
        """Logits, or with ``coords_only`` the coordinates (the path DistributedDataParallel wraps)."""
        coords = self.coords(images)
        return coords if coords_only else self.head(coords)

    @torch.no_grad()
    def set_prototypes(self, prototypes: torch.Tensor, scale: float = 1.0) -> None:
        """Make C a nearest-class-mean classifier in the masked coordinates, logits ``-scale ||m z - p_c||^2``.

        Up to a per-image constant that is the linear layer ``2 scale p_c . (m z) - scale ||p_c||^2``;
        prototypes (C, r) are masked first so that dropped coordinates play no part. ``scale`` sets how
        peaked the softmax is, which only matters to a head that goes on training (see ``distance_scale``).
        """
        prototypes = prototypes.to(self.mask) * self.mask
        self.classifier.weight.copy_(2 * scale * prototypes)
        self.classifier.bias.copy_(-scale * (prototypes**2).sum(dim=1))

    @torch.no_grad()
    def fold(self, classifier: nn.Linear | None = None) -> FoldedStudent:
        """One linear layer equal to C(m * P(.)) on the backbone's features: W = C diag(m) P; ``classifier``
        (r -> classes, on the masked coordinates) stands in for C."""
        classifier = self.classifier if classifier is None else classifier.to(self.mask.device)
        masked = classifier.weight * self.mask
        return FoldedStudent(
            self.backbone, linear_layer(masked @ self.projector.weight, masked @ self.projector.bias + classifier.bias)
        )


@torch.no_grad()
def linear_layer(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    """A linear layer holding ``weight`` (out, in) and ``bias`` (out,): how every readout becomes one layer."""
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    linear.weight.copy_(weight)
    linear.bias.copy_(bias)
    return linear


def split_backbone(backbone: nn.Module, train_stages: int | None) -> tuple[nn.Module, nn.Module] | None:
    """(frozen head of the network, trainable tail) with ``tail(frozen(x)) == backbone(x)``, sharing modules.

    ``train_stages`` counts the last stages that train (timm's EfficientNet/MobileNet ``blocks`` or ResNet
    ``layer1..4``), the final convolution and pooling always with them; None trains everything and returns
    None, as does an architecture of another shape (it then trains whole). The frozen part's parameters stop
    taking gradients and its batch norms keep their pretrained statistics.
    """
    if train_stages is None:
        return None
    net = getattr(backbone, "trunk", backbone)
    if hasattr(net, "conv_stem") and hasattr(net, "blocks") and hasattr(net, "conv_head"):
        stages = list(net.blocks)
        start = [net.conv_stem, net.bn1]
        end = [net.conv_head, net.bn2, _Pool(net)]
    elif all(hasattr(net, f"layer{k}") for k in range(1, 5)) and hasattr(net, "conv1"):
        stages = [getattr(net, f"layer{k}") for k in range(1, 5)]
        start = [net.conv1, net.bn1, net.act1, net.maxpool]
        end = [_Pool(net)]
    else:
        return None
    cut = max(0, len(stages) - int(train_stages))
    frozen, tail = nn.Sequential(*start, *stages[:cut]), nn.Sequential(*stages[cut:], *end)
    frozen.requires_grad_(False).eval()
    return frozen, tail


class _Pool(nn.Module):
    """The backbone's own ``forward_head`` (pooling, no classifier) as a module of the tail."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.__dict__["net"] = net  # not a submodule: its parameters belong to the backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_head(x)


def distance_scale(coords: torch.Tensor) -> float:
    """``1 / (2 v)`` for coordinates (n, r) whose variances sum to ``v``: squared distances measured
    against the coordinates' spread, so that the head's softmax is as peaked whatever the teacher's
    feature scale (a teacher with concentrated features gives a tiny ``v`` and, unscaled, a near-uniform
    softmax that a few steps of the head's learning rate cannot sharpen)."""
    return 0.5 / float(coords.var(dim=0).sum().clamp_min(1e-12))


class FoldedStudent(nn.Module):
    """The deployed student: backbone + one linear layer, images (B, 3, H, W) -> logits (B, n_classes)."""

    def __init__(self, backbone: nn.Module, linear: nn.Linear):
        super().__init__()
        self.backbone = backbone
        self.linear = linear

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.linear(self.backbone(images))
