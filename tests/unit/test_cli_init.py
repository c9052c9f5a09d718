"""`airflow-mlops init` on the shipped samples, then `check` on what it wrote, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_mlops.cli import main
from dev.datasets import write_credit, write_diabetes, write_flights

pytestmark = pytest.mark.unit


def _samples(raw: Path) -> dict[str, Path]:
    uri = raw.as_uri()
    write_credit(uri, "2024-03-01")
    write_diabetes(uri, "2024-01-01")
    write_flights(uri, ["2013-01-02"])
    return {
        "credit": raw / "credit" / "2024-03-01.csv",
        "diabetes": raw / "diabetes" / "2024-01-01.parquet",
        "flights": raw / "flights" / "2013-01-02.csv",
    }


@pytest.mark.parametrize(
    ("dataset", "args", "decided"),
    [
        ("credit", ["--target", "default"], "credit: classification of 'default' (a bool target)"),
        (
            "diabetes",
            ["--target", "progression", "--time-column", "measured_at"],
            "diabetes: regression of 'progression' (a float target)",
        ),
        (
            "flights",
            ["--target", "origin", "--time-column", "time_hour"],
            "flights: classification of 'origin' (a text target with 3 classes)",
        ),
    ],
)
def test_init_then_check_passes_on_the_samples(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys, dataset: str, args: list[str], decided: str
) -> None:
    include = home / "include"
    monkeypatch.setenv("AIRFLOW_MLOPS_INCLUDE_DIR", str(include))
    path = _samples(home / "raw")[dataset]
    assert main(["init", dataset, "--sample", str(path), *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith(decided), out
    yaml_path = include / "pipelines" / f"{dataset}.yaml"
    assert f"wrote {yaml_path}" in out and "Review before the first run:\n  1. source.uri:" in out
    assert f"Then: airflow-mlops check {yaml_path}" in out
    assert main(["check", str(yaml_path)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {dataset}"
    assert main(["check"]) == 0, "and the folder as a whole"


def test_init_writes_under_out_and_refuses_to_overwrite(home: Path, tmp_path: Path, capsys) -> None:
    path = _samples(home / "raw")["credit"]
    out = tmp_path / "mine"
    argv = ["init", "credit", "--sample", str(path), "--target", "default", "--out", str(out)]
    assert main(argv) == 0
    assert f"Then: AIRFLOW_MLOPS_INCLUDE_DIR={out} airflow-mlops check" in capsys.readouterr().out
    suite = out / "expectations" / "credit.json"
    before = suite.read_text()
    assert json.loads(before)["meta"]["scaffold"] == {"sample": "2024-03-01.csv", "rows": 500}
    assert main(argv) == 2
    assert f"error: {out / 'pipelines' / 'credit.yaml'}, {suite}: already exist(s)" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0 and suite.read_text() == before


def test_init_names_a_bad_target_and_writes_nothing(home: Path, tmp_path: Path, capsys) -> None:
    path = _samples(home / "raw")["credit"]
    out = tmp_path / "mine"
    argv = ["init", "credit", "--sample", str(path), "--target", "defualt", "--out", str(out)]
    assert main(argv) == 2
    assert "error: --target: 'defualt' is not a column of" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["init", "credit", "--sample", str(path), "--target", "default", "--start-date", "May"])
    assert "'May' is not a date YYYY-MM-DD" in capsys.readouterr().err


def test_check_refuses_a_suite_column_the_pipeline_lacks(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    include = home / "include"
    monkeypatch.setenv("AIRFLOW_MLOPS_INCLUDE_DIR", str(include))
    path = _samples(home / "raw")["credit"]
    assert main(["init", "credit", "--sample", str(path), "--target", "default"]) == 0
    suite_file = include / "expectations" / "credit.json"
    suite = json.loads(suite_file.read_text())
    suite["expectations"].append(
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "balanse"}}
    )
    suite_file.write_text(json.dumps(suite))
    capsys.readouterr()
    assert main(["check", str(include / "pipelines" / "credit.yaml")]) == 1
    i = len(suite["expectations"]) - 1
    assert (
        f"{include / 'pipelines' / 'credit.yaml'}: validation.suite: {suite_file}: expectations[{i}] "
        "(expect_column_values_to_not_be_null): column 'balanse' is not a column of pipeline credit"
        in capsys.readouterr().err
    )
