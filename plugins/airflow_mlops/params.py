"""The Params each kind of airflow-mlops DAG declares (shared by the DAG factory and the API guard)."""

PARAMS: dict[str, tuple[str, ...]] = {
    "ingest": (),
    "monitor": ("ds",),
    "train": ("reason", "training_window_days", "end_date", "force"),
}
