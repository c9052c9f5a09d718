"""Which estimators a pipeline may name, decided before any of their code runs.

``model.estimator`` (and each ``model.search.candidates[].estimator``) is a dotted import path, and
importing a module runs its code. So a path is first checked against the packages a pipeline may
use: scikit-learn, whose estimators are listed in ``sklearn_estimators.json`` (shipped with this
package, generated from the pinned scikit-learn by ``python -m airflow_mlops.core.foundation.config.estimators``), and
the packages the deployment allows in ``AIRFLOW_MLOPS_ALLOWED_ESTIMATOR_PACKAGES``. Only a path that
passes is ever imported. scikit-learn paths are fully checked from the list (the class exists, is a
classifier or a regressor for the pipeline's task, needs no constructor argument, has the named
parameters) without importing scikit-learn, so the DAG processor never pays for it. A path in an
allowed extra package is imported and checked to be an estimator: the deployment trusts that code.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any, Final

CATALOG: Final = Path(__file__).with_name("sklearn_estimators.json")
#: The deployment setting naming packages (or dotted module prefixes) allowed beside scikit-learn.
ALLOWED_ENV: Final = "AIRFLOW_MLOPS_ALLOWED_ESTIMATOR_PACKAGES"
_TASK_KIND: Final = {"classification": "classifier", "regression": "regressor"}


@cache
def sklearn_estimators() -> dict[str, dict[str, list[str]]]:
    """The shipped list: public path -> {kinds, params, required} (read once per process)."""
    data: dict[str, Any] = json.loads(CATALOG.read_text(encoding="utf-8"))
    return data["estimators"]  # type: ignore[no-any-return]


def allowed_packages() -> tuple[str, ...]:
    """Packages (or module prefixes) allowed beside scikit-learn, from the deployment setting."""
    from airflow_mlops.core.foundation.settings import get_settings

    return get_settings().estimator_packages


def _in_package(path: str, package: str) -> bool:
    return path.startswith(f"{package}.")


def check_path(path: str, task: str, params: list[str] | None = None) -> str | None:
    """Why ``path`` may not be a ``task`` estimator with ``params``, or None. Imports nothing.

    A path in an extra allowed package passes here; :func:`check_import` judges it after import.
    """
    if _in_package(path, "sklearn"):
        known = sklearn_estimators()
        entry = known.get(path)
        if entry is None:
            return _unknown_sklearn(path, task)
        kind = _TASK_KIND.get(task)
        if kind and kind not in entry["kinds"]:
            return (
                f"{path!r} is a scikit-learn {' and '.join(entry['kinds'])}, but schema.task is "
                f"{task}: use a {kind}"
            )
        if entry["required"]:
            return (
                f"{path!r} needs constructor argument(s) {entry['required']} that a YAML file cannot "
                "give (other estimators); name a single estimator"
            )
        unknown = sorted(set(params or []) - set(entry["params"]))
        if unknown:
            return f"{unknown} are not parameters of {path.rpartition('.')[2]}; valid: {entry['params']}"
        return None
    extra = allowed_packages()
    if any(_in_package(path, p) for p in extra):
        return None
    return (
        f"{path!r} is outside the packages a pipeline may use (scikit-learn"
        + (f", {', '.join(extra)}" if extra else "")
        + f"); it was not imported. A deployment allows more in {ALLOWED_ENV} (comma-separated)"
    )


def _unknown_sklearn(path: str, task: str) -> str:
    kind = _TASK_KIND.get(task)
    known = [p for p, e in sklearn_estimators().items() if kind is None or kind in e["kinds"]]
    name = path.rpartition(".")[2]
    same = [p for p in known if p.rpartition(".")[2] == name]
    close = same or difflib.get_close_matches(path, known, n=3, cutoff=0.75)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return (
        f"{path!r} is not a scikit-learn {kind or 'estimator'} (a public class that fits and predicts){hint}"
    )


def needs_import(path: str) -> bool:
    """The path is in an extra allowed package, so only importing it tells what it is."""
    return not _in_package(path, "sklearn") and any(_in_package(path, p) for p in allowed_packages())


def check_import(path: str) -> str | None:
    """Import an allowed path and say why it is not an estimator class, or None. Call only after
    :func:`check_path` passed."""
    module_name, _, cls_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as e:
        return f"cannot import {path!r}: {e}"
    except Exception as e:  # the module's own code failed: still this file's error, not the parse's
        return f"importing {path!r} failed: {type(e).__name__}: {e}"
    if not inspect.isclass(cls) or not all(
        callable(getattr(cls, m, None)) for m in ("fit", "predict", "get_params", "set_params")
    ):
        return (
            f"{path!r} is not a scikit-learn estimator (a class with fit, predict, get_params and set_params)"
        )
    return None


def generate() -> dict[str, Any]:
    """The list for the installed scikit-learn: every public classifier and regressor, by the path
    its package exports it under, with its parameters and the constructor arguments it requires."""
    import warnings

    import sklearn
    from sklearn.utils import all_estimators

    kinds: dict[type, set[str]] = {}
    for kind in ("classifier", "regressor"):
        for _, cls in all_estimators(type_filter=kind):
            kinds.setdefault(cls, set()).add(kind)
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mod in sorted(sklearn.__all__):
            try:
                module = importlib.import_module(f"sklearn.{mod}")
            except ImportError:
                continue
            for name in sorted(getattr(module, "__all__", [])):
                try:
                    cls = getattr(module, name, None)
                except ImportError:  # experimental classes need an enabling import
                    continue
                if not (inspect.isclass(cls) and cls in kinds):
                    continue
                sig = inspect.signature(cls.__init__)
                args = [p for p in sig.parameters.values() if p.name != "self"]
                required = [
                    p.name
                    for p in args
                    if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                ]
                out[f"sklearn.{mod}.{name}"] = {
                    "kinds": sorted(kinds[cls]),
                    "params": sorted(p.name for p in args if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)),
                    "required": required,
                }
    return {"sklearn_version": sklearn.__version__, "estimators": out}


if __name__ == "__main__":  # regenerate after changing the scikit-learn pin
    tmp = CATALOG.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(generate(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(CATALOG)
    print(f"wrote {CATALOG}")
