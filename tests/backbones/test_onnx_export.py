import numpy as np
import pytest
import torch

from fewshot_tcs.backbones import onnx_export


def _model():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()


def test_a_small_model_is_one_self_contained_file(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = _model()
    path = onnx_export.export_onnx(model, tmp_path / "m.onnx", (3, 16, 16), "features")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    x = np.random.default_rng(0).random((3, 3, 16, 16), dtype=np.float32)
    (got,) = ort.InferenceSession(str(path)).run(None, {"images": x})
    np.testing.assert_allclose(got, model(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_weights_past_the_protobuf_limit_go_beside_the_file(tmp_path, monkeypatch, caplog):
    ort = pytest.importorskip("onnxruntime")
    monkeypatch.setattr(onnx_export, "SINGLE_FILE_BYTES", 16)  # stands in for a > 2 GiB model
    path = onnx_export.export_onnx(_model(), tmp_path / "m.onnx", (3, 16, 16), "features")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]
    assert "must stay beside it" in caplog.text
    x = np.zeros((1, 3, 16, 16), np.float32)
    assert ort.InferenceSession(str(path)).run(None, {"images": x})[0].shape == (1, 4)
