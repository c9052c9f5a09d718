"""PII at ingest: hashed with a secret key or dropped, so that no raw value leaves the raw file.

The loop test runs every stage in-process on a synthetic pipeline whose raw CSVs hold e-mail
addresses (hashed, and used as a categorical feature) and passport numbers (dropped), then searches
every file the run wrote (lake, MLflow database and artifacts, inside zip archives and Parquet
files too) and everything it logged or printed for each raw value.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import json
import logging
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_mlops.core.data.ingest import ingest
from airflow_mlops.core.data.pii import PII_HASH_CHARS, hide_pii, pii_hash
from airflow_mlops.core.foundation import tracking
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig, parse_pipeline
from airflow_mlops.core.foundation.errors import ConfigError, DataContractError
from airflow_mlops.core.foundation.lake import Lake
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

KEY = b"unit-test-pii-key-0123456789abcdef"
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
ROWS_PER_DAY = 150

PIPELINE = """
name: passengers
source:
  uri: ${AIRFLOW_MLOPS_RAW_ROOT}/passengers/{ds}.csv
schema:
  columns:
    booked_at: datetime
    passenger_email: category
    age: float
    fare: float
    bags: int
    churned: bool
  pii:
    passenger_email: hash
    passport_no: drop
  target: churned
  task: classification
  time_column: booked_at
features:
  numeric: [age, fare, bags]
  categorical: [passenger_email]
model:
  estimator: sklearn.linear_model.LogisticRegression
  params: {max_iter: 500}
split:
  training_window_days: 7
  test_fraction: 0.25
  min_training_rows: 100
metrics: [roc_auc, accuracy]
gate:
  metric: roc_auc
  minimum: 0.6
drift:
  columns: [age, fare, passenger_email]
validation:
  suite: passengers.json
schedules:
  start_date: 2024-03-01
"""

SUITE = {
    "name": "passengers",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "booked_at"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 0}},
        {
            "type": "expect_column_value_lengths_to_equal",
            "kwargs": {"column": "passenger_email", "value": PII_HASH_CHARS},
        },
    ],
}


def passengers(seed: int = 7) -> list[tuple[str, str]]:
    """(e-mail, passport number) of 40 people; mixed case, so that a lower-cased copy differs."""
    rng = np.random.default_rng(seed)
    first = ["Ann", "Bob", "Chloe", "Dmitri", "Eve", "Farah", "Goran", "Hana"]
    last = ["Lee", "Okafor", "Novak", "Silva", "Tanaka"]
    people = []
    for i in range(40):
        email = f"{first[i % 8]}.{last[i % 5]}{i}@Mail-Example.org"
        people.append((email, f"P{rng.integers(10**7, 10**8)}"))
    return people


PEOPLE = passengers()


def day_frame(ds: str, seed: int) -> pd.DataFrame:
    """One day of bookings; churn depends on fare, age and a per-person habit (so the e-mail, as a
    category, is a real feature)."""
    rng = np.random.default_rng(seed)
    who = rng.integers(0, len(PEOPLE), ROWS_PER_DAY)
    age = rng.uniform(18, 80, ROWS_PER_DAY).round(1)
    fare = rng.gamma(2.0, 60.0, ROWS_PER_DAY).round(2)
    habit = np.array([(-1.5 if i % 2 else 1.5) for i in range(len(PEOPLE))])[who]
    logit = 0.02 * (fare - 120) - 0.04 * (age - 50) + habit
    churned = rng.random(ROWS_PER_DAY) < 1 / (1 + np.exp(-logit))
    start = datetime.fromisoformat(ds).replace(tzinfo=UTC)
    times = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 86_400, ROWS_PER_DAY))]
    emails = [PEOPLE[i][0] for i in who]
    emails[5] = None  # nulls stay null
    return pd.DataFrame(
        {
            "booked_at": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times],
            "passenger_email": emails,
            "passport_no": [PEOPLE[i][1] for i in who],
            "age": age,
            "fare": fare,
            "bags": rng.integers(0, 4, ROWS_PER_DAY),
            "churned": churned,
        }
    )


def raw_file(home: Path, ds: str) -> Path:
    return home / "raw" / "passengers" / f"{ds}.csv"


@pytest.fixture
def cfg(home: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineConfig:
    """The pipeline, its suite, and its MLflow store, all under this test's home."""
    (home / "expectations").mkdir()
    (home / "expectations" / "passengers.json").write_text(json.dumps(SUITE))
    monkeypatch.setenv("AIRFLOW_MLOPS_EXPECTATIONS_DIR", str(home / "expectations"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    raw_file(home, DAYS[0]).parent.mkdir(parents=True)
    return parse_pipeline(PIPELINE, "passengers.yaml")


def forbidden() -> list[bytes]:
    """Every raw e-mail and passport number, as written and lower-cased."""
    values = [v for person in PEOPLE for v in person]
    return sorted({s.encode() for v in values for s in (v, v.lower())})


def readable(path: Path) -> Iterator[tuple[str, bytes]]:
    """The bytes of a file and of what it packs: zip members (skops models), gzip, Parquet values.
    Compression would hide a raw value from a plain byte search."""
    data = path.read_bytes()
    yield str(path), data
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                yield f"{path}!{name}", z.read(name)
    if data[:2] == b"\x1f\x8b":
        yield f"{path}!gunzip", gzip.decompress(data)
    if data[:4] == b"PAR1":
        df = pd.read_parquet(io.BytesIO(data))
        yield f"{path}!values", df.astype(str).to_csv(index=False).encode()


def everything(*roots: Path) -> dict[str, bytes]:
    return {
        name: data for root in roots for f in root.rglob("*") if f.is_file() for name, data in readable(f)
    }


def found(needles: list[bytes], haystacks: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(n.decode(), name) for name, data in haystacks.items() for n in needles if n in data]


def repo_files_since(t0: float) -> list[str]:
    """Files of the repository tree written since ``t0`` (virtualenv and caches aside)."""
    skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    out = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip]
        out += [
            os.path.join(dirpath, f) for f in filenames if os.path.getmtime(os.path.join(dirpath, f)) >= t0
        ]
    return out


def test_no_raw_pii_reaches_any_output_of_a_whole_loop(
    cfg: PipelineConfig,
    home: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow_mlops.core.data.validate import validate_snapshot
    from airflow_mlops.core.model.promote import promote
    from airflow_mlops.core.model.train import train
    from airflow_mlops.core.monitor.drift import monitor_batch
    from airflow_mlops.core.monitor.predict import score_batch

    t0 = datetime.now().timestamp() - 1
    caplog.set_level(logging.DEBUG)
    lake = Lake((home / "lake").as_uri())
    for i, ds in enumerate(DAYS):
        day_frame(ds, seed=100 + i).to_csv(raw_file(home, ds), index=False)
        start = datetime.fromisoformat(ds).replace(tzinfo=UTC)
        res = ingest(cfg, lake, ds, pii_key=KEY, interval=(start, start + timedelta(days=1)))
        assert res.rows == ROWS_PER_DAY and "passport_no" not in res.columns
        verdict = validate_snapshot(cfg, lake, ds)
        assert verdict.success, verdict.failure_message()

    client = tracking.configure(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    trained = train(cfg, lake, client, run_key="pii/train", end_ds=DAYS[2])
    assert trained.version is not None
    decision = promote(cfg, lake, client, trained.version)
    assert decision.promoted, decision.reason
    scored = score_batch(cfg, lake, client, DAYS[3])
    assert scored.rows == ROWS_PER_DAY
    drift = monitor_batch(cfg, lake, client, DAYS[3], run_key="pii/monitor")
    assert "passenger_email" in drift["column_scores"]

    # MLflow wrote into this test's home, not into the repository (./mlruns) or ~/.
    exp = client.get_experiment_by_name(cfg.experiment_name)
    assert exp.artifact_location.startswith((home / "mlflow").as_uri()), exp.artifact_location
    assert repo_files_since(t0) == []

    outputs = everything(home / "lake", home / "mlflow")
    logs = caplog.text + "".join(capfd.readouterr())
    outputs["captured logs and output"] = logs.encode()
    assert len(outputs) > 20 and len(logs) > 0, sorted(outputs)
    assert found(forbidden(), outputs) == []

    # The search does look inside what it reads: the keyed hashes are found where the raw values
    # would have been (the snapshot's values, the model in its zip archive, the drift report).
    hashed = [pii_hash(KEY, email).encode() for email, _ in PEOPLE]
    places = {name for _, name in found(hashed, outputs)}
    for part in ("!values", ".skops!", "report.html"):
        assert any(part in p for p in places), (part, sorted(places))
    assert any(name.endswith("mlflow.db") for name in outputs)


def test_the_hash_is_a_keyed_hmac_of_the_raw_value_and_nulls_stay_null(
    cfg: PipelineConfig, home: Path
) -> None:
    raw = day_frame(DAYS[0], seed=1)
    raw.to_csv(raw_file(home, DAYS[0]), index=False)
    lake = Lake((home / "lake").as_uri())
    ingest(cfg, lake, DAYS[0], pii_key=KEY)
    snap = lake.read_parquet(Catalog(lake, cfg.name).snapshot_uri(DAYS[0]))
    assert "passport_no" not in snap.columns and str(snap["passenger_email"].dtype) == "string"
    expected = {
        hmac.new(KEY, e.encode(), hashlib.sha256).hexdigest()[:32] for e in raw["passenger_email"].dropna()
    }
    assert set(snap["passenger_email"].dropna()) == expected
    assert snap["passenger_email"].isna().sum() == raw["passenger_email"].isna().sum() == 1


def test_same_key_same_hash_other_key_other_hash(cfg: PipelineConfig) -> None:
    """Stable across runs and files (joins and categories still work); another key, other values."""
    raw = day_frame(DAYS[0], seed=2)
    first = hide_pii(raw, cfg, KEY)["passenger_email"]
    again = hide_pii(raw.iloc[::-1], cfg, KEY)["passenger_email"].iloc[::-1]
    other = hide_pii(raw, cfg, b"another-key-of-sufficient-length")["passenger_email"]
    assert first.dropna().tolist() == again.dropna().tolist()
    assert first.dropna().str.len().eq(PII_HASH_CHARS).all()
    assert not set(first.dropna()) & set(other.dropna())
    assert first.notna().tolist() == other.notna().tolist()
    assert "passport_no" not in hide_pii(raw, cfg, KEY).columns


@pytest.mark.parametrize("key", [None, b"", b"short"])
def test_a_missing_or_weak_key_is_refused_before_reading_and_names_the_variable(
    cfg: PipelineConfig, home: Path, key: bytes | None
) -> None:
    day_frame(DAYS[0], seed=3).to_csv(raw_file(home, DAYS[0]), index=False)
    lake = Lake((home / "lake").as_uri())
    with pytest.raises(ConfigError) as e:
        ingest(cfg, lake, DAYS[0], pii_key=key)
    msg = str(e.value)
    assert "'airflow_mlops_pii_key'" in msg and "schema.pii_key_variable" in msg
    assert "airflow variables set airflow_mlops_pii_key" in msg
    if key is None:
        assert "schema.pii hashes ['passenger_email']" in msg
    assert not (home / "lake").exists(), "nothing was written: not even a quarantine"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("bad number", r"column 'age' \(float\) has non-numeric values on line 9 \(values not shown"),
        ("shifted row", r"column 'age' \(float\) has non-numeric values on line 9 \(values not shown"),
    ],
)
def test_a_refused_file_is_quarantined_without_its_bytes_and_without_raw_values(
    cfg: PipelineConfig, home: Path, breakage: str, message: str
) -> None:
    """A bad value next to PII, or a shifted row that puts an e-mail into a numeric column: the
    error names column and row but no value, and the quarantine keeps the reason, not the file."""
    raw = day_frame(DAYS[0], seed=4).astype("string")
    email, passport = raw.loc[7, "passenger_email"], raw.loc[7, "passport_no"]
    if breakage == "bad number":
        raw.loc[7, "age"] = "forty-two"
    else:
        raw.loc[7, "age"] = email
    path = raw_file(home, DAYS[0])
    raw.to_csv(path, index=False)
    before = path.read_bytes()
    lake = Lake((home / "lake").as_uri())

    with pytest.raises(DataContractError, match=message) as e:
        ingest(cfg, lake, DAYS[0], pii_key=KEY)
    assert email not in str(e.value) and passport not in str(e.value)
    assert "forty-two" not in str(e.value), "no value of the row is quoted"

    kept = home / "lake" / cfg.name / "quarantine" / f"ds={DAYS[0]}"
    assert sorted(p.name for p in kept.iterdir()) == ["reason.json"]
    reason = json.loads((kept / "reason.json").read_text())
    assert reason["file"] is None and reason["reason"] == str(e.value)
    assert "not copied because the pipeline declares PII columns" in reason["note"]
    assert reason["source_uri"] in reason["note"] and reason["source_uri"].endswith(f"{DAYS[0]}.csv")
    assert found(forbidden(), everything(home / "lake")) == []
    assert path.read_bytes() == before, "the raw file stays where it was, unchanged"


def test_a_pipeline_without_pii_still_keeps_the_raw_file_in_quarantine(home: Path) -> None:
    """The control: the same refused file without schema.pii is copied whole, value quoted."""
    cfg = parse_pipeline(
        PIPELINE.replace("  pii:\n    passenger_email: hash\n    passport_no: drop\n", ""), "p.yaml"
    )
    assert not cfg.data_schema.has_pii
    raw = day_frame(DAYS[0], seed=4).astype("string")
    raw.loc[7, "age"] = "forty-two"
    path = raw_file(home, DAYS[0])
    path.parent.mkdir(parents=True)
    raw.to_csv(path, index=False)
    with pytest.raises(DataContractError, match="has non-numeric values 'forty-two'"):
        ingest(cfg, Lake((home / "lake").as_uri()), DAYS[0])
    kept = home / "lake" / cfg.name / "quarantine" / f"ds={DAYS[0]}"
    assert (kept / f"{DAYS[0]}.csv").read_bytes() == path.read_bytes()
    assert "note" not in json.loads((kept / "reason.json").read_text())


def test_a_file_that_is_not_utf8_is_refused_without_quoting_its_bytes(
    cfg: PipelineConfig, home: Path
) -> None:
    """The non-UTF-8 bytes may be part of a name or an address: the error gives their offset only."""
    raw = day_frame(DAYS[0], seed=5)
    raw.loc[3, "passenger_email"] = "Ren\u00e9e.Dubois@Mail-Example.org"
    raw.to_csv(raw_file(home, DAYS[0]), index=False, encoding="latin-1")
    with pytest.raises(DataContractError, match=r"not UTF-8 text \(byte \d+, line 5\); ") as e:
        ingest(cfg, Lake((home / "lake").as_uri()), DAYS[0], pii_key=KEY)
    assert "Ren" not in str(e.value) and "\\xe9" not in str(e.value)
    assert "0xE9" not in str(e.value) and "\u00e9" not in str(e.value), "not even the one byte"
