import zipfile

import numpy as np
import pytest
from PIL import Image

from fewshot_tcs.data import ArchiveSource, ConcatSource, archive_source, load_source
from fewshot_tcs.data.paths import find_data


def write_tree(root, splits=("train", "test"), classes=("cat", "dog"), per_class=3):
    for split in splits:
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for k in range(per_class):
                Image.fromarray(np.full((8, 8, 3), 40 * c + k, np.uint8)).save(root / split / name / f"{k}.jpg")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    return root


def zip_tree(root, target):
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(root.rglob("*")):
            archive.write(path, path.relative_to(root).as_posix())
    return target


@pytest.mark.parametrize("zipped", [False, True])
def test_archive_source_reads_one_split_of_a_tree(tmp_path, zipped):
    tree = write_tree(tmp_path / "tree")
    root = zip_tree(tree, tmp_path / "tree.zip") if zipped else tree
    source = ArchiveSource(root, "train", "toy")
    assert source.classes == ("cat", "dog")
    assert source.ids[0] == "train/cat/0.jpg" and len(source) == 6  # notes.txt is not an image
    assert np.asarray(source.load(4)).mean() == pytest.approx(41, abs=2)
    assert source.fingerprint() != ArchiveSource(root, "test", "toy").fingerprint()


def test_archive_source_names_what_it_could_not_find(tmp_path):
    with pytest.raises(ValueError, match="no images under val/"):
        ArchiveSource(write_tree(tmp_path / "tree"), "val", "toy")
    with pytest.raises(ValueError, match="split must be one of"):
        archive_source("cifar10", "val", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar10-jpg.zip not found"):
        archive_source("cifar10", "test", root=tmp_path)


def test_concat_source_keeps_each_item_where_it_came_from(tmp_path):
    root = write_tree(tmp_path / "tree")
    both = ConcatSource([ArchiveSource(root, "test", "toy"), ArchiveSource(root, "train", "toy")])
    assert len(both) == 12 and both.split == "test+train"
    k = both.index_of(["train/dog/2.jpg"])[0]
    assert both.describe(int(k)).endswith("train/dog/2.jpg")
    assert np.asarray(both.load(int(k))).mean() == pytest.approx(42, abs=2)


@pytest.mark.parametrize(
    ("name", "split", "n", "classes"),
    [("cifar10", "test", 10000, 10), ("cifar10", "train", 10000, 10), ("hymenoptera", "train", 245, 2)],
)
def test_named_natural_image_sources(name, split, n, classes):
    if find_data(f"{name}") is None:
        pytest.skip(f"{name} is not in the data roots (../shared/data)")
    source = load_source(name, split)
    assert len(source) == n and len(source.classes) == classes
    assert source.load(0).mode == "RGB"
