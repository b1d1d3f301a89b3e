import pytest
from PIL import Image

from fewshot_tcs.data import FileListSource, cub, load_source
from fewshot_tcs.data.cub import split_of


@pytest.fixture
def cub_root(tmp_path):
    """``root/CUB_200_2011`` as the official archive extracts: the three index files and ``images/<class>/``, with
    one image per class and a second one for class 004 (ids listed out of folder order, as in images.txt)."""
    folder = tmp_path / "CUB_200_2011"
    classes = [f"{c:03d}.Bird_{c}" for c in range(1, 201)]
    items = [(c, f"{name}/Bird_{c}_0001.jpg") for c, name in enumerate(classes, 1)]
    items = [(4, f"{classes[3]}/Bird_4_2.jpg"), *items[::-1]]
    for c, path in items:
        (folder / "images" / path).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (7, 4), (c, 0, 0)).save(folder / "images" / path)
    (folder / "classes.txt").write_text("".join(f"{c} {name}\n" for c, name in enumerate(classes, 1)))
    (folder / "images.txt").write_text("".join(f"{k} {path}\n" for k, (_, path) in enumerate(items, 1)))
    (folder / "image_class_labels.txt").write_text("".join(f"{k} {c}\n" for k, (c, _) in enumerate(items, 1)))
    return tmp_path


def test_chen_split_rule():
    assert [split_of(i) for i in range(8)] == ["train", "val", "train", "test"] * 2
    assert [sum(split_of(i) == s for i in range(200)) for s in ("train", "val", "test")] == [100, 50, 50]


def test_standard_split_sizes_and_classes(cub_root):
    seen = set()
    for split, n_classes in {"train": 100, "val": 50, "test": 50}.items():
        source = cub(split, root=cub_root)
        assert isinstance(source, FileListSource) and (source.name, source.split) == ("cub", split)
        assert len(source.classes) == n_classes
        assert not seen & set(source.classes)
        seen |= set(source.classes)
    assert len(seen) == 200
    assert cub("train", root=cub_root).classes[:2] == ("001.Bird_1", "003.Bird_3")
    assert cub("val", root=cub_root).classes[:2] == ("002.Bird_2", "006.Bird_6")
    assert cub("test", root=cub_root).class_counts()["004.Bird_4"] == 2


def test_ids_are_relative_to_the_dataset_folder_and_images_load(cub_root):
    source = load_source("cub", split="test", root=cub_root / "CUB_200_2011")
    assert source.ids[:2] == ("images/004.Bird_4/Bird_4_2.jpg", "images/200.Bird_200/Bird_200_0001.jpg")
    i = source.index_of(["images/004.Bird_4/Bird_4_2.jpg"])[0]
    assert source.classes[source.labels[i]] == "004.Bird_4"
    image = source.load(i)
    assert image.size == (7, 4) and abs(image.getpixel((3, 2))[0] - 4) <= 3
    assert cub("test", root=cub_root).fingerprint() == source.fingerprint()


def test_found_through_data_roots(cub_root, monkeypatch):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(cub_root))
    assert len(load_source("cub", split="val")) == 50


def test_missing_data_says_what_where_and_how(tmp_path, offline):
    with pytest.raises(FileNotFoundError, match=r"CUB_200_2011/\{images.txt,.*not found in .*empty.*download=True"):
        cub("test", root=tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="could not be downloaded: network is unreachable"):
        cub("test", root=tmp_path / "empty", download=True)
    args, kwargs = offline[0]
    assert args[0].startswith("https://data.caltech.edu/") and kwargs["md5"] == "97eceeb196236b17998738112f37df78"


def test_broken_copies_and_bad_split(cub_root):
    folder = cub_root / "CUB_200_2011"
    with pytest.raises(ValueError, match=r"one of \['train', 'val', 'test'\]; got 'novel'"):
        cub("novel", root=cub_root)
    (folder / "images" / "001.Bird_1" / "Bird_1_0001.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="1 of 100 listed images are missing .*Bird_1_0001.jpg"):
        cub("train", root=cub_root)
    (folder / "image_class_labels.txt").write_text("1 1\n")
    with pytest.raises(ValueError, match="image 2 .* has no valid class"):
        cub("val", root=cub_root)
