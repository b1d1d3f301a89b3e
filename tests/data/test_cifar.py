import hashlib
import itertools
import pickle

import numpy as np
import pytest

from fewshot_tcs.data import CIFAR100Source, cifar_fs, fc100, load_source
from fewshot_tcs.data.cifar import CIFAR_FS_CLASSES, FC100_SUPERCLASSES, SUPERCLASSES

# The official meta file's orders (both alphabetical).
FINE = """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can
castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant
flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree
motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy
porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel
streetcar sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale
willow_tree wolf woman worm""".split()
COARSE = sorted(SUPERCLASSES)
PER_CLASS = {"train": 2, "test": 1}


def pickle_part(path, part):
    """A CIFAR-100 pickle as the official one is laid out: image j of class c at row j * 100 + c.

    Pixels encode where they come from: red = fine label, green = row, blue = 0 (train) or 255 (test).
    """
    n = 100 * PER_CLASS[part]
    fine = [k % 100 for k in range(n)]
    planes = np.zeros((n, 3, 32 * 32), np.uint8)
    planes[:, 0] = np.array(fine)[:, None]
    planes[:, 1] = np.arange(n)[:, None]
    planes[:, 2] = 0 if part == "train" else 255
    coarse_of = {c: COARSE.index(s) for s, members in SUPERCLASSES.items() for c in members}
    entry = {
        "filenames": [f"img_{k}.png" for k in range(n)],
        "batch_label": f"{part}ing batch 1 of 1",
        "fine_labels": fine,
        "coarse_labels": [coarse_of[FINE[f]] for f in fine],
        "data": planes.reshape(n, 3072),
    }
    path.write_bytes(pickle.dumps(entry, protocol=2))


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    """``root/cifar-100-python/{train,test,meta}`` with 2 + 1 images of every class; torchvision is told their MD5
    sums, as it knows the official ones."""
    from torchvision.datasets import CIFAR100

    folder = tmp_path / "data" / "cifar-100-python"
    folder.mkdir(parents=True)
    for part in ("train", "test"):
        pickle_part(folder / part, part)
    meta = {"fine_label_names": FINE, "coarse_label_names": COARSE}
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    md5 = {f: hashlib.md5((folder / f).read_bytes()).hexdigest() for f in ("train", "test", "meta")}
    monkeypatch.setattr(CIFAR100, "train_list", [["train", md5["train"]]])
    monkeypatch.setattr(CIFAR100, "test_list", [["test", md5["test"]]])
    monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": md5["meta"]})
    return tmp_path / "data"


def test_split_lists_partition_cifar100():
    assert sorted(itertools.chain(*SUPERCLASSES.values())) == FINE
    assert sorted(itertools.chain(*CIFAR_FS_CLASSES.values())) == FINE
    assert sorted(itertools.chain(*FC100_SUPERCLASSES.values())) == COARSE
    assert [len(FC100_SUPERCLASSES[s]) for s in ("train", "val", "test")] == [12, 4, 4]


@pytest.mark.parametrize(
    ("make", "sizes"), [(cifar_fs, {"train": 64, "val": 16, "test": 20}), (fc100, {"train": 60, "val": 20, "test": 20})]
)
def test_standard_split_sizes_pool_train_and_test(cifar_root, make, sizes):
    seen = set()
    for split, n_classes in sizes.items():
        source = make(split, root=cifar_root)
        assert isinstance(source, CIFAR100Source) and source.split == split
        assert len(source.classes) == n_classes
        assert set(source.class_counts().values()) == {3}  # 2 train + 1 test images per class
        assert not seen & set(source.classes)
        seen |= set(source.classes)
    assert sorted(seen) == FINE


def test_fc100_keeps_superclasses_whole(cifar_root):
    coarse_of = {c: s for s, members in SUPERCLASSES.items() for c in members}
    by_split = {s: {coarse_of[c] for c in fc100(s, root=cifar_root).classes} for s in ("train", "val", "test")}
    assert by_split["test"] == {"aquatic_mammals", "insects", "medium_mammals", "people"}
    assert [len(v) for v in by_split.values()] == [12, 4, 4]


def test_ids_name_the_pickle_row_and_images_load(cifar_root):
    source = cifar_fs("test", root=cifar_root)
    baby = FINE.index("baby")
    rows = np.flatnonzero(source.labels == source.classes.index("baby"))
    assert [source.ids[k] for k in rows] == [f"train/{baby}", f"train/{100 + baby}", f"test/{baby}"]
    i = source.index_of([f"train/{100 + baby}"])[0]
    image = source.load(i)
    assert image.size == (32, 32) and image.mode == "RGB"
    assert image.getpixel((5, 7)) == (baby, 100 + baby, 0)
    assert source.load(rows[2]).getpixel((0, 0)) == (baby, baby, 255)
    again = load_source("cifar-fs", split="test", root=cifar_root)
    assert again.ids == source.ids and again.fingerprint() == source.fingerprint()
    assert source.identity(i) == again.identity(i) != source.identity(0)


def test_found_through_data_roots_and_folder_itself(cifar_root, monkeypatch):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(cifar_root))
    assert len(load_source("fc100", split="val").classes) == 20
    assert len(cifar_fs("val", root=cifar_root / "cifar-100-python").classes) == 16


def test_missing_data_says_what_where_and_how(tmp_path, offline):
    with pytest.raises(FileNotFoundError, match=r"cifar-100-python/train.*not found in .*empty.*download=True"):
        cifar_fs("test", root=tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="could not be downloaded .*network is unreachable"):
        fc100("test", root=tmp_path / "empty", download=True)
    assert "cifar-100-python.tar.gz" in offline[0][0][0]


def test_corrupt_pickle_is_not_unpickled(cifar_root):
    train = cifar_root / "cifar-100-python" / "train"
    train.write_bytes(train.read_bytes()[:-1] + b"\x00")
    with pytest.raises(OSError, match="do not match the official MD5"):
        cifar_fs("test", root=cifar_root)


def test_split_names_are_validated(cifar_root):
    with pytest.raises(ValueError, match=r"one of \['train', 'val', 'test'\]; got 'validation'"):
        cifar_fs("validation", root=cifar_root)
    with pytest.raises(ValueError, match="FC100 split"):
        load_source("fc100", split="novel", root=cifar_root)
