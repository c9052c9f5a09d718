"""Operators of airflow-mlops: thin adapters over airflow_mlops.core.

Each is imported on first use (PEP 562): the DAG file builds only the operators its pipelines use,
and the approval operators pull in providers-standard's human-in-the-loop module.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "ApplyPromotionOperator": "approve",
    "ApprovePromotionOperator": "approve",
    "BatchPredictOperator": "predict",
    "DriftReportOperator": "drift",
    "IngestOperator": "ingest",
    "PlanSearchOperator": "search",
    "PromoteModelOperator": "promote",
    "RollbackOperator": "rollback",
    "SearchTrialOperator": "search",
    "TrainModelOperator": "train",
    "ValidateDataOperator": "validate",
}
__all__ = [
    "ApplyPromotionOperator",
    "ApprovePromotionOperator",
    "BatchPredictOperator",
    "DriftReportOperator",
    "IngestOperator",
    "PlanSearchOperator",
    "PromoteModelOperator",
    "RollbackOperator",
    "SearchTrialOperator",
    "TrainModelOperator",
    "ValidateDataOperator",
]

if TYPE_CHECKING:
    from airflow_mlops.operators.approve import ApplyPromotionOperator, ApprovePromotionOperator
    from airflow_mlops.operators.drift import DriftReportOperator
    from airflow_mlops.operators.ingest import IngestOperator
    from airflow_mlops.operators.predict import BatchPredictOperator
    from airflow_mlops.operators.promote import PromoteModelOperator
    from airflow_mlops.operators.rollback import RollbackOperator
    from airflow_mlops.operators.search import PlanSearchOperator, SearchTrialOperator
    from airflow_mlops.operators.train import TrainModelOperator
    from airflow_mlops.operators.validate import ValidateDataOperator


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
