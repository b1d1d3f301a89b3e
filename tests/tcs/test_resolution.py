import logging

from PIL import Image

from fewshot_tcs.tcs.resolution import choose_image_size


def images(mode, size, n=3):
    return [Image.new(mode, size) for _ in range(n)]


def test_single_channel_images_keep_a_small_input(caplog):
    with caplog.at_level(logging.INFO):
        assert choose_image_size(images("L", (105, 105)), native=224) == 64
    assert "single-channel" in caplog.text and "image_size=" in caplog.text


def test_small_photos_are_upsampled_and_large_ones_get_160():
    assert choose_image_size(images("RGB", (32, 32)), native=224) == 128
    assert choose_image_size(images("RGB", (500, 375)), native=224) == 160
    assert choose_image_size(images("RGB", (500, 375)), native=96) == 96  # never above the pretrained size


def test_mixed_modes_count_as_photographs():
    assert choose_image_size(images("L", (300, 300), 2) + images("RGB", (300, 300), 1), native=224) == 160
