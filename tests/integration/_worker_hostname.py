"""``[core] hostname_callable`` of the integration tests' Celery workers.

Both workers run on this one machine, so ``socket.gethostname`` would record the same hostname on
every task instance. Each worker process gets ``AIRFLOW_MLOPS_IT_WORKER`` (w1, w2) and this callable
records it as ``<worker>@<machine>`` (the Celery node name), so that the REST API's task instances
show which worker ran them. It is imported by the workers (their PYTHONPATH holds this directory).
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    worker = os.environ.get("AIRFLOW_MLOPS_IT_WORKER")
    host = socket.gethostname()
    return f"{worker}@{host}" if worker else host
