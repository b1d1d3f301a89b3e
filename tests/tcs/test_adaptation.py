import logging

from PIL import Image

from fewshot_tcs.tcs.adaptation import (
    PHOTO_LR,
    PHOTO_WEIGHT_INTERPOLATION,
    SCRATCH_LR,
    SCRATCH_LR_PAPER_OBJECTIVE,
    SINGLE_CHANNEL_LR,
    choose_bn_stats,
    choose_lr,
    choose_train_stages,
    choose_weight_interpolation,
)


def images(mode, n=3):
    return [Image.new(mode, (105, 105)) for _ in range(n)]


def test_a_pretrained_student_on_photographs_fine_tunes_its_last_stages(caplog):
    with caplog.at_level(logging.INFO):
        assert choose_train_stages(images("RGB"), pretrained=True, objective="tcs-kd") == 3
        assert choose_train_stages(images("RGB"), pretrained=True, objective="ce") == 3
        assert choose_train_stages(images("RGB"), pretrained=True, objective="tcs") == 2, "the paper's objective"
        assert choose_lr(images("RGB"), pretrained=True, objective="tcs-kd") == PHOTO_LR
    assert "train_stages=" in caplog.text and "lr=" in caplog.text


def test_a_pretrained_student_keeps_its_batch_norm_statistics_on_photographs_except_under_the_papers_objective(caplog):
    with caplog.at_level(logging.INFO):
        assert choose_bn_stats(images("RGB"), pretrained=True, objective="tcs-kd") == "pretrained"
        assert choose_bn_stats(images("L"), pretrained=True, objective="tcs-kd") == "measured"
        assert choose_bn_stats(images("RGB"), pretrained=False, objective="tcs-kd") == "measured"
        assert choose_bn_stats(images("RGB"), pretrained=True, objective="tcs") == "measured"
        assert choose_bn_stats(images("RGB"), pretrained=True, objective="ce") == "pretrained"
    assert caplog.text.count("bn_stats=") == 5


def test_a_pretrained_student_keeps_part_of_its_training_on_photographs_under_a_coordinate_objective(caplog):
    with caplog.at_level(logging.INFO):
        for objective in ("tcs-kd", "tcs"):
            assert choose_weight_interpolation(images("RGB"), True, objective) == PHOTO_WEIGHT_INTERPOLATION < 1
        assert choose_weight_interpolation(images("RGB"), True, "ce") == 1, "its head starts random"
        assert choose_weight_interpolation(images("L"), True, "tcs-kd") == 1
        assert choose_weight_interpolation(images("RGB"), False, "tcs-kd") == 1
    assert caplog.text.count("weight_interpolation=") == 5


def test_single_channel_images_train_the_whole_student_faster(caplog):
    with caplog.at_level(logging.INFO):
        assert choose_train_stages(images("L"), pretrained=True, objective="tcs") is None
        assert choose_lr(images("L"), pretrained=True, objective="tcs-kd") == SINGLE_CHANNEL_LR > PHOTO_LR
    assert "single-channel" in caplog.text and "whole network" in caplog.text


def test_a_student_from_scratch_trains_whole_and_mixed_modes_count_as_photographs():
    assert choose_train_stages(images("RGB"), pretrained=False, objective="tcs") is None
    mixed = images("L", 2) + images("RGB", 1)
    assert choose_train_stages(mixed, pretrained=True, objective="tcs-kd") == 3
    assert choose_lr(mixed, pretrained=True, objective="tcs-kd") == PHOTO_LR


def test_a_student_from_scratch_learns_at_a_far_larger_rate_gentler_under_the_paper_objective(caplog):
    with caplog.at_level(logging.INFO):
        for mode in ("RGB", "L"):
            assert choose_lr(images(mode), pretrained=False, objective="tcs-kd") == SCRATCH_LR
            assert choose_lr(images(mode), pretrained=False, objective="ce") == SCRATCH_LR
            assert choose_lr(images(mode), pretrained=False, objective="tcs") == SCRATCH_LR_PAPER_OBJECTIVE
    assert SCRATCH_LR > SCRATCH_LR_PAPER_OBJECTIVE > SINGLE_CHANNEL_LR
    assert "from scratch" in caplog.text
