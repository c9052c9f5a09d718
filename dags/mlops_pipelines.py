"""Airflow entry point: the ingest, monitor, train and rollback DAGs of each valid file in
include/pipelines/ (an invalid one is left out and shown by mlops_config_errors.py).

Add a pipeline by adding a YAML file there and a Great Expectations suite in include/expectations/.
No business logic lives here (see airflow_mlops.dag_factory); no heavy library is imported.
"""

from airflow_mlops.dag_factory import build_dags

globals().update(build_dags())
