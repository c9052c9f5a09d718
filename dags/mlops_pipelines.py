"""Airflow entry point: one ingest, monitor and train DAG per file in include/pipelines/.

Add a pipeline by adding a YAML file there and a Great Expectations suite in include/expectations/.
No business logic lives here (see airflow_mlops.dag_factory); no heavy library is imported.
"""

from airflow_mlops.dag_factory import build_dags

globals().update(build_dags())
