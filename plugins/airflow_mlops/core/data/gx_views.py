"""Great Expectations' data docs views with their Jinja templates compiled once per machine.

GX builds a new Jinja environment per page, recompiling its ~50 templates every build: 40% of a
day's validation (issue 10). These are GX's views with Jinja's file bytecode cache (per user, mode
0700, checked against the source) on that environment. GX loads this module by name from the data
docs site's configuration, so it imports GX at module scope and nothing Airflow parses imports it.

The views also escape what GX leaves raw: its ``.j2`` templates never get Jinja's autoescape, so
an unexpected value (a category ``<img src=x onerror=...>``) became markup. Plain values, list
items and template parameters are HTML-escaped; GX's own markup is left as GX writes it.
"""

from __future__ import annotations

import html
import logging
from functools import cache
from typing import Any

# GX at module scope on purpose: only GX imports this module, by name, when it builds data docs.
from great_expectations.render.view.view import (  # noqa: TID253
    DefaultJinjaIndexPageView,
    DefaultJinjaPageView,
)
from jinja2 import BytecodeCache, FileSystemBytecodeCache, pass_context

log = logging.getLogger(__name__)


@cache
def bytecode_cache() -> BytecodeCache | None:
    """One cache object per process (Jinja's default directory: ``$TMPDIR/_jinja2-cache-<uid>``);
    None where that directory cannot be made safely (the pages are then compiled as by GX)."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        log.warning("no safe temporary directory for Jinja's bytecode cache; data docs compile each time")
        return None


def _plain(value: Any) -> bool:
    """A value GX writes as text, not a content block it renders through a template."""
    return not isinstance(value, (dict, list)) and not hasattr(value, "to_json_dict")


class _EscapingView:
    """What both views change in GX's: a cached Jinja environment, and plain values escaped."""

    env: Any  # GX's view's Jinja environment

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()

    @pass_context  # a Jinja filter that takes the template's context, like GX's own
    def render_content_block(self, jinja_context: Any, content_block: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("render_to_markdown"):
            return super().render_content_block(jinja_context, content_block, *args, **kwargs)  # type: ignore[misc]
        if isinstance(content_block, list):
            content_block = [html.escape(str(x)) if _plain(x) and x is not None else x for x in content_block]
        elif isinstance(content_block, str):
            return html.escape(content_block)
        return super().render_content_block(jinja_context, content_block, *args, **kwargs)  # type: ignore[misc]

    @staticmethod
    def _escape_template_param_value(value: Any) -> Any:
        """Every parameter as escaped text (GX escapes strings without quotes, and lists not at
        all); numbers and None stay as they are."""
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return html.escape(str(value), quote=True)


class CachedPageView(_EscapingView, DefaultJinjaPageView):  # type: ignore[misc]
    """GX's page view (suite and validation pages)."""


class CachedIndexPageView(_EscapingView, DefaultJinjaIndexPageView):  # type: ignore[misc]
    """GX's index page view."""


def site_views() -> dict[str, Any]:
    """The data docs site keys that select these views (merged by GX into its defaults)."""
    page = {"module_name": __name__, "class_name": CachedPageView.__name__}
    index = {"module_name": __name__, "class_name": CachedIndexPageView.__name__}
    return {
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": index},
        "site_section_builders": {
            "expectations": {"view": page},
            "validations": {"view": page},
            "profiling": {"view": page},
        },
    }
