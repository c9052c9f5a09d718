"""airflow-mlops: the MLOps loop on Apache Airflow 3."""

__version__ = "0.1.0"
