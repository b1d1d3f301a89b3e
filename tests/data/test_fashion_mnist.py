import gzip

import numpy as np
import pytest

from fewshot_tcs.data import FashionMNISTSource
from fewshot_tcs.data.fashion_mnist import DEBIAN_DIR, read_idx


def write_idx(path, array, compress):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture(params=[True, False], ids=["gz", "raw"])
def torchvision_root(tmp_path, request):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    suffix = ".gz" if request.param else ""
    pixels = np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256
    write_idx(raw / f"t10k-images-idx3-ubyte{suffix}", pixels, request.param)
    write_idx(raw / f"t10k-labels-idx1-ubyte{suffix}", np.array([9, 0, 0, 3, 2]), request.param)
    return tmp_path, pixels


def test_reads_a_torchvision_root(torchvision_root):
    root, pixels = torchvision_root
    source = FashionMNISTSource("test", root=root)
    assert len(source) == 5
    assert source.ids[1] == "test/1"
    assert source.classes[9] == "Ankle boot"
    assert source.labels.tolist() == [9, 0, 0, 3, 2]
    image = source.load(2)
    assert image.size == (28, 28) and image.mode == "L"
    assert np.array_equal(np.asarray(image), pixels[2].astype(np.uint8))


def test_truncated_idx_is_an_error(tmp_path):
    path = tmp_path / "x-images-idx3-ubyte"
    write_idx(path, np.zeros((3, 4, 4)), compress=False)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_missing_files_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        FashionMNISTSource("test", root=tmp_path)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        FashionMNISTSource("val", root=tmp_path)


@pytest.mark.skipif(not DEBIAN_DIR.exists(), reason=f"Debian's dataset-fashion-mnist is not installed ({DEBIAN_DIR})")
def test_debian_package_files():
    source = FashionMNISTSource("test")
    assert len(source) == 10_000
    assert set(source.class_counts().values()) == {1000}
