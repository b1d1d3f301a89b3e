"""Where the teacher pass runs: the runtime choice, the cached ONNX export, and features equal to eager."""

import logging

import numpy as np
import pytest
import torch

from fewshot_tcs.backbones import create_backbone, runtime
from fewshot_tcs.backbones.runtime import RUNTIME_ENV, check_runtime, choose_runtime, export_path
from fewshot_tcs.data import ArraySource
from fewshot_tcs.features import extract_features

pytest.importorskip("onnxruntime", reason="the ONNX Runtime path needs the export extra")
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def backbone():
    return create_backbone("timm:resnet10t", pretrained=False, seed=0, img_size=48)


@pytest.fixture
def source():
    pixels = np.random.default_rng(0).integers(0, 255, (12, 40, 40, 3), dtype=np.uint8)
    return ArraySource(pixels, np.arange(12) % 3, name="random")


def test_an_unknown_runtime_is_refused_with_the_closest_name():
    with pytest.raises(ValueError, match=r"Did you mean \['onnxruntime'\]"):
        check_runtime("onnx")
    with pytest.raises(ValueError, match="runtime must be one of"):
        extract_features("timm:resnet10t", ArraySource(np.zeros((2, 8, 8), np.uint8), [0, 1]), runtime="tensorrt")


def test_auto_picks_onnxruntime_on_cpu_for_long_passes_only(backbone, tmp_path, monkeypatch):
    monkeypatch.delenv(RUNTIME_ENV, raising=False)
    assert choose_runtime("auto", CPU, backbone, runtime.ORT_MIN_IMAGES, tmp_path) == "onnxruntime"
    assert choose_runtime("auto", CPU, backbone, 10, tmp_path) == "torch"
    assert choose_runtime("auto", torch.device("cuda"), backbone, 10_000, tmp_path) == "torch"
    assert choose_runtime("torch", CPU, backbone, 10_000, tmp_path) == "torch"
    monkeypatch.setenv(RUNTIME_ENV, "torch")
    assert choose_runtime("auto", CPU, backbone, 10_000, tmp_path) == "torch"
    monkeypatch.setenv(RUNTIME_ENV, "onnxruntime")  # the variable speaks for CPUs only
    assert choose_runtime("auto", CPU, backbone, 1, tmp_path) == "onnxruntime"
    assert choose_runtime("auto", torch.device("cuda"), backbone, 10_000, tmp_path) == "torch"
    with pytest.raises(ValueError, match="runs on CPU"):
        choose_runtime("onnxruntime", torch.device("cuda"), backbone, 10, tmp_path)


def test_onnxruntime_features_equal_eager_and_the_export_is_made_once(backbone, source, tmp_path, monkeypatch):
    eager = extract_features(backbone, source, cache=False, runtime="torch", quiet=True)
    fast = extract_features(backbone, source, views=1, cache_dir=tmp_path, runtime="onnxruntime", quiet=True)
    np.testing.assert_allclose(fast.values, eager.values, atol=1e-4, rtol=1e-4)
    assert export_path(backbone, tmp_path).is_file()
    # An export already cached makes "auto" choose ONNX Runtime even for a short pass, without exporting again.
    monkeypatch.setattr(runtime, "export_onnx", lambda *a: pytest.fail("exported twice"))
    assert choose_runtime("auto", CPU, backbone, 1, tmp_path) == "onnxruntime"
    again = extract_features(backbone, source.subset([0, 1]), cache=False, cache_dir=tmp_path, runtime="onnxruntime")
    np.testing.assert_allclose(again.values, eager.values[:2], atol=1e-4, rtol=1e-4)


def test_a_failed_export_falls_back_to_eager_under_auto_and_fails_loudly_when_asked_for(
    backbone, source, tmp_path, monkeypatch, caplog
):
    def broken(*args):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(runtime, "export_onnx", broken)
    monkeypatch.setattr(runtime, "ORT_MIN_IMAGES", 1)
    monkeypatch.delenv(RUNTIME_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        features = extract_features(backbone, source, cache=False, cache_dir=tmp_path, quiet=True)
    assert features.values.shape == (12, backbone.feature_dim)
    assert "runs in eager PyTorch" in caplog.text
    with pytest.raises(RuntimeError, match="unsupported operator"):
        extract_features(backbone, source, cache=False, cache_dir=tmp_path, runtime="onnxruntime", quiet=True)


def test_a_cached_export_that_does_not_open_is_made_again(backbone, source, tmp_path):
    path = export_path(backbone, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx graph")
    features = extract_features(backbone, source, cache=False, cache_dir=tmp_path, runtime="onnxruntime", quiet=True)
    eager = extract_features(backbone, source, cache=False, runtime="torch", quiet=True)
    np.testing.assert_allclose(features.values, eager.values, atol=1e-4, rtol=1e-4)
    assert path.read_bytes()[:17] != b"not an onnx graph"


def test_unseeded_random_weights_are_never_cached(tmp_path):
    assert export_path(create_backbone("timm:resnet10t", pretrained=False), tmp_path) is None
