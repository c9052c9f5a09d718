"""Operators of airflow-mlops: thin adapters over airflow_mlops.core."""

from airflow_mlops.operators.approve import ApplyPromotionOperator, ApprovePromotionOperator
from airflow_mlops.operators.drift import DriftReportOperator
from airflow_mlops.operators.ingest import IngestOperator
from airflow_mlops.operators.predict import BatchPredictOperator
from airflow_mlops.operators.promote import PromoteModelOperator
from airflow_mlops.operators.rollback import RollbackOperator
from airflow_mlops.operators.train import TrainModelOperator
from airflow_mlops.operators.validate import ValidateDataOperator

__all__ = [
    "ApplyPromotionOperator",
    "ApprovePromotionOperator",
    "BatchPredictOperator",
    "DriftReportOperator",
    "IngestOperator",
    "PromoteModelOperator",
    "RollbackOperator",
    "TrainModelOperator",
    "ValidateDataOperator",
]
