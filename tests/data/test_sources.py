import os

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_tcs.data import (
    ArraySource,
    FolderSource,
    HFSource,
    ImageLoadError,
    ListSource,
    ToRGB,
    as_source,
    load_source,
    write_folder,
)


def test_folder_source_ids_classes_and_lazy_modes(image_folder):
    source = FolderSource(image_folder)
    assert source.classes == ("ant", "bee", "cat", "dog")
    assert len(source) == 24
    assert source.ids[0] == "ant/0.png"
    assert source.class_counts() == {"ant": 6, "bee": 6, "cat": 6, "dog": 6}
    assert [source.load(i).mode for i in range(3)] == ["RGB", "L", "RGBA"]
    image, label = source[7]
    assert label == 1 and isinstance(image, Image.Image)


def test_transform_turns_every_mode_into_rgb(image_folder):
    source = FolderSource(image_folder, transform=ToRGB())
    assert {source[i][0].mode for i in range(len(source))} == {"RGB"}


def test_rgba_transparency_becomes_white():
    clear = Image.new("RGBA", (2, 2), (0, 0, 0, 0))
    assert ToRGB()(clear).getpixel((0, 0)) == (255, 255, 255)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FolderSource(tmp_path / "nope")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="no images found .* one sub-folder per class"):
        FolderSource(tmp_path)


def test_loose_images_are_ignored_with_a_warning(image_folder, caplog):
    Image.new("RGB", (4, 4)).save(image_folder / "stray.png")
    source = FolderSource(image_folder)
    assert len(source) == 24
    assert "no class sub-folder" in caplog.text


def test_corrupt_image_error_names_the_file(image_folder):
    bad = image_folder / "bee" / "broken.png"
    bad.write_bytes(b"not a png at all")
    source = FolderSource(image_folder)
    i = source.ids.index("bee/broken.png")
    with pytest.raises(ImageLoadError, match="broken.png"):
        source.load(i)
    problems = source.verify()
    assert len(problems) == 1 and "broken.png" in problems[0]


def test_identity_changes_when_the_file_changes(image_folder):
    source = FolderSource(image_folder)
    before = source.identity(0)
    path = image_folder / source.ids[0]
    Image.new("RGB", (30, 30), (1, 2, 3)).save(path)
    os.utime(path, ns=(1, 1))
    assert source.identity(0) != before


def test_fingerprint_depends_on_items(image_folder):
    a = FolderSource(image_folder).fingerprint()
    (image_folder / "dog" / "0.png").unlink()
    assert FolderSource(image_folder).fingerprint() != a


def test_list_source_takes_paths_pil_images_and_arrays(image_folder):
    items = [
        (image_folder / "ant" / "0.png", "ant"),
        (Image.new("L", (5, 5)), "bee"),
        (np.zeros((5, 5, 3), np.uint8), "ant"),
        (torch.rand(3, 6, 6), "bee"),
    ]
    source = ListSource(items)
    assert source.classes == ("ant", "bee")
    assert source.labels.tolist() == [0, 1, 0, 1]
    assert source.ids[0] == str(image_folder / "ant" / "0.png") and source.ids[1] == "1"
    assert [source.load(i).size for i in range(4)] == [(10, 12), (5, 5), (5, 5), (6, 6)]


def test_list_source_bad_items():
    with pytest.raises(ValueError, match="item 0 must be an \\(image, label\\) pair"):
        ListSource([np.zeros((2, 2))])
    with pytest.raises(ValueError, match="item 1 must be a path, PIL image or array"):
        ListSource([(np.zeros((2, 2)), 0), (42, 1)])
    with pytest.raises(ImageLoadError, match="missing.png"):
        ListSource([("missing.png", 0), ("other.png", 1)]).load(0)


def test_numeric_labels_sort_numerically():
    source = ListSource([(np.zeros((2, 2)), label) for label in (10, 2, 10)])
    assert source.classes == ("2", "10")
    assert source.labels.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "images",
    [
        np.random.default_rng(0).integers(0, 255, (6, 8, 8), dtype=np.uint8),
        np.random.default_rng(0).integers(0, 255, (6, 8, 8, 3), dtype=np.uint8),
        torch.rand(6, 3, 8, 8),
        torch.rand(6, 1, 8, 8),
    ],
    ids=["numpy-gray", "numpy-rgb", "torch-chw", "torch-1hw"],
)
def test_array_source_shapes(images):
    source = ArraySource(images, [0, 1, 2, 0, 1, 2], class_names=["a", "b", "c"])
    assert source.load(0).size == (8, 8)
    assert source.classes == ("a", "b", "c")
    assert source.identity(0) != source.identity(1)


def test_arrays_and_labels_of_different_lengths():
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        ArraySource(np.zeros((5, 4, 4), np.uint8), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        as_source(["a.png", "b.png", "c.png"], labels=[0, 1])


def test_bad_array_image_shape():
    source = ArraySource(np.zeros((2, 4, 4, 5), np.uint8), [0, 1])
    with pytest.raises(ImageLoadError, match="must be \\(H, W\\)"):
        source.load(0)


def test_hugging_face_dataset():
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"img": datasets.Image(), "y": datasets.ClassLabel(names=["cat", "dog"])})
    ds = datasets.Dataset.from_dict(
        {"img": [Image.new("RGB", (4, 4), (k, k, k)) for k in range(4)], "y": [0, 1, 1, 0]}, features=features
    )
    source = as_source(ds, image_column="img", label_column="y")
    assert isinstance(source, HFSource)
    assert source.classes == ("cat", "dog")
    assert source.labels.tolist() == [0, 1, 1, 0]
    assert source.load(2).getpixel((0, 0)) == (2, 2, 2)
    with pytest.raises(ValueError, match="no label column 'label'; its columns are"):
        HFSource(ds, image_column="img")


def test_as_source_dispatch(image_folder):
    assert isinstance(as_source(image_folder), FolderSource)
    assert isinstance(as_source(str(image_folder)), FolderSource)
    assert isinstance(as_source(f"folder:{image_folder}"), FolderSource)
    assert isinstance(as_source((np.zeros((2, 3, 3), np.uint8), np.array([0, 1]))), ArraySource)
    assert isinstance(as_source([(np.zeros((3, 3)), "x"), (np.zeros((3, 3)), "y")]), ListSource)
    with pytest.raises(TypeError, match="cannot make labelled images from int"):
        as_source(3)
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        as_source("/no/such/place")


def test_unknown_dataset_name_suggests():
    with pytest.raises(ValueError, match="Did you mean"):
        load_source("omniglot-smal")


def test_subset_keeps_ids_and_labels(image_folder):
    source = FolderSource(image_folder)
    sub = source.subset([5, 6]).subset([1])
    assert sub.ids == (source.ids[6],)
    assert sub.labels.tolist() == [source.labels[6]]
    assert sub.describe(0) == source.describe(6)


def test_train_test_split_is_stratified_and_disjoint(image_folder):
    source = FolderSource(image_folder)
    train, test = source.train_test_split(test_size=0.5, seed=0)
    assert set(train.ids).isdisjoint(test.ids) and len(train) + len(test) == len(source)
    assert train.class_counts() == test.class_counts() == {name: 3 for name in source.classes}
    again, _ = source.train_test_split(test_size=0.5, seed=0)
    assert again.ids == train.ids


def test_write_folder_round_trips_through_folder_source(image_folder, tmp_path):
    root = write_folder(image_folder, tmp_path / "copy", n_classes=3, per_class=4, seed=1)
    copy = FolderSource(root)
    assert len(copy.classes) == 3 and set(copy.classes) <= {"ant", "bee", "cat", "dog"}
    assert copy.class_counts() == {name: 4 for name in copy.classes}
    assert copy.load(0).size == (10, 12)


def test_write_folder_flattens_class_names_with_slashes(tmp_path):
    pixels = np.zeros((4, 5, 5), np.uint8)
    source = ArraySource(pixels, [0, 0, 1, 1], class_names=["Latin/a", "Latin/b"])
    assert sorted(p.name for p in write_folder(source, tmp_path / "out").iterdir()) == ["Latin__a", "Latin__b"]


def test_write_folder_bad_counts(image_folder, tmp_path):
    with pytest.raises(ValueError, match="n_classes must be between 1 and 4"):
        write_folder(image_folder, tmp_path / "a", n_classes=9)
    with pytest.raises(ValueError, match="has 6 images; per_class=7"):
        write_folder(image_folder, tmp_path / "b", per_class=7)


@pytest.mark.parametrize(
    "labels, message",
    [
        ([1, "1", 2, "two"], "labels of types int and str both read as class '1'"),
        ([0, 1, float("nan"), 1], r"label 2 is nan: labels must be class names \(str\) or integer indices"),
        ([0, 1, None, 1], "label 2 is None"),
        ([0, 1.5, 1, 0], "label 1 is 1.5"),
        ([True, False, True, False], "label 0 is True"),
    ],
)
def test_labels_that_are_not_classes_are_refused(labels, message):
    pixels = np.zeros((4, 8, 8), np.uint8)
    with pytest.raises(ValueError, match=message):
        as_source(pixels, labels)
    with pytest.raises(ValueError, match=message):
        as_source(list(pixels), labels)


def test_whole_float_labels_are_the_integer_classes():
    source = as_source(np.zeros((4, 8, 8), np.uint8), np.array([0.0, 2.0, 2.0, 10.0]))
    assert tuple(source.classes) == ("0", "2", "10") and list(source.labels) == [0, 1, 1, 2]


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    from fewshot_tcs.data.source import read_image

    ramp = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (8, 1))
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    pixels = np.asarray(read_image(tmp_path / "deep.png").convert("L"))
    np.testing.assert_allclose(pixels, ramp / 257, atol=1)
    assert (pixels == 255).mean() < 0.05, "only the top of the ramp is white"


def test_uint16_arrays_are_16_bit_images():
    ramp = np.tile(np.linspace(0, 65535, 16).astype(np.uint16), (8, 1))
    image = as_source(ramp[None], ["a"]).load(0)
    np.testing.assert_allclose(np.asarray(image.convert("L")), ramp / 257, atol=1)


@pytest.mark.parametrize(
    "pixels",
    [
        np.random.default_rng(0).normal(size=(8, 8, 3)).astype(np.float32),  # standardised: mean 0, std 1
        np.full((8, 8), 300.0),
        np.full((8, 8), -3, dtype=np.int32),
    ],
    ids=["standardised", "above-255", "negative-int"],
)
def test_values_that_cannot_be_pixels_are_refused(pixels):
    with pytest.raises(ImageLoadError, match="pixels are floats in \\[0, 1\\] or values in \\[0, 255\\]"):
        as_source(pixels[None], ["a"]).load(0)
