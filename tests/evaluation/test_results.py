import math

import numpy as np
import pytest

from fewshot_tcs.evaluation.results import ResultsLog, confidence_interval, proportion_interval, t_quantile

# Reference values computed once with scipy.stats.t.ppf(0.975, n - 1) and statsmodels'
# proportion_confint(k, n, alpha=0.05, method="wilson").
T_975 = {4: 3.1824463052837078, 5: 2.7764451051977934, 30: 2.045229642132703, 100: 1.9842169515864174}
WILSON = {
    (8, 8): (0.6755924351161198, 1.0),
    (0, 8): (0.0, 0.32440756488388034),
    (40, 50): (0.6696289406777458, 0.8875624998422389),
}


def test_interval_matches_a_hand_computation_with_students_t():
    accuracies = [0.6, 0.8, 0.7, 0.9]
    mean = 0.75
    s = math.sqrt(((-0.15) ** 2 + 0.05**2 + (-0.05) ** 2 + 0.15**2) / 3)  # sample std, n - 1
    m, h = confidence_interval(accuracies)
    assert m == pytest.approx(mean)
    assert h == pytest.approx(T_975[4] * s / math.sqrt(4))


@pytest.mark.parametrize("n", sorted(T_975))
def test_t_quantile_matches_reference_values(n):
    assert t_quantile(n) == pytest.approx(T_975[n], rel=1e-9)


def test_five_episodes_get_the_t_interval_not_the_normal_one():
    values = [0.70, 0.80, 0.75, 0.90, 0.60]
    half = confidence_interval(values)[1]
    sd = float(np.std(values, ddof=1))
    assert half == pytest.approx(2.7764451051977934 * sd / math.sqrt(5))
    assert half / (1.96 * sd / math.sqrt(5)) == pytest.approx(1.4165, abs=1e-4)  # the normal one was 30 % narrower


@pytest.mark.parametrize(("correct", "total"), sorted(WILSON))
def test_proportion_interval_is_wilsons_and_never_collapses(correct, total):
    low, high = proportion_interval(correct, total)
    assert (low, high) == pytest.approx(WILSON[(correct, total)], abs=1e-9)
    assert high - low > 0.2


def test_proportion_interval_refuses_impossible_counts():
    for correct, total in ((9, 8), (-1, 8), (0, 0)):
        with pytest.raises(ValueError, match="correct"):
            proportion_interval(correct, total)


def test_interval_edge_cases():
    assert math.isnan(confidence_interval([0.5])[1])
    assert confidence_interval([0.5, 0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        confidence_interval([])


def test_log_drops_a_half_written_line(tmp_path):
    path = tmp_path / "r.jsonl"
    log = ResultsLog(path)
    log.append({"method": "m", "episode": 0, "key": "k0", "accuracy": 1.0})
    with open(path, "a") as f:
        f.write('{"method": "m", "episode": 1, "ke')
    reopened = ResultsLog(path)
    assert reopened.get("m", 0, "k0")["accuracy"] == 1.0
    assert reopened.get("m", 1, "k1") is None
    reopened.append({"method": "m", "episode": 1, "key": "k1", "accuracy": 0.5})
    assert len(path.read_text().splitlines()) == 2
    assert len(ResultsLog(path).records) == 2


def test_log_refuses_records_of_other_episodes(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    log.append({"method": "m", "episode": 0, "key": "k0", "accuracy": 1.0})
    with pytest.raises(ValueError, match="belongs to other episodes"):
        ResultsLog(tmp_path / "r.jsonl").get("m", 0, "other")


def test_a_resume_refuses_records_whose_auto_settings_now_resolve_otherwise(tmp_path):
    path = tmp_path / "r.jsonl"
    log = ResultsLog(path)
    for episode, size in enumerate((128, 160)):  # the input size follows each episode's images
        log.append({"method": "m", "episode": episode, "resolved": {"train_stages": 2, "image_size": size}})
    log.append({"method": "one", "episode": 0, "resolved": {"lr": 0.001}})
    log.append({"method": "one", "episode": 1})  # a method that resolves nothing, or a record from before
    resumed = ResultsLog(path)
    with pytest.raises(ValueError, match=r"m records whose train_stages resolved to 2; this run resolved it to 3"):
        resumed.append({"method": "m", "episode": 2, "resolved": {"train_stages": 3, "image_size": 128}})
    with pytest.raises(ValueError, match=r"one records whose lr resolved to 0.001; this run resolved it to 0.0003"):
        resumed.append({"method": "one", "episode": 2, "resolved": {"lr": 0.0003}})
    resumed.append({"method": "m", "episode": 2, "resolved": {"train_stages": 2.0, "image_size": 224}})
    resumed.append({"method": "one", "episode": 2, "resolved": {"lr": 0.001, "train_stages": 3}})
    resumed.append({"method": "new", "episode": 0, "resolved": {"train_stages": 3}})
    assert len(ResultsLog(path).records) == 7, "the refused records were not written"


def test_log_refuses_a_foreign_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="not a results record"):
        ResultsLog(path)
