"""DAG ids: one function builds ``<pipeline>__<kind>``, one parses it back; nothing else spells it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_mlops.dag_factory import KINDS, dag_id, parse_dag_id
from airflow_mlops.params import BY_KIND

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pipeline", ["flights_delay", "a", "two__parts", "x_"])
def test_round_trip(pipeline: str, kind: str) -> None:
    assert parse_dag_id(dag_id(pipeline, kind)) == (pipeline, kind)


@pytest.mark.parametrize("value", ["flights_delay", "flights_delay__nope", "__train", "train", ""])
def test_other_dags_are_not_ours(value: str) -> None:
    assert parse_dag_id(value) is None


def test_an_unknown_kind_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'deploy' of pipeline 'p'"):
        dag_id("p", "deploy")


def test_the_kinds_are_those_that_have_params() -> None:
    assert set(KINDS) == set(BY_KIND)


def test_the_plugin_does_not_spell_the_format_itself() -> None:
    plugin = Path(__file__).resolve().parents[2] / "plugins" / "airflow_mlops" / "plugin"
    for path in plugin.glob("*.py"):
        assert not re.search(r"__(train|monitor|ingest|rollback)\b|rpartition\(\"__\"\)", path.read_text()), (
            path
        )
