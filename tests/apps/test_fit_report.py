"""report.html is one self-contained file that a real browser renders: tables, and the thumbnails of the
held-out images the student got wrong."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from fewshot_tcs.apps.fit_report import Estimate, HeldOutPredictions, write_report_html
from fewshot_tcs.data import ArraySource

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")

# Appended to a copy of the report by the test only (the report itself has no script): after load, record
# how many images decoded and how many tables there are where --dump-dom shows them.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.decoded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.images = images.length;
  document.body.dataset.tables = document.querySelectorAll("table").length;
});
</script>"""


@pytest.fixture
def report(tmp_path):
    rng = np.random.default_rng(0)
    source = ArraySource(rng.integers(0, 255, (12, 40, 30, 3), dtype=np.uint8), np.repeat([0, 1, 2], 4))
    classes = list(source.classes)
    truth = [classes[label] for label in source.labels]
    predicted = list(truth)
    predicted[1], predicted[6], predicted[11] = classes[1], classes[0], classes[0]  # three mistakes
    held = HeldOutPredictions(list(range(12)), truth, predicted, classes)
    path = write_report_html(
        tmp_path / "report.html",
        title="fewshot-tcs fit: <photos>",
        models=[
            ("trained student", Estimate(0.75, 0.47, 0.91)),
            ("untrained student (shipped)", Estimate(0.92, 0.65, 0.99)),
            ("teacher's logistic probe", Estimate(0.83, 0.55, 0.95)),
        ],
        how="4-fold cross-validation, each of the 12 images held out once; Wilson score interval",
        facts=[("teacher", "efficientnet_lite2"), ("student", "mobilenetv2_100 at 128 px")],
        held=held,
        source=source,
    )
    return path


def test_the_report_is_self_contained_and_complete(report):
    text = report.read_text()
    assert "&lt;photos&gt;" in text, "names are escaped"
    assert not re.search(r"""(src|href)=["'](?!data:)""", text), "nothing is fetched from outside the file"
    assert "<script" not in text
    assert text.count("<img ") == 3 and text.count("data:image/jpeg;base64,") == 3
    assert "75.0 %" in text and "83.0 %" in text and "92.0 %" in text and text.count("3 of 4") == 3
    assert text.count("<table") == 4


@pytest.mark.skipif(BROWSER is None, reason="Debian's chromium is not installed (make test installs it with apt)")
def test_a_headless_browser_renders_its_tables_and_thumbnails(report, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    run = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = run.stdout
    assert 'data-images="3"' in dom and 'data-decoded="3"' in dom, run.stderr[-2000:]
    assert 'data-tables="4"' in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1000,1400",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.std() > 10, "the screenshot is blank"
