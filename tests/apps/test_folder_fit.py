"""fit_folder's report lines, apart from a whole fit (tests/apps/test_cli.py runs those)."""

import numpy as np

from fewshot_tcs.apps.fit_report import Estimate
from fewshot_tcs.apps.folder_fit import _own_probe_line, _own_probe_scores
from fewshot_tcs.tcs import TCSClassifier


def test_the_report_says_how_to_ship_the_untrained_student_only_where_it_scored_higher():
    higher = _own_probe_line(Estimate(0.97, 0.90, 0.99), student=Estimate(0.93, 0.85, 0.97))
    assert "97.0 %" in higher and "`--weight-interpolation 0 --readout probe` ships that network" in higher
    lower = _own_probe_line(Estimate(0.90, 0.80, 0.95), student=Estimate(0.93, 0.85, 0.97))
    assert "90.0 %" in lower and "--weight-interpolation" not in lower


def test_a_student_from_scratch_has_no_own_probe_to_report():
    assert _own_probe_scores(TCSClassifier(student_pretrained=False), source=None, splits=[(0, 1)]) == []


def test_the_own_probe_is_scored_on_each_split_of_held_out_images(colour_photos):
    splits = [(np.array([0, 1, 2, 4, 5, 6, 8, 9, 10]), np.array([3, 7, 11]))]
    assert _own_probe_scores(TCSClassifier(), colour_photos, splits) == [1.0], "three colours, one held out of each"
