"""Extra links: each reads the task's own result and points at the view or MLflow, or is empty."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_mlops import links

pytestmark = pytest.mark.unit
OP: Any = SimpleNamespace(pipeline="flights delay", mlflow_conn_id="mlflow_default")


@pytest.fixture(autouse=True)
def base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")


def test_view_links_are_under_the_public_url_and_quoted() -> None:
    view = "https://airflow.example.com/mlops/pipelines/flights%20delay"
    assert links.ModelVersionLink().url(OP, OP.pipeline, {"version": 3}) == f"{view}/versions/3"
    assert links.GateDecisionLink().url(OP, OP.pipeline, {"candidate_version": "4"}) == f"{view}/versions/4"
    assert (
        links.DriftReportLink().url(OP, OP.pipeline, {"ds": "2013-01-02"})
        == f"{view}/batches/2013-01-02/drift"
    )
    files = f"{view}/batches/2013-01-02/files/validation"
    validation = links.ValidationLink()
    assert validation.url(OP, OP.pipeline, {"ds": "2013-01-02"}) == f"{files}/result.json"
    assert (
        validation.url(OP, OP.pipeline, {"ds": "2013-01-02", "docs_uri": "x"}) == f"{files}/docs/index.html"
    )


@pytest.mark.parametrize("link", links.ALL, ids=lambda link: type(link).__name__)
def test_without_what_it_points_at_a_link_is_empty(
    link: links.BaseOperatorLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(links, "mlflow_hook", lambda op: SimpleNamespace(ui_url=lambda: None))
    assert link.url(OP, OP.pipeline, {}) == ""  # type: ignore[attr-defined]


def test_a_result_that_is_not_a_dict_gives_no_link(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time.xcom import XCom

    monkeypatch.setattr(XCom, "get_value", staticmethod(lambda **kw: None))
    assert links.ModelVersionLink().get_link(OP, ti_key=None) == ""  # type: ignore[arg-type]
    monkeypatch.setattr(XCom, "get_value", staticmethod(lambda **kw: {"version": "2"}))
    assert links.ModelVersionLink().get_link(OP, ti_key=None).endswith("/versions/2")  # type: ignore[arg-type]


def test_mlflow_links_need_its_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    ui = "http://mlflow.local"
    monkeypatch.setattr(links, "mlflow_hook", lambda op: SimpleNamespace(ui_url=lambda: ui))
    got = links.RegisteredModelLink().url(OP, OP.pipeline, {"model_name": "flights delay"})
    assert got == f"{ui}/#/models/flights%20delay"
