"""Scaffold: a starter pipeline YAML and expectation suite from a sample of the data.

``airflow-mlops init`` reads a sample file and decides what a person would otherwise write by
hand: each column's type (:mod:`.profile`, through ingest's own coercion, so every type written is
one ingest accepts for the same bytes), the task from the target, the features and a first gate
(:mod:`.plan`), and a suite of what the sample shows with a margin (:mod:`.suite_file`). The
pipeline is built as the config model and dumped from it (:mod:`.pipeline_file`). Everything
written is a starting point: :attr:`Scaffold.review` lists what a person must decide, and both
files are checked by the same loaders as ``airflow-mlops check`` before either is written
(:mod:`.files`). No Airflow here.
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
