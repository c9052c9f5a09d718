"""Evidently's report page with its data escaped for the ``<script>`` it sits in."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from airflow_mlops.core.monitor.report_html import evidently_html, script_json
from tests.unit.plugin.hostile import PAYLOADS

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", [*PAYLOADS, "a & b", "\u2028\u2029", {"<k>": ["</script>", 1.5]}])
def test_script_json_reads_back_the_same_and_holds_no_tag(value: object) -> None:
    text = script_json(value)
    assert json.loads(text) == value
    assert not re.search(r"[<>&\u2028\u2029]", text), text


def test_a_report_over_hostile_values_has_only_evidentlys_own_scripts() -> None:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def frame(shift: int) -> pd.DataFrame:
        n = 60
        return pd.DataFrame(
            {
                PAYLOADS[1]: [
                    PAYLOADS[(i + shift) % len(PAYLOADS)] for i in range(n)
                ],  # categorical, named by one
                "note": [f"text {i} {PAYLOADS[i % len(PAYLOADS)]}" for i in range(n)],  # free text
            }
        )

    snapshot = Report([DataDriftPreset()]).run(frame(1), frame(0))
    theirs, ours = snapshot.get_html_str(as_iframe=False), evidently_html(snapshot)
    assert "</script><script>alert(102)</script>" in theirs  # the hole this module closes
    for payload in PAYLOADS:
        if "<" in payload:
            assert payload not in ours, payload
        assert script_json(payload)[1:-1] in ours, payload  # still shown, as data
    # The same page otherwise: as many script elements as a report over harmless values has.
    clean = evidently_html(
        Report([DataDriftPreset()]).run(pd.DataFrame({"c": ["a", "b"] * 30}), pd.DataFrame({"c": ["a"] * 60}))
    )
    assert len(re.findall(r"<script\b", ours, re.I)) == len(re.findall(r"<script\b", clean, re.I))
    assert ours.count("</script>") == clean.count("</script>")
