"""Every registered backbone builds, meets the Backbone contract, and names are resolved with helpful errors."""

from __future__ import annotations

import open_clip
import pytest
import timm
import torch
from PIL import Image
from timm.models import get_pretrained_cfg

from fewshot_tcs.backbones import Backbone, create_backbone, list_backbones
from fewshot_tcs.backbones.registry import registered

# Random init of these takes 10-60 s on a CPU; their table data is still checked on the meta device below.
GIANTS = {"dinov2_vitl14", "dinov2_vitl14_reg", "dinov2_vitg14", "dinov2_vitg14_reg"}
ENTRIES = [
    pytest.param(info.name, marks=pytest.mark.slow) if info.name in GIANTS else info.name for info in list_backbones()
]


def tiny_size(name: str) -> int:
    """A small input the architecture accepts: 2x2 patches for ViTs, 64 px for CNNs."""
    return 28 if name.startswith("dinov2") else 64


@pytest.mark.parametrize("name", ENTRIES)
def test_fixed_entry_builds_with_random_weights_and_gives_pooled_features(name):
    size = tiny_size(name)
    backbone = create_backbone(name, pretrained=False, seed=0, img_size=size)
    assert isinstance(backbone, Backbone) and not backbone.training
    with torch.no_grad():
        features = backbone(torch.randn(2, 3, size, size))
    spec = next(s for s in registered() if s.name == name)
    assert features.shape == (2, spec.feature_dim) == (2, backbone.feature_dim)
    assert torch.isfinite(features).all()
    assert backbone.weights_fingerprint == "random-init:0"
    assert backbone.info.input_size == (3, size, size)
    assert backbone.eval_transform(Image.new("RGB", (50, 40))).shape == (3, size, size)


def test_table_matches_the_architectures_including_the_giants():
    for spec in registered():
        if spec.family != "dinov2":
            continue
        with torch.device("meta"):
            model = timm.create_model(spec.arch, **spec.model_kwargs)
        assert model.num_features == spec.feature_dim, spec.name
        assert get_pretrained_cfg(f"{spec.arch}.{spec.tag}").url == spec.hub_url, spec.name


def test_dinov2_defaults_to_224_px_with_dinov2_linear_eval_crop():
    info = list_backbones("dinov2_vits14")[0]
    assert (info.input_size, info.crop_pct, info.interpolation) == ((3, 224, 224), 0.875, "bicubic")
    backbone = create_backbone("dinov2_vits14", pretrained=False)
    assert backbone.trunk.pos_embed.shape[1] == 1 + 16 * 16


def test_timm_name_splits_the_classifier_off_as_the_head():
    backbone = create_backbone("timm:resnet18", pretrained=False, seed=0)
    torch.manual_seed(0)
    reference = timm.create_model("resnet18").eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(backbone(images), reference.forward_head(reference.forward_features(images), True))
        assert torch.allclose(backbone.logits(images), reference(images))
    assert backbone.feature_dim == 512 and backbone.info.family == "timm"


def test_open_clip_name_gives_the_image_embedding():
    backbone = create_backbone("open_clip:ViT-S-32-alt", pretrained=False, seed=0)
    torch.manual_seed(0)
    reference = open_clip.create_model("ViT-S-32-alt").eval()
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(backbone(images), reference.encode_image(images), atol=1e-5)
    assert backbone.feature_dim == 256 and backbone.classifier_head is None
    with pytest.raises(ValueError, match="no classifier head"):
        backbone.logits(images)


def test_seed_reproduces_weights_and_leaves_the_global_random_stream_alone():
    state = torch.random.get_rng_state()
    first = create_backbone("timm:resnet18", pretrained=False, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = create_backbone("timm:resnet18", pretrained=False, seed=3)
    images = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(first(images), second(images))
    unseeded = [create_backbone("timm:resnet18", pretrained=False).weights_fingerprint for _ in range(2)]
    assert unseeded[0] != unseeded[1] and unseeded[0].startswith("random-init:unseeded")


def test_list_backbones_filters_by_pattern():
    names = [info.name for info in list_backbones("dinov2_*")]
    assert names == sorted(names) and len(names) == 8 and "dinov2_vitg14_reg" in names
    assert [info.name for info in list_backbones("efficientnet_lite?")] == [f"efficientnet_lite{n}" for n in range(3)]
    assert {info.family for info in list_backbones()} == {"dinov2", "open_clip", "offline"}


def test_available_is_decided_from_local_files(tmp_path):
    assert not list_backbones("dinov2_vits14", cache_dir=tmp_path)[0].available
    (tmp_path / "dinov2_vits14_pretrain.pth").write_bytes(b"")
    assert list_backbones("dinov2_vits14", cache_dir=tmp_path)[0].available


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("dinov2_vits16", "dinov2_vits14"),
        ("efficientnet_lite", "efficientnet_lite0"),
        ("timm:resnet181", "resnet18"),
        ("open_clip:ViT-B-33/openai", "ViT-B-32"),
    ],
)
def test_unknown_name_suggests_close_matches(name, suggestion):
    with pytest.raises(ValueError, match="Did you mean") as error:
        create_backbone(name, pretrained=False)
    assert suggestion in str(error.value)


def test_unknown_tag_lists_the_tags():
    with pytest.raises(ValueError, match="a1_in1k"):
        create_backbone("timm:resnet18.nope", pretrained=False)
    with pytest.raises(ValueError, match="laion2b"):
        create_backbone("open_clip:ViT-B-32/nope", pretrained=False)


def test_hub_source_is_refused_where_there_is_no_hub_checkpoint():
    with pytest.raises(ValueError, match="torch.hub"):
        create_backbone("timm:resnet18", pretrained=False, source="hub")
