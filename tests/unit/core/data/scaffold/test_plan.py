"""The scaffold's decisions: the task rule and its gate floor, the columns left out and why, and bad
flags refused with the file and column named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_mlops.core.data import scaffold
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from tests.unit.core.data.scaffold.conftest import mixed, sample, written

pytestmark = pytest.mark.unit


# --- the task rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "task", "metric", "floor"),
    [
        ([0.5, 1.25, 2.0, 3.75], "regression", "r2", 0.1),
        ([0, 1, 0, 1], "classification", "roc_auc", 0.6),
        ([1, 2, 3, 4], "classification", "balanced_accuracy", 0.35),
        (list(range(11)) * 2, "regression", "r2", 0.1),
        (["yes", "no", "no", "yes"], "classification", "roc_auc", 0.6),
        (["red", "green", "blue", "red"], "classification", "balanced_accuracy", 0.433),
    ],
)
def test_the_task_and_gate_floor_follow_the_target(
    home: Path, values: list[Any], task: str, metric: str, floor: float
) -> None:
    n = 44
    df = pd.DataFrame({"x": [i * 1.5 for i in range(n)], "y": (values * n)[:n]})
    sc, yaml_path, _ = written(home, "rule", sample(home, "rule", df), "y")
    cfg = load_pipeline(yaml_path)
    assert (sc.task, cfg.data_schema.task) == (task, task)
    assert (cfg.gate.metric, cfg.gate.minimum) == (metric, floor) and metric in cfg.metrics
    est = cfg.model.estimator.rsplit(".", 1)[1]
    assert est == (
        "HistGradientBoostingRegressor" if task == "regression" else "HistGradientBoostingClassifier"
    )


def test_a_time_is_no_target(home: Path) -> None:
    df = pd.DataFrame({"x": [1.5, 2.5] * 10, "when": ["2024-01-01 10:00:00", "2024-01-02 11:00:00"] * 10})
    with pytest.raises(ConfigError, match=r"--target: 'when' holds datetime values"):
        scaffold.plan("t", sample(home, "t", df), "when")


# --- left-out columns -------------------------------------------------------------------------------
def test_identifiers_free_text_constants_and_times_are_left_out_with_the_reason(home: Path) -> None:
    path = sample(home, "shop", mixed())
    sc, yaml_path, _ = written(home, "shop", path, "label")
    assert sc.numeric == ["qty", "price", "weight"] and sc.categorical == ["member", "shop"]
    assert list(sc.left_out) == ["order_id", "row", "comment", "country", "empty", "day", "at"]
    assert sc.left_out["order_id"].startswith("an identifier (by its name)")
    assert sc.left_out["row"].startswith("an identifier (unique in each of 60 rows)")
    assert sc.left_out["comment"].startswith("free text (60 distinct values in 60 rows)")
    assert sc.left_out["country"].startswith("one value in all 60 sample rows")
    assert sc.left_out["empty"].startswith("empty in the sample")
    assert sc.left_out["at"].startswith("a time: name it with --time-column")
    text = yaml_path.read_text()
    assert "comment:  string  # not a feature: free text (60 distinct values" in text
    assert "order_id: string  # not a feature: an identifier (by its name)" in text
    assert "No time_column" in text
    assert any("--time-column" in r and "day, at" in r for r in sc.review)
    assert "left out: order_id, row, comment, country, empty, day, at" in " ".join(sc.review)
    assert "    row: an identifier (unique in each of 60 rows)" in sc.summary()


def test_a_category_of_many_values_in_few_rows_is_kept(home: Path) -> None:
    """Below MIN_ROWS_FOR_SHARES rows a share says nothing: a string of 10 values in 12 rows is a category."""
    df = pd.DataFrame({"city": [f"c{i % 10}" for i in range(12)], "y": [i * 0.5 for i in range(12)]})
    sc = scaffold.plan("few", sample(home, "few", df), "y")
    assert sc.categorical == ["city"] and not sc.left_out
    assert any("only 12 rows" in r for r in sc.review)


# --- bad input ----------------------------------------------------------------------------------------
def test_a_missing_target_names_the_file_and_the_close_column(home: Path) -> None:
    path = sample(home, "shop", mixed())
    with pytest.raises(ConfigError) as e:
        scaffold.plan("shop", path, "lable")
    assert str(e.value).startswith(f"--target: 'lable' is not a column of {path} (did you mean 'label'?)")
    with pytest.raises(ConfigError, match=r"--time-column: 'when' is not a column"):
        scaffold.plan("shop", path, "label", time_column="when")
    with pytest.raises(ConfigError, match=r"--time-column: 'qty' holds int values"):
        scaffold.plan("shop", path, "label", time_column="qty")


def test_targets_that_teach_nothing_and_samples_without_features_are_refused(home: Path) -> None:
    one = sample(home, "one", pd.DataFrame({"x": [1.5, 2.5] * 10, "y": ["a"] * 20}))
    with pytest.raises(ConfigError, match=r"--target: 'y' has one value \('a'\) in all 20 labelled rows"):
        scaffold.plan("one", one, "y")
    none = sample(home, "none", pd.DataFrame({"x": [1.5, 2.5] * 10, "y": [None] * 20}))
    with pytest.raises(DataContractError, match=r"the target column 'y' is empty in every row"):
        scaffold.plan("none", none, "y")
    ids = sample(home, "ids", pd.DataFrame({"user_id": range(20), "y": [1.5, 2.5] * 10}))
    with pytest.raises(ConfigError, match=r"no column can be a feature of 'y': user_id: an identifier"):
        scaffold.plan("ids", ids, "y")
    with pytest.raises(ConfigError, match=r"name: 'Bad-Name' must be lower case"):
        scaffold.plan("Bad-Name", ids, "y")


def test_a_code_of_too_many_values_is_free_text_however_long_the_sample(home: Path) -> None:
    """300 codes in 3,000 rows is a tenth of the rows (no share rule), but too many to one-hot."""
    n = 3000
    df = pd.DataFrame(
        {
            "code": [f"C{i % 300:03d}" for i in range(n)],
            "dest": [f"D{i % 105}" for i in range(n)],
            "y": [0.5, 1.5] * (n // 2),
        }
    )
    sc = scaffold.plan("codes", sample(home, "codes", df), "y")
    assert sc.left_out["code"].startswith("free text (300 distinct values in 3000 rows)")
    assert sc.categorical == ["dest"], "105 values, as flights' destinations, are a category"


def test_the_format_flag_reads_a_file_whose_suffix_says_nothing(home: Path) -> None:
    path = home / "export.txt"
    path.write_text("x,y\n1.5,a\n2.5,b\n3.5,a\n")
    sc = scaffold.plan("txt", path, "y", fmt="csv")
    assert sc.format == "csv" and sc.numeric == ["x"]
    assert "${AIRFLOW_MLOPS_RAW_ROOT}/txt/{ds}.csv" in scaffold.pipeline_yaml(sc)
