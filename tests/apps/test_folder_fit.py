"""fit_folder's choice of what ships and its report line, apart from a whole fit through the CLI
(tests/apps/test_cli.py runs those)."""

import numpy as np
import pytest

from fewshot_tcs.apps.fit_report import Estimate
from fewshot_tcs.apps.folder_fit import _choice_line, _held_out, fit_folder

FAST = dict(backbone="efficientnet_lite0", student="mobilenetv2_100", steps=5, image_size=32)


def test_the_report_says_why_the_untrained_student_ships_and_how_to_ship_the_trained_one():
    estimates = {"trained student": Estimate(0.93, 0.85, 0.97), "untrained student": Estimate(0.97, 0.90, 0.99)}
    untrained = _choice_line("untrained student", estimates)
    assert "shipped: the untrained student" in untrained and "93.0 %" in untrained and "97.0 %" in untrained
    assert "leans optimistic" in untrained and "`--ship trained`" in untrained
    trained = _choice_line("trained student", estimates)
    assert "shipped: the trained student" in trained and "--ship" not in trained


def test_the_untrained_student_is_scored_on_every_fold_once(colour_photos, tmp_path):
    folds = [([0, 1, 2, 4, 5, 6, 8, 9, 10], [3, 7, 11]), ([1, 2, 3, 5, 6, 7, 9, 10, 11], [0, 4, 8])]
    splits = [(np.array(train), np.array(held)) for train, held in folds]
    params = {**FAST, "steps": 0, "readout": "probe", "cache_dir": tmp_path}
    candidate = _held_out("untrained student", params, colour_photos, splits, unlabeled=None)
    assert candidate.correct == 6, "three colours, one held out of each in each fold"
    assert candidate.held.positions == [3, 7, 11, 0, 4, 8] and candidate.pretrained
    assert candidate.held.truth == [colour_photos.classes[k] for k in colour_photos.labels[[3, 7, 11, 0, 4, 8]]]


def test_a_student_from_scratch_has_no_untrained_rival(character_folder, tmp_path):
    report = fit_folder(character_folder, out=tmp_path / "run", student_pretrained=False, cache_dir=tmp_path, **FAST)
    assert "accuracy:" in report and "shipped:" not in report


def test_what_ships_is_one_of_the_choices(character_folder, tmp_path):
    with pytest.raises(ValueError, match=r"ship must be one of \('best', 'trained'\); got 'untrained'"):
        fit_folder(character_folder, out=tmp_path / "run", ship="untrained", **FAST)


def test_both_students_are_scored_on_every_fold_of_a_small_folder(character_folder, tmp_path):
    for extra in sorted((character_folder / "char0").iterdir())[2:]:
        extra.unlink()  # 2 images: 2 folds, one image of that class to train on in each
    report = fit_folder(character_folder, out=tmp_path / "run", cache_dir=tmp_path, **FAST)
    assert "2-fold cross-validation" in report and "trained student" in report and "untrained student" in report
