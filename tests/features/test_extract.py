import gc
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_tcs.backbones import create_backbone
from fewshot_tcs.data import ArraySource, FolderSource
from fewshot_tcs.features import FeatureCacheError, FeatureSet, extract_features, pixel_features
from fewshot_tcs.features import extract as features_module
from fewshot_tcs.features.views import ViewTransform

BACKBONE = "timm:resnet10t"


@pytest.fixture
def source():
    images = np.random.default_rng(0).integers(0, 255, (10, 20, 20, 3), dtype=np.uint8)
    return ArraySource(images, np.arange(10) % 2, name="tiny")


@pytest.fixture
def small_backbone():
    return create_backbone(BACKBONE, pretrained=False, seed=0, img_size=32)


class CountingBackbone(torch.nn.Module):
    """Wraps a backbone, counts the images it sees, and can fail after some batches like a killed pass."""

    def __init__(self, inner, fail_after=None):
        super().__init__()
        self.inner, self.fail_after = inner, fail_after
        self.info, self.weights_fingerprint = inner.info, inner.weights_fingerprint
        self.eval_transform = inner.eval_transform
        self.images, self.batches = 0, 0

    def forward(self, x):
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise KeyboardInterrupt
        self.batches += 1
        self.images += len(x)
        return self.inner(x)


@pytest.fixture
def counting(monkeypatch, small_backbone):
    """Make extract_features build CountingBackbones from names."""
    made = []

    def build(name, pretrained, weights, seed):
        made.append(CountingBackbone(small_backbone))
        return made[-1]

    monkeypatch.setattr(features_module, "_build", build)
    return made


def test_features_have_the_advertised_dimension(source, small_backbone, tmp_path):
    fs = extract_features(small_backbone, source, cache_dir=tmp_path, quiet=True, batch_size=4)
    assert fs.values.shape == (10, small_backbone.feature_dim)
    assert fs.ids == source.ids
    expected = small_backbone(torch.stack([small_backbone.eval_transform(source.load(i)) for i in range(10)]))
    np.testing.assert_allclose(fs.values, expected.detach().numpy(), rtol=1e-4, atol=1e-4)


def test_second_call_is_served_from_the_cache_without_building(source, counting, tmp_path):
    first = extract_features(BACKBONE, source, pretrained=False, seed=0, cache_dir=tmp_path, quiet=True)
    assert len(counting) == 1 and counting[0].images == 10
    second = extract_features(BACKBONE, source, pretrained=False, seed=0, cache_dir=tmp_path, quiet=True)
    assert len(counting) == 1, "a cache hit must not build the model"
    np.testing.assert_array_equal(first.values, second.values)
    assert isinstance(second.values, np.memmap)


def test_a_changed_transform_is_a_miss(source, tmp_path):
    a = create_backbone(BACKBONE, pretrained=False, seed=0, img_size=32)
    b = create_backbone(BACKBONE, pretrained=False, seed=0, img_size=40)
    fa = extract_features(a, source, cache_dir=tmp_path, quiet=True)
    fb = extract_features(CountingBackbone(b), source, cache_dir=tmp_path, quiet=True)
    assert fa.meta["cache"] != fb.meta["cache"]
    assert not np.allclose(fa.values, fb.values)


def test_a_changed_file_recomputes_only_that_file(tmp_path, small_backbone):
    root = tmp_path / "imgs"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for k in range(3):
            Image.new("RGB", (16, 16), (40 * k, 80, 10 if c == "a" else 200)).save(root / c / f"{k}.png")
    counting = CountingBackbone(small_backbone)
    before = extract_features(counting, FolderSource(root), cache_dir=tmp_path / "cache", quiet=True)
    before_values = np.array(before.values)
    Image.new("RGB", (16, 16), (255, 0, 0)).save(root / "b" / "1.png")
    counting.images = 0
    after = extract_features(counting, FolderSource(root), cache_dir=tmp_path / "cache", quiet=True)
    assert counting.images == 1
    changed = after.rows(["b/1.png"])[0]
    keep = [i for i in range(6) if i != changed]
    np.testing.assert_array_equal(after.values[keep], before_values[keep])
    assert not np.allclose(after.values[changed], before_values[changed])


def test_a_killed_pass_resumes_with_only_the_missing_items(source, small_backbone, tmp_path):
    dying = CountingBackbone(small_backbone, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        extract_features(dying, source, cache_dir=tmp_path, batch_size=3, quiet=True)
    assert not list(tmp_path.rglob("meta.json")), "an interrupted pass must not look complete"
    resumed = CountingBackbone(small_backbone)
    fs = extract_features(resumed, source, cache_dir=tmp_path, batch_size=3, quiet=True)
    assert resumed.images == 10 - 6
    uninterrupted = extract_features(small_backbone, source, cache=False, batch_size=3, quiet=True)
    np.testing.assert_allclose(fs.values, uninterrupted.values, rtol=1e-5, atol=1e-5)


def test_views_are_seeded_recorded_and_reproducible(source, small_backbone, tmp_path):
    fs = extract_features(small_backbone, source, views=3, view_seed=7, cache_dir=tmp_path, quiet=True)
    assert fs.views.shape == (10, 3, small_backbone.feature_dim)
    assert fs.view_params.shape == (10, 3, 5)
    info = small_backbone.info
    transform = ViewTransform(info.input_size[1:], info.mean, info.std, info.interpolation)
    x = transform(source.load(4), fs.view_params[4, 2])[None]
    np.testing.assert_allclose(fs.views[4, 2], small_backbone(x)[0].detach().numpy(), rtol=1e-4, atol=1e-4)
    again = extract_features(small_backbone, source.subset([4, 5]), views=3, view_seed=7, cache=False, quiet=True)
    np.testing.assert_array_equal(again.view_params[0], fs.view_params[4])
    other_seed = extract_features(small_backbone, source, views=3, view_seed=8, cache=False, quiet=True)
    assert not np.array_equal(other_seed.view_params, fs.view_params)


def test_float16_storage(source, small_backbone, tmp_path):
    fs = extract_features(small_backbone, source, dtype="float16", cache_dir=tmp_path, quiet=True)
    assert fs.values.dtype == np.float16
    assert fs.take(source.ids[:2]).dtype == np.float32


def test_loader_workers_give_the_same_features(source, small_backbone):
    a = extract_features(small_backbone, source, cache=False, num_workers=0, quiet=True)
    b = extract_features(small_backbone, source, cache=False, num_workers=1, quiet=True)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)


def test_a_model_built_from_a_name_is_released(source, monkeypatch, small_backbone, tmp_path):
    refs = []

    def build(name, pretrained, weights, seed):
        model = create_backbone(BACKBONE, pretrained=False, seed=0, img_size=32)
        refs.append(weakref.ref(model))
        return model

    monkeypatch.setattr(features_module, "_build", build)
    extract_features(BACKBONE, source, pretrained=False, seed=0, cache_dir=tmp_path, quiet=True)
    gc.collect()
    assert refs and refs[0]() is None


def test_bad_arguments(source, small_backbone):
    with pytest.raises(ValueError, match="dtype"):
        extract_features(small_backbone, source, dtype="int8")
    with pytest.raises(ValueError, match="views must be >= 0"):
        extract_features(small_backbone, source, views=-1)


def test_feature_set_lookup(source):
    fs = FeatureSet(source.ids, np.arange(20, dtype=np.float32).reshape(10, 2), backbone="x")
    np.testing.assert_array_equal(fs.take(["3", "1"]), [[6, 7], [2, 3]])
    with pytest.raises(KeyError, match="no x features for item 'nope'"):
        fs.rows(["nope"])
    with pytest.raises(ValueError, match="10 ids but 3 feature rows"):
        FeatureSet(source.ids, np.zeros((3, 2)), backbone="x")


def test_pixel_features(source):
    fs = pixel_features(source, size=8, quiet=True)
    assert fs.values.shape == (10, 64) and 0 <= fs.values.min() and fs.values.max() <= 1


@pytest.mark.parametrize("damage", ["truncated features", "bad meta json", "missing features"])
def test_a_damaged_cache_entry_is_an_error_that_names_it_and_the_fix(source, small_backbone, tmp_path, damage):
    first = extract_features(small_backbone, source, cache_dir=tmp_path, quiet=True)
    entry = Path(first.meta["cache"])
    if damage == "truncated features":
        data = (entry / "features.npy").read_bytes()
        (entry / "features.npy").write_bytes(data[: len(data) // 2])
    elif damage == "bad meta json":
        (entry / "meta.json").write_text("{not json")
    else:
        (entry / "features.npy").unlink()
    with pytest.raises(FeatureCacheError, match=f"entry {entry} is damaged .*delete that folder"):
        extract_features(small_backbone, source, cache_dir=tmp_path, quiet=True)


def test_a_damaged_alias_is_only_a_miss(source, counting, tmp_path):
    extract_features(BACKBONE, source, pretrained=False, seed=0, cache_dir=tmp_path, quiet=True)
    for alias in (tmp_path / "features" / "requests").glob("*.json"):
        alias.write_text("{not json")
    again = extract_features(BACKBONE, source, pretrained=False, seed=0, cache_dir=tmp_path, quiet=True)
    assert again.values.shape[0] == 10 and len(counting) == 2, "built again to find the entry; no error"


def test_a_full_disk_is_a_clear_error_before_the_pass(source, small_backbone, tmp_path, monkeypatch):
    import errno
    import os

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(OSError, match="no space left for the feature cache .*FEWSHOT_TCS_CACHE") as caught:
        extract_features(small_backbone, source, cache_dir=tmp_path, quiet=True)
    assert caught.value.errno == errno.ENOSPC


def test_new_cache_files_are_allocated_on_disk(source, small_backbone, tmp_path):
    first = extract_features(small_backbone, source, cache_dir=tmp_path, quiet=True)
    features_file = Path(first.meta["cache"]) / "features.npy"
    assert features_file.stat().st_blocks * 512 >= features_file.stat().st_size, "not a sparse file"


def test_extract_features_takes_every_input_kind_fit_and_predict_take(source, small_backbone, image_folder, tmp_path):
    images = [source.load(i) for i in range(len(source))]
    arrays = np.stack([np.asarray(image) for image in images])
    reference = np.asarray(extract_features(small_backbone, source, cache=False, quiet=True))
    kinds = {
        "pairs": [(image, int(label)) for image, label in zip(images, source.labels, strict=True)],
        "images and labels": (arrays, source.labels),
        "a list of images": images,
        "a batch": arrays,
    }
    for kind, data in kinds.items():
        found = extract_features(small_backbone, data, cache=False, quiet=True)
        np.testing.assert_allclose(np.asarray(found), reference, atol=1e-5, err_msg=kind)
    classes = extract_features(small_backbone, image_folder, cache=False, quiet=True)  # one sub-folder per class
    assert classes.ids == FolderSource(image_folder).ids
    flat = extract_features(small_backbone, image_folder / "ant", cache=False, quiet=True)  # images only
    assert len(flat) == 6


def test_a_feature_set_converts_to_numpy(source):
    features = FeatureSet(source.ids, np.arange(20, dtype=np.float16).reshape(10, 2), backbone="x")
    assert np.asarray(features).dtype == np.float32 and np.asarray(features).shape == (10, 2)
    assert np.asarray(features, dtype=np.float64).dtype == np.float64


def test_the_clean_view_is_the_largest_centred_square():
    from fewshot_tcs.features.views import ViewTransform, centre_square

    assert centre_square(32, 32).tolist() == [0.0, 0.0, 1.0, 1.0, 0.0], "a square image is taken whole, as before"
    top, left, height, width, flip = centre_square(400, 300).tolist()  # landscape: the middle 300 x 300
    assert (top, height, flip) == (0.0, 1.0, 0.0) and left == pytest.approx(0.125) and width == pytest.approx(0.75)
    pixels = np.zeros((300, 400, 3), np.uint8)
    pixels[:, 50:350] = 255  # the centred square is white, the bands beside it black
    view = ViewTransform((16, 16), (0.0,) * 3, (1.0,) * 3)(Image.fromarray(pixels), centre_square(400, 300))
    assert float(view.min()) > 0.99, "no black band squashed into the student's input"
    top, left, height, width, _ = centre_square(400, 300, 0.5).tolist()  # the middle 150 x 150 of that square
    assert (top, left, height, width) == pytest.approx((0.25, 0.3125, 0.5, 0.375))
