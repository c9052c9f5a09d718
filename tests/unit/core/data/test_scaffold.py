"""`airflow-mlops init`'s core: types as ingest reads them, the task rule, left-out columns, the
suite's margins, and bad input refused with the file and column named, nothing half written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from airflow_mlops.core.data import scaffold
from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.foundation.config import load_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError, DataNotFoundError
from airflow_mlops.core.foundation.lake import Lake

pytestmark = pytest.mark.unit
DS = "2024-05-01"


def sample(home: Path, name: str, df: pd.DataFrame, fmt: str = "csv") -> Path:
    """``df`` written where the scaffolded pipeline's source will look for interval DS."""
    path = home / "raw" / name / f"{DS}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_json(path, orient="records", lines=True)
    return path


def written(
    home: Path, name: str, path: Path, target: str, **kw: Any
) -> tuple[scaffold.Scaffold, Path, Path]:
    sc = scaffold.plan(name, path, target, start_date=date(2024, 5, 1), **kw)
    yaml_path, suite_path = scaffold.write(
        sc, home / "include" / "pipelines", home / "include" / "expectations"
    )
    return sc, yaml_path, suite_path


def expectations(suite_path: Path, column: str) -> dict[str, dict[str, Any]]:
    """The suite's expectations on ``column``, by type."""
    exps = json.loads(suite_path.read_text())["expectations"]
    return {e["type"]: e["kwargs"] for e in exps if e["kwargs"].get("column") == column}


def mixed(n: int = 60) -> pd.DataFrame:
    """A frame with one column of each kind the scaffold tells apart."""
    return pd.DataFrame(
        {
            "order_id": [f"o-{i}" for i in range(n)],
            "row": range(1000, 1000 + n),
            "qty": [i % 7 for i in range(n)],
            "price": [10.0 + (i % 21) for i in range(n)],  # integral floats, written 10.0: a float
            "weight": [0.5 + i / 10 if i % 10 else None for i in range(n)],
            "member": ["yes" if i % 3 else "no" for i in range(n)],
            "shop": [["north", "south", "east"][i % 3] for i in range(n)],
            "comment": [f"said {i} things" for i in range(n)],
            "country": ["NL"] * n,
            "empty": [None] * n,
            "day": [f"2024-04-{1 + i % 28:02d}" for i in range(n)],
            "at": [f"2024-04-01 {i % 24:02d}:{i % 60:02d}:00" for i in range(n)],
            "label": ["a" if i % 4 else "b" for i in range(n)],
        }
    )


# --- types ------------------------------------------------------------------------------------------
def test_types_are_those_ingest_accepts_and_the_suite_passes_on_the_sample(home: Path) -> None:
    from airflow_mlops.core.data.validate import validate_snapshot

    path = sample(home, "shop", mixed())
    sc, yaml_path, suite_path = written(home, "shop", path, "label", time_column="at")
    kinds = {c: p.kind for c, p in sc.columns.items()}
    assert kinds == {
        "order_id": "string",
        "row": "int",
        "qty": "int",
        "price": "float",
        "weight": "float",
        "member": "bool",
        "shop": "category",
        "comment": "string",
        "country": "string",
        "empty": "string",
        "day": "date",
        "at": "datetime",
        "label": "category",
    }
    cfg = load_pipeline(yaml_path)
    assert dict(cfg.data_schema.columns) == kinds and cfg.data_schema.time_column == "at"
    lake = Lake((home / "lake").as_uri())
    snap = ingest(cfg, lake, DS)
    assert snap.rows == 60 and snap.columns["member"] == "boolean" and snap.columns["qty"] == "Int64"
    result = validate_snapshot(cfg, lake, DS, suite_file=suite_path)
    assert result.success, result.failure_message()
    assert result.evaluated > 2 * len(kinds), "types, empties, ranges and sets were all checked"


def test_a_file_that_typed_its_columns_keeps_their_types(home: Path) -> None:
    """Parquet says float: 2.0 stays a float; JSON's true/false (with a gap) are bools, not numbers."""
    df = pd.DataFrame(
        {
            "size": [2.0, 3.0, 4.0, 5.0] * 10,
            "count": [1, 2, 3, 4] * 10,
            "flag": [True, False, None, True] * 10,
            "y": [0.5, 1.5, 2.5, 3.5] * 10,
        }
    )
    for fmt in ("parquet", "jsonl"):
        sc = scaffold.plan(f"typed_{fmt}", sample(home, f"typed_{fmt}", df, fmt), "y")
        assert sc.format == fmt
        assert {c: p.kind for c, p in sc.columns.items()} == {
            "size": "float",
            "count": "int",
            "flag": "bool",
            "y": "float",
        }, fmt


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


# --- the suite's margins ----------------------------------------------------------------------------
def test_ranges_widen_by_half_the_observed_range_and_sets_take_the_sample(home: Path) -> None:
    df = pd.DataFrame(
        {
            "qty": [10, 30, 20, 25] * 10,
            "temp": [-1.5, 2.5, 0.5, 1.0] * 10,
            "level": [7, 7, 7, 7] * 10,
            "shop": ["north", "south", "north", None] * 10,
            "y": [0, 1, 1, 0] * 10,
        }
    )
    path = sample(home, "m", df)
    sc, _, suite_path = written(home, "m", path, "y")
    assert sc.left_out == {"level": "one value in all 40 sample rows: nothing to learn from"}
    qty = expectations(suite_path, "qty")
    assert qty["expect_column_values_to_be_between"] == {"column": "qty", "min_value": 0, "max_value": 40}
    assert qty["expect_column_values_to_be_of_type"] == {"column": "qty", "type_": "int64"}
    assert qty["expect_column_values_to_not_be_null"] == {"column": "qty"}
    temp = expectations(suite_path, "temp")["expect_column_values_to_be_between"]
    assert (temp["min_value"], temp["max_value"]) == (-3.5, 4.5)
    # Not modelled: its presence, type and empties only (an identifier's range moves every batch).
    assert "expect_column_values_to_be_between" not in expectations(suite_path, "level")
    shop = expectations(suite_path, "shop")
    assert shop["expect_column_values_to_be_in_set"] == {
        "column": "shop",
        "value_set": ["north", "south"],
        "mostly": scaffold.CATEGORY_MOSTLY,
    }
    # A quarter of the sample was empty: up to half may be.
    assert shop["expect_column_values_to_not_be_null"] == {"column": "shop", "mostly": 0.5}
    assert shop["expect_column_values_to_be_of_type"]["type_"] == "str"
    target = expectations(suite_path, "y")
    assert target["expect_column_values_to_be_in_set"] == {"column": "y", "value_set": [0, 1]}, "strict"
    suite = json.loads(suite_path.read_text())
    rows = [e for e in suite["expectations"] if e["type"] == "expect_table_row_count_to_be_between"]
    assert rows[0]["kwargs"] == {"min_value": 1}, "a lower bound and no upper bound"
    columns = next(e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set")
    assert columns["kwargs"] == {"column_set": ["qty", "temp", "level", "shop", "y"], "exact_match": True}


def test_a_constant_feature_range_is_widened_by_half_its_value(home: Path) -> None:
    df = pd.DataFrame({"x": [4.0] * 6 + [4.0, 8.0], "y": [1.0, 2.0] * 4})
    _, _, suite_path = written(home, "c", sample(home, "c", df), "y")
    between = expectations(suite_path, "x")["expect_column_values_to_be_between"]
    assert (between["min_value"], between["max_value"]) == (2.0, 10.0)
    # The target: 1..2, widened by 0.5 either side.
    y = expectations(suite_path, "y")["expect_column_values_to_be_between"]
    assert (y["min_value"], y["max_value"]) == (0.5, 2.5)


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


def test_unreadable_and_empty_samples_are_named(home: Path, tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"nothing\.csv: sample file not found"):
        scaffold.plan("x", tmp_path / "nothing.csv", "y")
    with pytest.raises(DataContractError, match=r"cannot be read"):
        scaffold.plan("x", tmp_path, "y", fmt="csv")  # a folder
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataContractError, match=r"broken\.parquet: cannot be read as parquet"):
        scaffold.plan("x", broken, "y")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataContractError, match=r"empty\.csv: the file is empty"):
        scaffold.plan("x", empty, "y")
    header = tmp_path / "header.csv"
    header.write_text("x,y\n")
    with pytest.raises(DataContractError, match=r"header\.csv: the sample has no rows"):
        scaffold.plan("x", header, "y")
    big = tmp_path / "big.csv"
    with big.open("wb") as f:  # sparse: no disk used
        f.truncate(scaffold.MAX_SAMPLE_BYTES + 1)
    with pytest.raises(DataContractError, match=r"big\.csv: the sample is 256 MiB, over the 256 MiB .* awk"):
        scaffold.plan("x", big, "y")


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


def test_existing_files_are_refused_unless_forced_and_nothing_is_left_half_written(home: Path) -> None:
    path = sample(home, "shop", mixed())
    sc, yaml_path, suite_path = written(home, "shop", path, "label")
    suite_path.write_text("{}")  # a suite someone has edited
    with pytest.raises(ConfigError, match=r"shop\.json: already exist\(s\); pass --force"):
        written(home, "shop", path, "label")
    assert suite_path.read_text() == "{}", "not touched"
    scaffold.write(sc, yaml_path.parent, suite_path.parent, force=True)
    assert json.loads(suite_path.read_text())["name"] == "shop"
    leftovers = [p.name for d in (yaml_path.parent, suite_path.parent) for p in d.iterdir()]
    assert sorted(leftovers) == ["shop.json", "shop.yaml"], "no temporary files stay"


def test_column_names_yaml_would_misread_are_quoted(home: Path) -> None:
    """`yes` and `on` are booleans to YAML 1.1 and `a b: c` is no key: the written file must
    still name each column exactly."""
    df = pd.DataFrame({"on": [1.5, 2.5] * 10, "a b: c": ["u", "v"] * 10, "yes": [0.5, 1.0] * 10})
    _, yaml_path, _ = written(home, "odd", sample(home, "odd", df), "yes")
    raw = yaml.safe_load(yaml_path.read_text())
    assert list(raw["schema"]["columns"]) == ["on", "a b: c", "yes"]
    cfg = load_pipeline(yaml_path)
    assert cfg.data_schema.target == "yes" and cfg.features.all == ["on", "a b: c"]


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
