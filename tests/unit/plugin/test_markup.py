"""The view's building blocks escape every value once and draw what they are given."""

from __future__ import annotations

import pytest

from airflow_mlops.plugin import markup

pytestmark = pytest.mark.unit


def test_values_are_escaped_and_none_is_empty() -> None:
    assert markup.e('<script>"x"</script>') == "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"
    assert markup.e(None) == ""
    page = markup.page("<b>", "<p>body</p>", "/mlops", flash=("ok", "<done>"))
    assert "<title>&lt;b&gt; · MLOps</title>" in page and "<p>body</p>" in page
    assert '<div class="flash ok">&lt;done&gt;</div>' in page


def test_tables_scores_and_statuses() -> None:
    t = markup.table(["a", "b"], [["1", "2"], ["3", "4"]], row_class=["champion", ""])
    assert '<tr class="champion"><td>1</td><td>2</td></tr><tr><td>3</td>' in t
    assert markup.score(0.123456) == "0.1235" and markup.score(None) == ""
    assert markup.status("failed") == '<span class="bad">failed</span>'
    assert markup.status(None) == '<span class="muted">not validated</span>'


def test_a_chart_has_a_point_per_value_and_its_threshold() -> None:
    assert "nothing to chart yet" in markup.line_chart([], "AUC")
    svg = markup.line_chart([("v1", 0.7), ("v2", 0.72)], "AUC <x>", threshold=0.71)
    assert svg.count("<circle") == 2 and "threshold 0.71" in svg and "AUC &lt;x&gt;" in svg
    flat = markup.line_chart([("v1", 0.5)], "one")  # a single value still gets a scale
    assert "0.000" in flat and "1.000" in flat
