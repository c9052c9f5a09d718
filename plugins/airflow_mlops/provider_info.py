"""What Airflow's providers manager learns about airflow-mlops when it is pip-installed (entry point
``apache_airflow_provider``). Only names, no imports: ``airflow providers list`` calls this in
every component. The plugin has its own entry point (``airflow.plugins``): a ``plugins`` entry
here would register it twice.
"""

from __future__ import annotations

from typing import Any

PACKAGE = "airflow_mlops"
INTEGRATION = "airflow-mlops"


def _modules(*names: str) -> list[str]:
    return [f"{PACKAGE}.{name}" for name in names]


def get_provider_info() -> dict[str, Any]:
    """The provider's description, in the shape of ``airflow/provider_info.schema.json``."""
    from airflow_mlops import __version__

    return {
        "package-name": "airflow-mlops",
        "name": "airflow-mlops",
        "description": "The MLOps loop on Apache Airflow 3: ingest, validate, train, promote, score, drift.",
        "versions": [__version__],
        "integrations": [{"integration-name": INTEGRATION, "tags": ["software"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": _modules(
                    "operators.approve",
                    "operators.drift",
                    "operators.ingest",
                    "operators.predict",
                    "operators.promote",
                    "operators.rollback",
                    "operators.search",
                    "operators.train",
                    "operators.validate",
                ),
            }
        ],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": _modules("sensors.data")}],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": _modules(
                    "hooks.lake", "hooks.mlflow", "hooks.alerts", "hooks.sql", "hooks.source"
                ),
            }
        ],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": _modules("triggers.data")}],
        # Only the type this package owns: the lake (aws), the alert receivers (http, smtp) and SQL
        # sources use connection types whose providers register them.
        "connection-types": [
            {
                "connection-type": "mlflow",
                "hook-class-name": f"{PACKAGE}.hooks.mlflow.MlflowHook",
                "hook-name": "MLflow",
            }
        ],
        "extra-links": _modules(
            "links.ModelVersionLink",
            "links.MlflowRunLink",
            "links.GateDecisionLink",
            "links.RegisteredModelLink",
            "links.ValidationLink",
            "links.DriftReportLink",
        ),
        "notifications": _modules("notifiers.alerts.MlopsNotifier"),
    }
