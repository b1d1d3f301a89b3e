"""Bring your own backbone and checkpoint, offline: a registered name, weights from a local file.

    python examples/custom_backbone.py

Stands in for a fine-tuned checkpoint of your own with the ImageNet weights of mobilenetv2_100 (shipped in a
pip package), written to a .safetensors file and loaded back under a new name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import save_file

import fewshot_tcs
from fewshot_tcs.backbones import BackboneSpec, create_backbone, register_backbone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-episodes", type=int, default=100)
    parser.add_argument("--out", default="runs/custom_backbone")
    args = parser.parse_args()

    # 1. A checkpoint file: here the trunk weights of a registry model, as a fine-tuning run would save them.
    original = create_backbone("mobilenetv2_100")
    checkpoint = Path(args.out) / "my_mobilenet.safetensors"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    trunk = {
        k.removeprefix("trunk."): v.contiguous() for k, v in original.state_dict().items() if k.startswith("trunk.")
    }
    save_file(trunk, str(checkpoint))

    # 2. A name of your own for the architecture, with its preprocessing (here: 160 px input).
    register_backbone(
        BackboneSpec(
            name="my_mobilenet",
            family="timm",
            arch="mobilenetv2_100",
            data_overrides={"input_size": (3, 160, 160), "crop_pct": 1.0},
        )
    )
    mine = create_backbone("my_mobilenet", weights=checkpoint)
    print(mine)
    print(f"input {mine.info.input_size}, mean {mine.info.mean}, weights {mine.weights_fingerprint}")
    x = torch.randn(2, 3, 160, 160)
    with torch.inference_mode():
        same = torch.allclose(original(x), mine(x), atol=1e-5)
    print(f"features equal to the registry model's: {same}")

    # 3. Use it as a teacher by name; weights= reaches the teacher pass (and the cache is keyed by the file).
    result = fewshot_tcs.benchmark(
        "omniglot-small",
        methods=["protonet", "tcs-probe"],
        backbone="my_mobilenet",
        weights=checkpoint,
        shots=(5,),
        n_episodes=args.n_episodes,
        seed=0,
    )
    print(result.to_markdown())


if __name__ == "__main__":
    main()
