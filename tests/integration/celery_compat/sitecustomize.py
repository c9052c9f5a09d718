"""Test-only shim, put on the Airflow processes' PYTHONPATH only when it is needed.

apache-airflow-providers-celery 3.26.0 imports ``retry`` from ``celery.backends.database``, which
celery 5.7.0 removed (its database backend now retries by itself), so with celery 5.7 every
CeleryExecutor component fails at import. This restores the 5.6 decorator so that the rest of the
integration module can run; ``test_the_pinned_celery_runs_the_celery_executor`` fails meanwhile,
naming the fix (pin ``celery<5.7``). Once the pin is fixed this file is never put on the path.
"""

from __future__ import annotations

from functools import wraps
from typing import Any


def _install() -> None:
    try:
        import celery.backends.database as db
    except ImportError:
        return
    if hasattr(db, "retry"):
        return

    def retry(fun: Any) -> Any:
        @wraps(fun)
        def _inner(*args: Any, **kwargs: Any) -> Any:
            max_retries = kwargs.pop("max_retries", 3)
            for attempt in range(max_retries):
                try:
                    return fun(*args, **kwargs)
                except db.RETRYABLE_DB_ERRORS:
                    if attempt + 1 >= max_retries:
                        raise
            return None

        return _inner

    db.retry = retry


_install()
