"""Weights from local files: Meta's DINOv2 layout, safetensors, open_clip files, folders and caches, refusals."""

from __future__ import annotations

import warnings

import numpy as np
import open_clip
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from fewshot_tcs.backbones import WeightsNotFoundError, create_backbone, list_backbones, timm_loader
from fewshot_tcs.backbones.checkpoints import file_fingerprint

META_SIZE = 518  # Meta's checkpoints hold position embeddings for 518 px (37 x 37 patches)


def to_meta_layout(state: dict[str, torch.Tensor], registers: bool) -> dict[str, torch.Tensor]:
    """A timm DINOv2 state dict in the layout of Meta's published ``dinov2_*_pretrain.pth`` files."""
    state = dict(state)
    dim = state["cls_token"].shape[-1]
    state["mask_token"] = torch.zeros(1, dim)
    if registers:
        # Meta keeps a class-token position in pos_embed and separate register tokens; timm folds the former
        # into cls_token (cls + pos[0]) and calls the latter reg_token.
        class_position = torch.randn(1, 1, dim)
        state["register_tokens"] = state.pop("reg_token")
        state["cls_token"] = state["cls_token"] - class_position
        state["pos_embed"] = torch.cat([class_position, state["pos_embed"]], dim=1)
    return state


def meta_checkpoint(folder, registers: bool) -> tuple[nn.Module, str]:
    """(a random ViT-S/14 DINOv2 at 518 px, the path of its state saved in Meta's layout)."""
    torch.manual_seed(0)
    arch = "vit_small_patch14_reg4_dinov2" if registers else "vit_small_patch14_dinov2"
    original = timm.create_model(arch, img_size=META_SIZE).eval()
    with torch.no_grad():
        for block in original.blocks:  # layer-scale starts at 1e-5; make the blocks matter to the output
            block.ls1.gamma.fill_(1.0)
            block.ls2.gamma.fill_(1.0)
    path = folder / f"dinov2_vits14{'_reg4' if registers else ''}_pretrain.pth"
    torch.save(to_meta_layout(original.state_dict(), registers), path)
    return original, path


@pytest.fixture(scope="module")
def meta_vits14(tmp_path_factory):
    return meta_checkpoint(tmp_path_factory.mktemp("meta"), registers=False)


@pytest.mark.parametrize("registers", [False, True])
def test_meta_dinov2_checkpoint_gives_the_original_outputs(registers, tmp_path):
    original, path = meta_checkpoint(tmp_path, registers)
    name = "dinov2_vits14_reg" if registers else "dinov2_vits14"
    backbone = create_backbone(name, weights=path, img_size=META_SIZE)
    images = torch.randn(1, 3, META_SIZE, META_SIZE)
    with torch.no_grad():
        assert torch.allclose(backbone(images), original(images), atol=1e-4)
    assert backbone.weights_fingerprint == file_fingerprint(path)


def test_meta_checkpoint_at_the_default_224_px_resamples_position_embeddings(meta_vits14):
    original, path = meta_vits14
    backbone = create_backbone("dinov2_vits14", weights=path)
    assert backbone.trunk.pos_embed.shape == (1, 1 + 16 * 16, 384)
    assert torch.equal(backbone.trunk.blocks[11].mlp.fc2.weight, original.blocks[11].mlp.fc2.weight)
    with torch.no_grad():
        assert backbone(torch.randn(2, 3, 224, 224)).shape == (2, 384)


def test_pretrained_weights_are_found_in_cache_dir_and_torch_hub_cache(meta_vits14, tmp_path, monkeypatch):
    original, path = meta_vits14

    def no_download(*args, **kwargs):
        raise AssertionError("a local file must be used before any download")

    monkeypatch.setattr(timm_loader, "_download", no_download)
    from_cache_dir = create_backbone("dinov2_vits14", cache_dir=path.parent)
    hub_cache = tmp_path / "torch-home" / "hub" / "checkpoints"  # TORCH_HOME points into tmp_path (conftest)
    hub_cache.mkdir(parents=True)
    (hub_cache / path.name).write_bytes(path.read_bytes())
    assert list_backbones("dinov2_vits14")[0].available
    from_hub_cache = create_backbone("dinov2_vits14")
    for backbone in (from_cache_dir, from_hub_cache):
        assert backbone.weights_fingerprint == file_fingerprint(path)
        assert torch.equal(backbone.trunk.blocks[0].attn.qkv.weight, original.blocks[0].attn.qkv.weight)


def test_safetensors_round_trip_from_a_file_or_its_folder(tmp_path):
    backbone = create_backbone("dinov2_vits14_reg", pretrained=False, seed=1, img_size=28)
    path = tmp_path / "mine.safetensors"
    save_file(backbone.trunk.state_dict(), path)
    images = torch.randn(2, 3, 28, 28)
    for weights in (path, tmp_path):
        loaded = create_backbone("dinov2_vits14_reg", weights=weights, img_size=28)
        with torch.no_grad():
            assert torch.equal(loaded(images), backbone(images))
        assert loaded.weights_fingerprint == file_fingerprint(path)
    (tmp_path / "other.pth").write_bytes(b"")
    with pytest.raises(ValueError, match="several weight files"):
        create_backbone("dinov2_vits14_reg", weights=tmp_path, img_size=28)


def test_timm_checkpoint_with_another_class_count_resizes_the_head(tmp_path):
    torch.manual_seed(0)
    finetuned = timm.create_model("resnet18", num_classes=7).eval()
    torch.save(finetuned.state_dict(), tmp_path / "finetuned.pth")
    backbone = create_backbone("timm:resnet18", weights=tmp_path / "finetuned.pth")
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(backbone.logits(images), finetuned(images), atol=1e-5)


def test_open_clip_state_dict_file_gives_the_original_embedding(tmp_path):
    torch.manual_seed(0)
    original = open_clip.create_model("ViT-S-32-alt").eval()
    torch.save(original.state_dict(), tmp_path / "clip.pt")
    backbone = create_backbone("open_clip:ViT-S-32-alt", weights=tmp_path / "clip.pt")
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(backbone(images), original.encode_image(images), atol=1e-5)


@pytest.mark.filterwarnings("ignore:'torch.load' received a zip file that looks like a TorchScript archive")
def test_files_with_code_or_foreign_objects_are_refused(tmp_path):
    torch.save({"weight": torch.zeros(2), "extra": Unpicklable()}, tmp_path / "objects.pth")
    with pytest.raises(ValueError, match="not unpickled"):
        create_backbone("timm:resnet18", weights=tmp_path / "objects.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(nn.Linear(2, 2)).save(str(tmp_path / "scripted.pt"))
    with pytest.raises(ValueError, match="TorchScript"):
        create_backbone("timm:resnet18", weights=tmp_path / "scripted.pt")
    with pytest.raises(ValueError, match="TorchScript"):
        create_backbone("open_clip:ViT-S-32-alt", weights=tmp_path / "scripted.pt")


class Unpicklable:
    """Stands in for any Python object a malicious checkpoint could smuggle in."""


def test_weights_of_another_architecture_are_named_as_misfits(tmp_path):
    torch.save(timm.create_model("resnet18").state_dict(), tmp_path / "resnet.pth")
    with pytest.raises(ValueError, match=r"do not fit the architecture: missing \(\d+\): .*unexpected"):
        create_backbone("dinov2_vits14", weights=tmp_path / "resnet.pth")


def test_missing_weights_file_is_reported(tmp_path):
    with pytest.raises(WeightsNotFoundError, match=r"(?s)'dinov2_vits14'.*file not found.*pretrained=False"):
        create_backbone("dinov2_vits14", weights=tmp_path / "nowhere.pth")


def test_unreachable_hubs_name_the_backbone_what_was_tried_and_the_fixes(tmp_path):
    with pytest.raises(WeightsNotFoundError) as error:
        create_backbone("dinov2_vits14", source="auto", cache_dir=tmp_path)
    message = str(error.value)
    for part in (
        "'dinov2_vits14'",
        "hf-hub:timm/vit_small_patch14_dinov2.lvd142m",
        "torch.hub download of https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth",
        "weights='/path/to/dinov2_vits14_pretrain.pth",
        "cache_dir=",
        "pretrained=False",
    ):
        assert part in message
    with pytest.raises(WeightsNotFoundError, match="source='hub'"):
        create_backbone("dinov2_vits14", cache_dir=tmp_path)


def test_unreachable_open_clip_weights_are_reported(tmp_path):
    with pytest.raises(WeightsNotFoundError) as error:
        create_backbone("open_clip:ViT-B-32/openai", cache_dir=tmp_path)
    message = str(error.value)
    for part in (
        "'open_clip:ViT-B-32/openai'",
        "hf-hub:timm/vit_base_patch32_clip_224.openai",
        "weights=",
        "cache_dir=",
    ):
        assert part in message


def test_missing_weights_hints_use_the_names_of_the_interface_called(tmp_path, capsys):
    import fewshot_tcs
    from fewshot_tcs.apps.cli import main

    images = np.random.default_rng(0).integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(WeightsNotFoundError) as error:
        fewshot_tcs.fit(images, ["a", "a", "b", "b"], backbone="dinov2_vits14", cache_dir=tmp_path)
    message = str(error.value)
    assert "teacher_weights='/path/to/dinov2_vits14_pretrain.pth" in message
    assert "teacher_pretrained=False" in message
    fixes = message.split("Fix (any one):")[1]
    assert " weights=" not in fixes and "source=" not in fixes and "cache_dir=" not in fixes

    folder = tmp_path / "photos"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(images[k]).save(folder / name / f"{k}.png")
    assert main(["fit", str(folder), "--backbone", "dinov2_vits14", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--weights '/path/to/dinov2_vits14_pretrain.pth" in err
    fixes = err.split("Fix (any one):")[1]
    assert "weights=" not in fixes and "pretrained=" not in fixes and "source=" not in fixes and "Traceback" not in err


def test_without_network_missing_weights_fail_at_once_and_quietly(tmp_path, monkeypatch, caplog):
    import time

    import huggingface_hub.constants

    from fewshot_tcs.backbones import network

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # as on a user's machine
    network.reachable.cache_clear()
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail(f"retried after a {seconds} s sleep"))
    with pytest.raises(WeightsNotFoundError, match="dl.fbaipublicfiles.com within 3 s"):
        create_backbone("dinov2_vits14", source="auto", cache_dir=tmp_path)
    assert huggingface_hub.constants.HF_HUB_OFFLINE is False  # restored
    assert "Retrying" not in caplog.text
    network.reachable.cache_clear()
