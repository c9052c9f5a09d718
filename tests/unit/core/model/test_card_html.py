"""The card's page: Markdown to self-contained HTML, without a registry."""

from __future__ import annotations

import pytest

from airflow_mlops.core.model.card_html import card_html

pytestmark = pytest.mark.unit


def test_the_converter_builds_tables_lists_and_headings() -> None:
    page = card_html(
        "# T\n\nIntro **bold** and `x|y`\n\n| A | B |\n| --- | --- |\n| 1 \\| 2 | 3 |\n\n- one\n- two\n"
    )
    assert "<h1>T</h1>" in page and "<title>T</title>" in page
    assert "<p>Intro <strong>bold</strong> and <code>x|y</code></p>" in page
    assert (
        "<thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1 | 2</td><td>3</td></tr></tbody>" in page
    )
    assert "<ul><li>one</li><li>two</li></ul>" in page
