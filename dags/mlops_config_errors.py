"""Airflow entry point for the pipelines' config errors: a bad pipeline file shows here.

Airflow records import errors per Python file and drops every DAG of a file that raises. So the
valid pipelines' DAGs are built by mlops_pipelines.py, which never raises for a bad file, and this
file raises one error naming each bad pipeline file, field and problem: the UI shows it under
"DAG Import Errors" while every good pipeline keeps running. It defines no DAG.
"""

from airflow_mlops.dag_factory import raise_config_errors

raise_config_errors()
