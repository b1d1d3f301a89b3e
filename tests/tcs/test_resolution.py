import logging

from PIL import Image

from fewshot_tcs.tcs.resolution import choose_clean_crop, choose_image_size


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


def test_large_photographs_keep_their_pretrained_apparent_object_size(caplog):
    with caplog.at_level(logging.INFO):
        assert choose_clean_crop(images("RGB", (500, 375)), size=160, native=224, crop_pct=0.875) == 0.625
    assert "clean_crop=" in caplog.text and "0.625" in caplog.text
    assert choose_clean_crop(images("RGB", (500, 375)), size=224, native=224, crop_pct=0.875) == 0.875


def test_small_photos_and_characters_are_taken_whole():
    assert choose_clean_crop(images("RGB", (32, 32)), size=128, native=224, crop_pct=0.875) == 1.0
    # 0.625 of 200 px would be 125 px, upsampled to 160: taken whole instead
    assert choose_clean_crop(images("RGB", (260, 200)), size=160, native=224, crop_pct=0.875) == 1.0
    assert choose_clean_crop(images("L", (500, 500)), size=64, native=224, crop_pct=0.875) == 1.0
    assert choose_clean_crop(images("RGB", (500, 375)), size=224, native=160, crop_pct=0.95) == 1.0  # never above 1
    large = images("RGB", (500, 375))
    assert choose_clean_crop(large, size=160, native=224, crop_pct=0.875, pretrained=False) == 1.0, "no scale to keep"
