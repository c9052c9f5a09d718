"""The operations sections: validation suites by file name, schedules as cron, and alerts whose
secrets stay in Airflow connections."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_mlops.core.foundation.config.operations import ALERT_KINDS, AlertsConfig, SchedulesConfig

pytestmark = pytest.mark.unit


def test_alerts_go_out_only_when_a_receiver_is_configured() -> None:
    assert not AlertsConfig().enabled and not AlertsConfig().wants("drift")
    hook = AlertsConfig.model_validate({"webhook_conn_id": "slack", "on": ["drift"]})
    assert hook.wants("drift") and not hook.wants("promoted")
    assert AlertsConfig.model_validate({"webhook_conn_id": "slack"}).on == list(ALERT_KINDS)


def test_yaml_reads_a_bare_on_key_as_true_and_the_model_takes_it_back() -> None:
    assert AlertsConfig.model_validate({"webhook_conn_id": "slack", True: ["promoted"]}).on == ["promoted"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"webhook_conn_id": "https://hooks.slack.com/T0/B0/x"}, "is not an Airflow connection id"),
        ({"email_to": ["ops@example.com"]}, "alerts.email_conn_id .* is not set"),
        ({"email_conn_id": "smtp"}, "but no address to send to"),
        ({"email_conn_id": "smtp", "email_to": ["not-an-address"]}, "not e-mail addresses"),
        ({"webhook_conn_id": "slack", "on": []}, "empty: list some of"),
        ({"webhook_conn_id": "slack", "on": ["drift", "drift"]}, r"\['drift'\] listed twice"),
        ({"view_url": "https://user:pw@airflow.example.com"}, "without credentials"),
    ],
)
def test_alerts_config_errors_say_what_to_do(data: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        AlertsConfig.model_validate(data)


def test_a_view_url_loses_its_trailing_slash_and_schedules_are_cron() -> None:
    assert (
        AlertsConfig.model_validate({"view_url": "https://a.example.com/x/"}).view_url
        == "https://a.example.com/x"
    )
    with pytest.raises(ValidationError, match="has 2 field"):
        SchedulesConfig.model_validate({"ingest": "every day", "start_date": "2024-01-01"})
