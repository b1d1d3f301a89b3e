"""Train a student, export it to ONNX, and classify with ONNX Runtime, PIL and numpy (no PyTorch needed).

    python examples/deploy_onnx.py
    python examples/deploy_onnx.py --folder photos/

Checks that ONNX Runtime's logits match the PyTorch student's and reports both throughputs on this CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

import fewshot_tcs
from fewshot_tcs.data import FolderSource, write_folder


def preprocess(path: str, config: dict) -> np.ndarray:
    """What the deployed model expects: RGB, the central ``crop`` of the largest centred square, resized to
    its square input, normalised, (3, S, S) float32."""
    prep = config["preprocessing"]
    size = prep["size"]
    image = Image.open(path).convert("RGB")
    side = min(image.size) * prep.get("crop", 1.0)  # models saved before the crop took the whole square
    left, top = round((image.width - side) / 2), round((image.height - side) / 2)
    box = (left, top, left + max(1, round(side)), top + max(1, round(side)))
    image = image.crop(box).resize((size, size), Image.BILINEAR)
    x = (np.asarray(image, dtype=np.float32) / 255 - np.array(prep["mean"], np.float32)) / np.array(
        prep["std"], np.float32
    )
    return x.transpose(2, 0, 1)


def images_per_second(run, batch: np.ndarray, repeats: int = 5) -> float:
    run(batch)
    best = min(_timed(run, batch) for _ in range(repeats))
    return len(batch) / best


def _timed(run, batch: np.ndarray) -> float:
    start = time.perf_counter()
    run(batch)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=None, help="one sub-folder per class (default: an Omniglot stand-in)")
    parser.add_argument("--backbone", default="efficientnet_lite2", help="the teacher")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--out", default="runs/deploy_onnx")
    args = parser.parse_args()

    out = Path(args.out)
    folder = args.folder or write_folder("omniglot-small", out / "photos", n_classes=5, per_class=20, seed=0)
    train, test = FolderSource(folder).train_test_split(test_size=0.5, seed=0)
    clf = fewshot_tcs.fit(train, backbone=args.backbone, steps=args.steps)
    model_dir = clf.save(out / "model")
    onnx_file = clf.export(model_dir / "student.onnx")

    # Deployment side: only the files, PIL, numpy and onnxruntime.
    config = json.loads((model_dir / "config.json").read_text())
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    files = [str(Path(folder) / item_id) for item_id in test.ids]
    batch = np.stack([preprocess(f, config) for f in files])
    logits = session.run(None, {input_name: batch})[0]
    predicted = np.array(config["classes"])[logits.argmax(axis=1)]
    truth = np.array([test.classes[k] for k in test.labels])
    print(f"ONNX Runtime, PIL preprocessing: {np.mean(predicted == truth):.1%} on {len(files)} held-out images")

    # The same normalised batch through the PyTorch student itself (``predict`` would preprocess it again).
    with torch.inference_mode():
        torch_logits = clf.model_(torch.from_numpy(batch)).numpy()
    print(f"largest |ONNX - PyTorch| logit difference: {np.abs(logits - torch_logits).max():.2e}")
    agree = np.mean(predicted == clf.predict(files))
    print(f"ONNX (PIL resize) and PyTorch (library resize) predictions agree on {agree:.1%} of images")

    onnx_rate = images_per_second(lambda x: session.run(None, {input_name: x}), batch)
    with torch.inference_mode():
        torch_rate = images_per_second(lambda x: clf.model_(torch.from_numpy(x)), batch)
    print(f"images/s on this CPU, batch {len(batch)}: ONNX Runtime {onnx_rate:.0f}, PyTorch {torch_rate:.0f}")


if __name__ == "__main__":
    main()
