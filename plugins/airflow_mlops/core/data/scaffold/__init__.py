"""Scaffold: a starter pipeline YAML and expectation suite from a sample of the data, for
``airflow-mlops init``: column types (:mod:`.profile`), task, features and a first gate
(:mod:`.plan`), a suite with margins (:mod:`.suite_file`), the pipeline dumped from the config
model (:mod:`.pipeline_file`), both checked as ``airflow-mlops check`` does before either is
written (:mod:`.files`). A starting point: :attr:`Scaffold.review` lists what a person must decide.
"""

from airflow_mlops.core.data.scaffold.files import write
from airflow_mlops.core.data.scaffold.pipeline_file import pipeline_config, pipeline_yaml
from airflow_mlops.core.data.scaffold.plan import Scaffold, plan
from airflow_mlops.core.data.scaffold.profile import MAX_SAMPLE_BYTES, ColumnProfile
from airflow_mlops.core.data.scaffold.suite_file import CATEGORY_MOSTLY, suite

__all__ = [
    "CATEGORY_MOSTLY",
    "MAX_SAMPLE_BYTES",
    "ColumnProfile",
    "Scaffold",
    "pipeline_config",
    "pipeline_yaml",
    "plan",
    "suite",
    "write",
]
