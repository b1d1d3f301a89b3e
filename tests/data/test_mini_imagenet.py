import logging

import numpy as np
import pytest
from PIL import Image

from fewshot_tcs.data import FileListSource, HFClassSplitSource, HFSource, load_source, mini_imagenet
from fewshot_tcs.data.mini_imagenet import SPLIT_WNIDS

SIZES = {"train": 64, "val": 16, "test": 20}


def jpeg(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (6, 5), (value, 0, 0)).save(path)


@pytest.fixture
def csv_root(tmp_path):
    """Ravi-Larochelle's layout: ``images/<wnid><8 digits>.jpg`` and ``{train,val,test}.csv``, 2 images per class."""
    root = tmp_path / "miniImagenet"
    for split, wnids in SPLIT_WNIDS.items():
        rows = ["filename,label"]
        for c, wnid in enumerate(wnids):
            for k in (1, 2):
                name = f"{wnid}{k:08d}.jpg"
                jpeg(root / "images" / name, c)
                rows.append(f"{name},{wnid}")
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return root


def test_csv_layout_has_the_standard_splits(csv_root, caplog):
    seen = set()
    for split, n_classes in SIZES.items():
        source = mini_imagenet(split, root=csv_root)
        assert isinstance(source, FileListSource) and source.name == "mini-imagenet"
        assert len(source.classes) == n_classes and set(source.class_counts().values()) == {2}
        assert not seen & set(source.classes)
        seen |= set(source.classes)
    assert len(seen) == 100
    assert "differ" not in caplog.text


def test_csv_ids_are_relative_and_images_load(csv_root):
    source = load_source("mini-imagenet", split="test", root=csv_root)
    assert source.ids[0] == "images/n0193011200000001.jpg"
    assert source.classes[source.labels[0]] == "n01930112"
    image = source.load(source.index_of(["images/n0198127600000002.jpg"])[0])
    assert image.size == (6, 5) and image.getpixel((0, 0))[0] < 5  # class 1 of test, up to JPEG error


def test_folder_layout(tmp_path):
    root = tmp_path / "mini"
    for wnid in SPLIT_WNIDS["val"]:
        jpeg(root / "val" / wnid / f"{wnid}_1.jpg", 9)
    source = mini_imagenet("val", root=root)
    assert len(source.classes) == 16 and len(source) == 16
    assert source.ids[0] == "val/n01855672/n01855672_1.jpg"
    assert source.load(3).mode == "RGB"


def test_found_through_data_roots(csv_root, monkeypatch):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(csv_root.parent))
    assert len(load_source("mini-imagenet", split="val").classes) == 16


def test_other_classes_warn_and_broken_copies_fail(csv_root, caplog):
    (csv_root / "test.csv").write_text("filename,label\nn0193011200000001.jpg,n01930112\n")
    with caplog.at_level(logging.WARNING):
        assert len(mini_imagenet("test", root=csv_root)) == 1
    assert "differ from the Ravi-Larochelle split" in caplog.text
    (csv_root / "val.csv").write_text("file,wnid\n")
    with pytest.raises(ValueError, match="expected a header 'filename,label'"):
        mini_imagenet("val", root=csv_root)
    (csv_root / "images" / "n0153282900000002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="1 of 128 listed images are missing .*images/n0153282900000002.jpg"):
        mini_imagenet("train", root=csv_root)


def test_missing_copy_and_offline_hub(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"expected images/<file> with test.csv .* download=True"):
        mini_imagenet("test")
    with pytest.raises(FileNotFoundError, match="hub fallback failed too: .*network is unreachable"):
        mini_imagenet("test", download=True)
    assert offline[0][0][0] == "timm/mini-imagenet"
    with pytest.raises(ValueError, match=r"one of \['train', 'val', 'test'\]; got 'novel'"):
        mini_imagenet("novel")


@pytest.fixture(scope="module")
def hub_like():
    """Like ``timm/mini-imagenet``: all 100 classes in every split, one image of each per split."""
    datasets = pytest.importorskip("datasets")
    names = sorted(w for wnids in SPLIT_WNIDS.values() for w in wnids)
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=names)})
    part = {
        "image": [Image.new("RGB", (3, 3), (c, c, c)) for c in range(100)],
        "label": list(range(100)),
    }
    return datasets.DatasetDict(
        {split: datasets.Dataset.from_dict(part, features=features) for split in ("train", "validation")}
    )


def test_hugging_face_rows_are_grouped_into_the_split(hub_like):
    source = mini_imagenet("test", root=hub_like)
    assert isinstance(source, HFClassSplitSource) and source.name == "mini-imagenet@hf"
    assert len(source.classes) == 20 and set(source.class_counts().values()) == {2}
    first = hub_like["train"].features["label"].names.index("n01930112")
    assert source.ids[:2] == (f"train/{first}", f"train/{first + 1}")
    assert source.ids[20] == f"validation/{first}"
    assert source.load(0).getpixel((1, 1)) == (first, first, first)


def test_hf_name_loads_through_datasets(hub_like, monkeypatch):
    import datasets

    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: calls.append((a, kw)) or hub_like)
    source = mini_imagenet("val", root="hf:someone/mini")
    assert calls[0][0] == ("someone/mini",) and source.name == "mini-imagenet@hf:someone/mini"
    assert len(source.classes) == 16
    without = datasets.DatasetDict({"train": hub_like["train"].filter(lambda row: row["label"] != 0)})
    with pytest.raises(ValueError, match="lacks 1 of the 64 train classes .*n01532829"):
        mini_imagenet("train", root=without)


def test_hf_prefix_in_load_source(tmp_path, monkeypatch, caplog):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "img": datasets.Image(),
            "fine_label": datasets.ClassLabel(names=["a", "b"]),
            "coarse_label": datasets.ClassLabel(names=["x"]),
        }
    )
    table = datasets.Dataset.from_dict(
        {"img": [Image.new("L", (2, 2))] * 3, "fine_label": [1, 0, 1], "coarse_label": [0, 0, 0]}, features=features
    )
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: calls.append((a, kw)) or table)
    source = load_source("hf:owner/cifar", split="test", root=tmp_path)
    assert isinstance(source, HFSource) and (source.name, source.split) == ("hf:owner/cifar", "test")
    assert calls == [(("owner/cifar",), {"split": "test", "cache_dir": str(tmp_path)})]
    assert np.array_equal(source.labels, [1, 0, 1]) and source.classes == ("a", "b")
    assert "using 'fine_label' as the label column" in caplog.text
    with pytest.raises(ValueError, match="needs a split"):
        load_source("hf:owner/cifar")


def test_hf_prefix_offline(offline):
    with pytest.raises(FileNotFoundError, match="'owner/name' could not be loaded: network is unreachable"):
        load_source("hf:owner/name", split="train")


def test_hf_prefix_reads_a_local_dataset_folder(tmp_path):
    """The real ``datasets.load_dataset`` path, on a folder of parquet files as a hub repo holds them."""
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b"])})
    rows = {"image": [Image.new("RGB", (2, 3), (k, k, k)) for k in range(4)], "label": [0, 1, 1, 0]}
    (tmp_path / "repo" / "data").mkdir(parents=True)
    datasets.Dataset.from_dict(rows, features=features).to_parquet(tmp_path / "repo/data/test-00000-of-00001.parquet")
    source = load_source(f"hf:{tmp_path / 'repo'}", split="test", root=tmp_path / "cache")
    assert source.classes == ("a", "b") and source.labels.tolist() == [0, 1, 1, 0]
    assert source.load(2).getpixel((1, 1)) == (2, 2, 2)
