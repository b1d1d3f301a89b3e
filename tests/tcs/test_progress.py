"""Progress bars: shown where a person watches, silent in scripts and CI unless asked, labelled by the caller."""

import numpy as np
import pytest

from fewshot_tcs.tcs import TCSClassifier
from fewshot_tcs.tcs.trainer import progress_label


@pytest.mark.parametrize("quiet, shown", [(None, False), (True, False), (False, True)])
def test_bars_follow_tqdms_disable_none_and_carry_the_callers_label(quiet, shown, tiny_fit, tmp_path, capsys):
    images = np.random.default_rng(0).integers(0, 255, (8, 16, 16, 3), dtype=np.uint8)
    assert TCSClassifier().quiet is None, "the default: shown on a terminal, silent in pipes, logs and CI"
    with progress_label("final model: student on all 8 images"):
        TCSClassifier(**tiny_fit, quiet=quiet, cache_dir=tmp_path).fit(images, np.repeat(["a", "b"], 4))
    err = capsys.readouterr().err  # captured: not a terminal, as in a script or CI
    assert ("final model: student on all 8 images" in err) is shown
    assert "training student" not in err
