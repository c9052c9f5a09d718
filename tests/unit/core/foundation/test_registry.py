"""The registry as the gate and the scorer read it: an error is never "no champion", and a model
file that could run code when loaded is refused before it is."""

from __future__ import annotations

import json
import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.errors import NoChampionError, UntrustedModelError
from airflow_mlops.core.foundation.registry import Tag
from airflow_mlops.core.model.promote import promote
from airflow_mlops.core.model.train import train
from airflow_mlops.core.monitor.predict import batches_to_score, score_batch
from tests.unit.conftest import JAN, JUL, World

pytestmark = pytest.mark.unit


class Unavailable:
    """A registry client whose alias lookups fail as a server answering 503 does."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        raise MlflowException("503 Service Unavailable", error_code="TEMPORARILY_UNAVAILABLE")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_missing_alias_is_no_champion(world: World) -> None:
    client = world.client
    assert registry.ModelRegistry(client, "never_registered").champion() is None
    world.champion()
    client.delete_registered_model_alias(world.cfg.registered_model_name, registry.CHAMPION)
    assert registry.ModelRegistry(client, world.cfg.registered_model_name).champion() is None


def test_a_registry_that_cannot_answer_stops_the_gate_and_the_monitor(world: World) -> None:
    """Before: promotion judged a candidate against nothing ("first model"), and the monitor skipped."""
    champion = world.champion()
    failing = Unavailable(world.client)
    candidate = train(
        world.cfg, world.lake, world.client, run_key="r/cand", end_ds=JAN[3], window_days=4
    ).version
    with pytest.raises(MlflowException, match="503"):
        registry.ModelRegistry(failing, world.cfg.registered_model_name).champion()
    with pytest.raises(MlflowException, match="503"):
        promote(world.cfg, world.lake, failing, candidate)
    with pytest.raises(MlflowException, match="503"):
        batches_to_score(world.cfg, world.lake, failing, [JUL])
    tags = registry.tags_of(world.client.get_model_version(world.cfg.registered_model_name, candidate))
    assert f"{Tag.PROMOTION_PREFIX}promoted" not in tags, "no decision was recorded"
    assert (
        str(registry.ModelRegistry(world.client, world.cfg.registered_model_name).champion().version)
        == champion
    )


def _register(
    world: World, model: Any, tags: dict[str, str], fmt: str = "skops", trusted: list[str] | None = None
) -> str:
    import mlflow

    client = world.client
    with mlflow.start_run(experiment_id=client.create_experiment(f"handmade-{uuid.uuid4().hex}")):
        kwargs = {"serialization_format": fmt}
        if fmt == "skops":
            kwargs["skops_trusted_types"] = trusted or []
        info = mlflow.sklearn.log_model(model, name="model", **kwargs)
        return str(mlflow.register_model(info.model_uri, world.cfg.registered_model_name, tags=tags).version)


class Payload:
    """Runs a command when unpickled, as a malicious artifact would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "executed"))

    def predict(self, X: Any) -> Any:  # pragma: no cover - never reached
        return X


def test_a_pickled_model_is_refused_before_it_is_loaded(world: World, tmp_path: Path) -> None:
    marker = tmp_path / "executed.txt"
    import os

    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow's own guard off: ours must hold
    try:
        lineage = {Tag.PIPELINE: world.cfg.name, Tag.RUN_KEY: "someone/else"}
        version = _register(world, Payload(marker), lineage, fmt="cloudpickle")
        marker.unlink(missing_ok=True)  # MLflow itself loads what it logs, in this test process
        with pytest.raises(UntrustedModelError, match="serialized with cloudpickle, which runs code"):
            registry.load_model(world.cfg, world.client, version)
        assert not marker.exists(), "the payload never ran"
        opted_in = world.cfg.model_copy(
            update={"model": world.cfg.model.model_copy(update={"allow_pickle": True})}
        )
        registry.load_model(opted_in, world.client, version)
        assert marker.read_text() == "executed", "with the explicit opt-in, pickle is loaded (and runs)"
    finally:
        os.environ.pop("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", None)


def test_versions_not_made_by_the_pipeline_and_foreign_types_are_refused(world: World) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    stranger = _register(world, model, {"owner": "someone"})
    with pytest.raises(UntrustedModelError, match="not made by airflow-mlops pipeline flights_delay"):
        registry.load_model(world.cfg, world.client, stranger)
    lineage = {Tag.PIPELINE: world.cfg.name, Tag.RUN_KEY: "r/x"}
    forged = _register(world, model, {**lineage, Tag.TRUSTED_TYPES: json.dumps(["builtins.eval"])})
    with pytest.raises(UntrustedModelError, match=r"types outside .*\['builtins.eval'\]"):
        registry.load_model(world.cfg, world.client, forged)
    untagged = _register(world, model, lineage)
    with pytest.raises(UntrustedModelError, match=r"no readable model\.skops_trusted_types tag"):
        registry.load_model(world.cfg, world.client, untagged)
    ours = _register(world, model, {**lineage, Tag.TRUSTED_TYPES: json.dumps([])})
    assert registry.load_model(world.cfg, world.client, ours).predict([[1.0]]).tolist() == [1]


def test_scoring_refuses_an_untrusted_champion(world: World) -> None:
    from sklearn.linear_model import LogisticRegression

    stranger = _register(world, LogisticRegression().fit([[0.0], [1.0]], [0, 1]), {"owner": "someone"})
    world.client.set_registered_model_alias(world.cfg.registered_model_name, registry.CHAMPION, stranger)
    with pytest.raises(UntrustedModelError):
        score_batch(world.cfg, world.lake, world.client, JUL)
    assert not world.lake.exists(world.catalog.predictions_uri(JUL))


def test_no_champion_is_still_no_champion_to_the_monitor(world: World) -> None:
    world.champion()  # a registered model whose alias is then taken away, whatever ran before
    client = world.client
    client.delete_registered_model_alias(world.cfg.registered_model_name, registry.CHAMPION)
    with pytest.raises(NoChampionError):
        batches_to_score(world.cfg, world.lake, client, [JUL])
    _ = pickle  # the module is imported for Payload's protocol only


_NOISY = """
import sys, types, warnings
shim = types.ModuleType("noisy_shim")
def _getattr(name):
    warnings.warn(f"The `noisy_shim.{name}` attribute is deprecated", FutureWarning, stacklevel=2)
    raise AttributeError(name)
shim.__getattr__ = _getattr
sys.modules["noisy_shim"] = shim  # like Airflow's deprecated modules, loaded in every task process
import os, tempfile, scipy.special
from sklearn.preprocessing import FunctionTransformer
from airflow_mlops.core.foundation import registry
from airflow_mlops.core.model.train import skops_types
model = FunctionTransformer(func=scipy.special.expit).fit([[1.0]])
with warnings.catch_warnings(record=True) as ours:
    warnings.simplefilter("always")
    trusted = skops_types(model)
    import skops.io as sio
    path = os.path.join(tempfile.mkdtemp(), "m.skops")
with registry.quiet_skops():
    sio.dump(model, path)
with warnings.catch_warnings(record=True) as loading:
    warnings.simplefilter("always")
    registry._load_skops(path, trusted, "test")
with warnings.catch_warnings(record=True) as bare:
    warnings.simplefilter("always")
    from skops.io._utils import whichmodule
    whichmodule(scipy.special.logit, "logit")
print(sum("noisy_shim" in str(w.message) for w in ours + loading), sum("noisy_shim" in str(w.message) for w in bare))
"""


def test_skops_probing_every_module_does_not_flood_the_task_log() -> None:
    """skops looks a function's name up in every loaded module (at import and when it saves or
    loads); a deprecated module's warning each time filled task logs with a thousand lines."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _NOISY], capture_output=True, text=True, check=True)
    ours, bare = map(int, out.stdout.split())
    assert bare > 0, "the probe no longer warns: this test shows nothing"
    assert ours == 0


def test_mlflow_info_lines_go_to_stdout_not_stderr(tmp_path: Path) -> None:
    """Airflow logs a task's stderr as ERROR: MLflow's "Created version" must not look like one
    (operators call ``log_to_stdout``; the CLI does not, its stdout may be JSON)."""
    import subprocess
    import sys

    code = (
        "import logging; from airflow_mlops.core.foundation import tracking;"
        f"tracking.configure(tracking_uri='sqlite:///{tmp_path}/m.db'); tracking.log_to_stdout();"
        "logging.getLogger('mlflow.store.model_registry').info('Created version 3 of model x')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Created version 3 of model x" in out.stdout
    assert "Created version" not in out.stderr
