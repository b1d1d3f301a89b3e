import math

import pytest

from fewshot_tcs.results import ResultsLog, confidence_interval


def test_interval_matches_a_hand_computation():
    accuracies = [0.6, 0.8, 0.7, 0.9]
    mean = 0.75
    s = math.sqrt(((-0.15) ** 2 + 0.05**2 + (-0.05) ** 2 + 0.15**2) / 3)  # sample std, n - 1
    m, h = confidence_interval(accuracies)
    assert m == pytest.approx(mean)
    assert h == pytest.approx(1.96 * s / math.sqrt(4))


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


def test_log_refuses_a_foreign_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="not a results record"):
        ResultsLog(path)
