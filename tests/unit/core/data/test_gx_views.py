"""GX's data docs views as the site configures them: cached templates, and values escaped."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_the_site_selects_our_views_for_every_page_kind() -> None:
    from airflow_mlops.core.data import gx_views

    views = gx_views.site_views()
    assert views["site_index_builder"]["view"]["class_name"] == "CachedIndexPageView"
    sections = views["site_section_builders"]
    assert {s["view"]["class_name"] for s in sections.values()} == {"CachedPageView"}
    assert all(getattr(gx_views, s["view"]["class_name"]) for s in sections.values())


def test_template_parameters_are_escaped_and_numbers_kept() -> None:
    from airflow_mlops.core.data.gx_views import CachedPageView

    escape = CachedPageView._escape_template_param_value
    assert escape("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape(['"a"']) == "[&#x27;&quot;a&quot;&#x27;]"
    assert escape(3) == 3 and escape(None) is None and escape(0.5) == 0.5


def test_the_bytecode_cache_is_made_once_per_process() -> None:
    from airflow_mlops.core.data.gx_views import bytecode_cache

    assert bytecode_cache() is bytecode_cache()
