"""Pipeline configuration: one YAML file per pipeline, read into a strict, frozen schema.

Unknown keys are rejected and every error names the file, the field and what is wrong, because a
typo in a YAML file must never silently change what a pipeline does. One module per section of the
YAML; this package's names are the ones the rest of the code imports. It is imported by the DAG
factory at every parse, so it imports nothing heavy.
"""

from airflow_mlops.core.foundation.config.base import (
    LATER_FIELDS,
    MAX_MINUTES,
    PIPELINE_NAME,
    RESERVED_COLUMN,
    ColumnType,
    Strict,
)
from airflow_mlops.core.foundation.config.metrics import METRICS, TaskType
from airflow_mlops.core.foundation.config.model import (
    DEFAULT_MIN_HOLDOUT_ROWS,
    CandidateConfig,
    GateConfig,
    ModelConfig,
    RangeSpace,
    SearchConfig,
    SplitConfig,
)
from airflow_mlops.core.foundation.config.monitor import (
    ColumnDriftConfig,
    CovariateTriggerConfig,
    DriftConfig,
    LabelsConfig,
    MonitorConfig,
    PerformanceTriggerConfig,
    ThresholdTriggerConfig,
    TriggersConfig,
)
from airflow_mlops.core.foundation.config.operations import (
    ALERT_KINDS,
    AlertKind,
    AlertsConfig,
    SchedulesConfig,
    TasksConfig,
    ValidationConfig,
)
from airflow_mlops.core.foundation.config.pipeline import (
    PipelineConfig,
    expand_env,
    folder_problem,
    load_pipeline,
    load_pipelines,
    parse_pipeline,
    read_text,
)
from airflow_mlops.core.foundation.config.schema import FeaturesConfig, SchemaConfig
from airflow_mlops.core.foundation.config.source import (
    SOURCE_KINDS,
    SQL_PARAMS,
    FilesSourceConfig,
    RawFormat,
    SourceConfig,
    SqlQueryConfig,
    SqlSourceConfig,
    format_of,
)

__all__ = [
    "ALERT_KINDS",
    "DEFAULT_MIN_HOLDOUT_ROWS",
    "LATER_FIELDS",
    "MAX_MINUTES",
    "METRICS",
    "PIPELINE_NAME",
    "RESERVED_COLUMN",
    "SOURCE_KINDS",
    "SQL_PARAMS",
    "AlertKind",
    "AlertsConfig",
    "CandidateConfig",
    "ColumnDriftConfig",
    "ColumnType",
    "CovariateTriggerConfig",
    "DriftConfig",
    "FeaturesConfig",
    "FilesSourceConfig",
    "GateConfig",
    "LabelsConfig",
    "ModelConfig",
    "MonitorConfig",
    "PerformanceTriggerConfig",
    "PipelineConfig",
    "RangeSpace",
    "RawFormat",
    "SchedulesConfig",
    "SchemaConfig",
    "SearchConfig",
    "SourceConfig",
    "SplitConfig",
    "SqlQueryConfig",
    "SqlSourceConfig",
    "Strict",
    "TaskType",
    "TasksConfig",
    "ThresholdTriggerConfig",
    "TriggersConfig",
    "ValidationConfig",
    "expand_env",
    "folder_problem",
    "format_of",
    "load_pipeline",
    "load_pipelines",
    "parse_pipeline",
    "read_text",
]
