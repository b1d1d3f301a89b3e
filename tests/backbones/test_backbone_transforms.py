"""Preprocessing travels with the backbone and accepts PIL images of any mode."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from fewshot_tcs.backbones import create_backbone


@pytest.fixture(scope="module")
def backbone():
    return create_backbone("mobilenetv2_100", pretrained=False, seed=0)


def images_of_every_mode() -> dict[str, Image.Image]:
    rgb = Image.new("RGB", (33, 21), (200, 30, 90))
    palette = rgb.convert("P")
    palette.info["transparency"] = 0
    return {
        "1": rgb.convert("1"),
        "L": rgb.convert("L"),
        "LA": rgb.convert("LA"),
        "P": rgb.convert("P"),
        "P+transparency": palette,
        "RGBA": rgb.convert("RGBA"),
        "CMYK": rgb.convert("CMYK"),
        "I;16": Image.new("I;16", (33, 21), 1000),
        "F": Image.new("F", (33, 21), 0.5),
    }


@pytest.mark.parametrize("mode", list(images_of_every_mode()))
def test_any_mode_becomes_a_normalised_rgb_tensor(backbone, mode):
    image = images_of_every_mode()[mode]
    for transform in (backbone.eval_transform, backbone.train_transform):
        tensor = transform(image)
        assert tensor.shape == backbone.info.input_size and tensor.dtype == torch.float32


def test_transparent_pixels_become_white(backbone):
    tensor = backbone.eval_transform(Image.new("RGBA", (40, 40), (0, 0, 0, 0)))
    mean, std = torch.tensor(backbone.info.mean), torch.tensor(backbone.info.std)
    white = (1 - mean) / std
    assert torch.allclose(tensor, white[:, None, None].expand_as(tensor), atol=1e-5)


def test_eval_transform_is_deterministic_and_train_transform_augments(backbone, photos):
    photo = photos["china.jpg"]
    assert torch.equal(backbone.eval_transform(photo), backbone.eval_transform(photo))
    torch.manual_seed(0)
    assert not torch.equal(backbone.train_transform(photo), backbone.train_transform(photo))


def test_transforms_follow_the_weights_config():
    backbone = create_backbone("efficientnet_lite2", pretrained=False)
    info = backbone.info
    resize = backbone.eval_transform.transforms[1]
    assert resize.size == int(260 / info.crop_pct) and resize.interpolation.value == "bicubic"
    normalize = backbone.eval_transform.transforms[-1]
    assert normalize.mean.tolist() == [0.5, 0.5, 0.5]
