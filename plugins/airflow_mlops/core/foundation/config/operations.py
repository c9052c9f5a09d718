"""How the pipeline runs in Airflow: validation, schedules, task limits, alerts."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airflow_mlops.core.foundation.config import rules
from airflow_mlops.core.foundation.config.base import MAX_MINUTES, Strict


class ValidationConfig(Strict):
    """The Great Expectations suite and what a failing batch does."""

    suite: str = Field(
        description="A file name in AIRFLOW_MLOPS_EXPECTATIONS_DIR (no folders), ending in .json."
    )
    on_failure: Literal["fail", "quarantine"] = "fail"
    max_duplicate_share: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.0, description="Share of rows that may repeat another row exactly (0: none may)."
    )

    @field_validator("suite")
    @classmethod
    def _file_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json", v):
            raise ValueError(
                f"{v!r} must be a file name in the expectations folder, such as flights_delay.json (no folders)"
            )
        return v


class SchedulesConfig(Strict):
    """When the pipeline's DAGs run."""

    ingest: str = "@daily"
    train: str | None = None
    start_date: date
    end_date: date | None = None
    catchup: bool = False

    @field_validator("ingest", "train")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        problem = None if v is None else rules.cron_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class TasksConfig(Strict):
    """Retries and timeouts applied to every task of the pipeline."""

    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay_seconds: Annotated[float, Field(ge=0, le=MAX_MINUTES * 60)] = 60
    retry_backoff: Annotated[float, Field(ge=0, le=10)] = Field(
        default=2.0,
        description="Multiplier of the delay between retries (2: each wait doubles); 0 keeps it constant. "
        "A dead server (MLflow, S3) gets time to come back instead of being hit at a fixed pace.",
    )
    max_retry_delay_seconds: Annotated[float, Field(gt=0, le=MAX_MINUTES * 60)] = 1800
    timeout_minutes: Annotated[float, Field(gt=0, le=MAX_MINUTES)] = 60


AlertKind = Literal[
    "validation_failed",
    "quarantined",
    "drift",
    "promoted",
    "refused",
    "approval_pending",
    "rolled_back",
    "run_failed",
]
ALERT_KINDS: tuple[AlertKind, ...] = get_args(AlertKind)
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class AlertsConfig(Strict):
    """Who is told of a pipeline's events, and how. Addresses of receivers that hold a secret (a
    webhook URL with a token, SMTP credentials) live in Airflow connections, never in the YAML."""

    webhook_conn_id: str | None = Field(
        default=None, description="Airflow HTTP connection of a Slack-compatible webhook (JSON POST)."
    )
    email_conn_id: str | None = Field(
        default=None, description="Airflow SMTP connection to send mail through."
    )
    email_to: list[str] = Field(default_factory=list, validate_default=True)
    on: list[AlertKind] = Field(default_factory=lambda: list(ALERT_KINDS))
    view_url: str | None = Field(
        default=None, description="Base URL of the Airflow UI in links; default Airflow's [api] base_url."
    )

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @field_validator("webhook_conn_id", "email_conn_id")
    @classmethod
    def _conn_id(cls, v: str | None) -> str | None:
        if v is not None and not _CONN_ID.match(v):
            raise ValueError(
                f"{v!r} is not an Airflow connection id (letters, digits, '_', '.', '-'); "
                "put the URL or server in an Airflow connection and name it here"
            )
        return v

    @field_validator("email_to")
    @classmethod
    def _email_to(cls, v: list[str], info: ValidationInfo) -> list[str]:
        bad = [a for a in v if not _EMAIL.match(a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        if v and not info.data.get("email_conn_id"):
            raise ValueError(
                "addresses are given but alerts.email_conn_id (an Airflow SMTP connection) is not set"
            )
        if info.data.get("email_conn_id") and not v:
            raise ValueError(
                f"alerts.email_conn_id is {info.data['email_conn_id']!r} but no address to send to"
            )
        return v

    @field_validator("on")
    @classmethod
    def _on(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError(f"empty: list some of {list(ALERT_KINDS)}, or remove the alerts section")
        dupes = sorted({k for k in v if v.count(k) > 1})
        if dupes:
            raise ValueError(f"{dupes} listed twice")
        return v

    @field_validator("view_url")
    @classmethod
    def _view_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"https?://[^\s/@?#]+(/[^\s?#]*)?", v):
            raise ValueError(
                f"{v!r} must be the http(s) base URL of the Airflow UI, such as https://airflow.example.com, "
                "without credentials, query or fragment"
            )
        return v.rstrip("/")

    @property
    def enabled(self) -> bool:
        """Some receiver is configured: otherwise no alert is built or sent."""
        return bool(self.webhook_conn_id or self.email_conn_id)

    def wants(self, kind: str) -> bool:
        """An alert of ``kind`` goes out."""
        return self.enabled and kind in self.on
