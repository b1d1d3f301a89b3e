import zipfile

import numpy as np
import pytest

from fewshot_tcs.data import OmniglotSource, load_source, omniglot


def test_small1_and_small2_hold_each_character_once(omniglot_small):
    assert len(omniglot_small.classes) == 242
    assert len(omniglot_small) == 242 * 20
    assert set(omniglot_small.class_counts().values()) == {20}
    assert omniglot_small.ids[0] == "Balinese/character01/0108_01.png"
    assert omniglot_small.classes[0] == "Balinese/character01"


def test_each_zip_alone(omniglot_dir):
    small1 = omniglot("small1", root=omniglot_dir)
    small2 = omniglot("small2", root=omniglot_dir)
    shared = {c for c in small1.classes if c.split("/")[0] in ("Greek", "Latin")}
    assert shared <= set(small2.classes)
    assert len(small1.classes) + len(small2.classes) - len(shared) == 242


def test_images_load_lazily_as_105px(omniglot_small):
    image = omniglot_small.load(123)
    assert image.size == (105, 105)
    assert "crc" in omniglot_small.identity(123)


def test_extracted_folder_equals_zip(omniglot_dir, tmp_path):
    with zipfile.ZipFile(omniglot_dir / "images_background_small2.zip") as archive:
        archive.extractall(tmp_path)
    from_folder = OmniglotSource([tmp_path / "images_background_small2"])
    from_zip = OmniglotSource([omniglot_dir / "images_background_small2.zip"])
    assert from_folder.fingerprint() == from_zip.fingerprint()
    assert np.array_equal(np.asarray(from_folder.load(7)), np.asarray(from_zip.load(7)))


def test_named_source_found_through_data_roots(omniglot_dir, monkeypatch):
    monkeypatch.setenv("FEWSHOT_TCS_DATA", str(omniglot_dir.parent))
    assert len(load_source("omniglot-small").classes) == 242


def test_missing_archive_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="images_background.zip not found .* FEWSHOT_TCS_DATA"):
        omniglot("background", root=tmp_path)
    with pytest.raises(ValueError, match="unknown Omniglot subset"):
        omniglot("huge")


def test_sources_pickle_without_open_zip_handles(omniglot_small):
    import pickle

    omniglot_small.load(0)
    clone = pickle.loads(pickle.dumps(omniglot_small))
    assert np.array_equal(np.asarray(clone.load(0)), np.asarray(omniglot_small.load(0)))
