"""Fit a TCS student on a folder of labelled images, check it on held-out images, predict and save.

python examples/quickstart.py                     # a stand-in folder of 5 Omniglot characters
python examples/quickstart.py --folder photos/    # your own photos/<class>/<image>
"""

from __future__ import annotations

import argparse
from pathlib import Path

import fewshot_tcs
from fewshot_tcs.data import FolderSource, write_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=None, help="one sub-folder per class (default: an Omniglot stand-in)")
    parser.add_argument("--backbone", default="efficientnet_lite2", help="the teacher")
    parser.add_argument("--student", default="mobilenetv2_100")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--out", default="runs/quickstart")
    args = parser.parse_args()

    out = Path(args.out)
    folder = args.folder or write_folder("omniglot-small", out / "photos", n_classes=5, per_class=20, seed=0)
    train, test = FolderSource(folder).train_test_split(test_size=0.5, seed=0)
    print(f"{len(train)} training and {len(test)} held-out images of {len(train.classes)} classes")

    clf = fewshot_tcs.fit(train, backbone=args.backbone, student=args.student, steps=args.steps)
    print(f"held-out accuracy: {clf.score(test):.1%}")
    kept = int(clf.mask_.sum())
    print(f"student: {clf.student} at {clf.image_size_} px, {kept} of {clf.coords_.n_components_} coordinates kept")

    files = [str(Path(folder) / item_id) for item_id in test.ids[:3]]
    for file, label in zip(files, clf.predict(files), strict=True):
        print(f"{file} -> {label}")
    print(f"saved to {clf.save(out / 'model')}")


if __name__ == "__main__":
    main()
