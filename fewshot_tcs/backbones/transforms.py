"""Turn a backbone's preprocessing config into torchvision transforms (one function, as timm does)."""

from __future__ import annotations

from timm.data import create_transform
from torchvision import transforms

from ..data.transforms import ToRGB
from .info import BackboneInfo


def build_transform(info: BackboneInfo, is_training: bool) -> transforms.Compose:
    """PIL image of any mode -> normalised (3, H, W) float tensor, as the backbone's weights expect.

    Eval: resize, centre crop at ``crop_pct``. Training: timm's random-resized crop, flip and colour jitter.
    Grayscale, palette and transparent images become RGB first (transparency on white).
    """
    pipeline = create_transform(
        input_size=info.input_size,
        is_training=is_training,
        interpolation=info.interpolation,
        mean=info.mean,
        std=info.std,
        crop_pct=info.crop_pct,
        crop_mode=info.crop_mode,
    )
    return transforms.Compose([ToRGB(), *pipeline.transforms])
