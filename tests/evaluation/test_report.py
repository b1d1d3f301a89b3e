import json

import pytest

from fewshot_tcs.evaluation.report import csv_table, markdown_table, plot_accuracy_vs_shots, write_tables

ROWS = [
    {
        "method": "protonet",
        "shots": 1,
        "mean": 0.5,
        "ci95": 0.02,
        "n": 600,
        "seed": 0,
        "setting": "inductive",
        "seconds_per_episode": 0.001,
    },
    {
        "method": "protonet",
        "shots": 5,
        "mean": 0.75,
        "ci95": 0.01,
        "n": 600,
        "seed": 0,
        "setting": "inductive",
        "seconds_per_episode": 0.001,
    },
    {
        "method": "tcs-probe",
        "shots": 5,
        "mean": 0.8,
        "ci95": 0.011,
        "n": 600,
        "seed": 0,
        "setting": "inductive",
        "seconds_per_episode": 0.002,
    },
]


def test_markdown_has_method_rows_and_shot_columns():
    table = markdown_table(ROWS)
    lines = table.splitlines()
    assert lines[0] == "| method | 1-shot | 5-shot |"
    assert "| protonet | 50.00 +- 2.00 (n=600, 0.001 s/ep) | 75.00 +- 1.00" in lines[2]
    assert lines[3].startswith("| tcs-probe |  | 80.00 +- 1.10")


def test_tables_and_plot_are_written(tmp_path):
    paths = write_tables(ROWS, tmp_path)
    assert json.loads(paths["json"].read_text())[2]["method"] == "tcs-probe"
    assert csv_table(ROWS).splitlines()[0].startswith("method,shots,mean,ci95")
    png = plot_accuracy_vs_shots(ROWS, tmp_path / "acc.png", title="t")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no results"):
        markdown_table([])
