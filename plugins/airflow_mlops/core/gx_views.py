"""Great Expectations' data docs views with their Jinja templates compiled once per machine.

GX builds a new Jinja environment for every page it renders, so every data docs build parses and
compiles its ~50 templates again: 40% of a day's validation (issue 10's loop profile). These
views are GX's own, with a bytecode cache on that environment: Jinja's file cache in the system's
temporary directory (one per user, mode 0700, checked against the template's source), shared by
every task process. The pages are unchanged. GX loads this module by name from the data docs
site's configuration (:func:`airflow_mlops.core.validate._context`), so it imports GX at module
scope and nothing that Airflow parses imports it.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

# GX at module scope on purpose: only GX imports this module, by name, when it builds data docs.
from great_expectations.render.view.view import (  # noqa: TID253
    DefaultJinjaIndexPageView,
    DefaultJinjaPageView,
)
from jinja2 import BytecodeCache, FileSystemBytecodeCache

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


class CachedPageView(DefaultJinjaPageView):  # type: ignore[misc]
    """GX's page view (suite and validation pages)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()


class CachedIndexPageView(DefaultJinjaIndexPageView):  # type: ignore[misc]
    """GX's index page view."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = bytecode_cache()


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
