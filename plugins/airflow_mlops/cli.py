"""The ``airflow-mlops`` command: pipeline state for people and scripts.

``status`` (and ``card``) read the same state the DAGs write (the lake and the MLflow registry) through
``core.status``, reaching them through the same connections as the tasks; it needs no running Airflow.
``rollback`` moves the champion back through ``core.model.rollback``, under the same lock as the
DAGs' promotions, so it is safe while a train run promotes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

from airflow_mlops.core.foundation import tracking
from airflow_mlops.core.foundation.errors import MlopsError


def status(pipelines: list[str] | None = None) -> list[dict[str, Any]]:
    """State of every pipeline (or of the named ones)."""
    from airflow_mlops.core.foundation.config import load_pipelines
    from airflow_mlops.core.foundation.settings import get_settings
    from airflow_mlops.core.presentation.status import pipeline_status
    from airflow_mlops.hooks import LakeHook, MlflowHook

    good, bad = load_pipelines(get_settings().pipelines_dir)
    if bad:
        print("\n".join(str(e) for e in bad), file=sys.stderr)
    lake, hook = LakeHook().get_lake(), MlflowHook()
    uri = hook.tracking_uri() or get_settings().mlflow_tracking_uri
    with ExitStack() as stack:
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            # No registry yet. MLflow would create its database on the first query: a read command
            # must not, so it reads an empty registry of its own, made and removed here (a client of
            # its own, not tracking.configure: nothing process-wide points at it).
            from mlflow import MlflowClient

            empty = stack.enter_context(tempfile.TemporaryDirectory(prefix="airflow-mlops-status-"))
            temp = f"sqlite:///{Path(empty) / 'mlflow.db'}"
            client = MlflowClient(tracking_uri=temp, registry_uri=temp)
        else:
            client = hook.get_client()
        return [pipeline_status(c, lake, client) for c in good if not pipelines or c.name in pipelines]


def rollback(pipeline: str, *, reason: str, by: str, to: str | None = None) -> dict[str, Any]:
    """Give the pipeline's champion alias back to the previous champion (or to version ``to``)."""
    from airflow_mlops.core.model.rollback import rollback as roll_back
    from airflow_mlops.hooks import LakeHook, MlflowHook

    lake, client = LakeHook().get_lake(), MlflowHook().get_client()
    return roll_back(_pipeline(pipeline), lake, client, reason=reason, by=by, to=to).to_dict()


def _pipeline(name: str) -> Any:
    """The valid pipeline ``name``, else a ConfigError naming the valid ones."""
    from airflow_mlops.core.foundation.config import load_pipelines
    from airflow_mlops.core.foundation.errors import ConfigError
    from airflow_mlops.core.foundation.settings import get_settings

    good, _ = load_pipelines(get_settings().pipelines_dir)
    cfg = next((c for c in good if c.name == name), None)
    if cfg is None:
        known = ", ".join(c.name for c in good) or "none"
        raise ConfigError(f"no pipeline named {name!r} (valid pipelines: {known})")
    return cfg


def default_user() -> str:
    """Who runs the command, recorded as ``by`` unless ``--by`` says otherwise."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry or LOGNAME
        return "unknown"


#: Where the values of a status line start: the continuation lines are indented this far.
PAD = " " * 19


def render_status(rows: list[dict[str, Any]]) -> str:
    """Human-readable status, a few lines per pipeline."""
    out: list[str] = []

    def line(label: str, text: str) -> None:
        out.append(f"  {label + ':':<17}{text}")

    for p in rows:
        out.append(f"{p['pipeline']} (model {p['model']}, {p['versions']} versions, {p['batches']} batches)")
        c, i, v, d, g = (
            p[k] for k in ("champion", "last_ingest", "last_validation", "drift", "last_decision")
        )
        if c:
            score = f"{c['score']:.4f}" if c["score"] is not None else "n/a"
            window = f"{c['trained_on'][0]}..{c['trained_on'][-1]}" if c["trained_on"] else "?"
        line("champion", f"v{c['version']}  {c['metric']}={score}  trained on {window}" if c else "none yet")
        line("last ingest", f"{i['ds']}  {i['rows']} rows  hash {i['content_hash'][:12]}" if i else "none")
        line(
            "last validation",
            f"{v['ds']}  {v['status']}  ({v['failed']} of {v['evaluated']} failed)" if v else "none",
        )
        if d:
            flag = "DRIFT" if d["drift_detected"] else "ok"
            line(
                "last drift",
                f"{d['ds']}  {d['drift_share']:.0%} of columns drifted (threshold {d['threshold']:.0%}) "
                f"{flag}  vs v{d['model_version']}",
            )
            out.append(f"{PAD}report {d['html_uri']}")
            out += signal_lines(d)
        else:
            line("last drift", "none")
        for u in p.get("drift_not_counted") or []:
            flag = "DRIFT" if u.get("drift_detected") else "ok"
            line("not counted", f"{u['ds']}  {flag}, not the pipeline's drift: batch {u['why']}")
        line("last decision", f"v{g['candidate_version']} {_verdict(g)}: {g['reason']}" if g else "none")
        if g and g.get("approval") and g["approval"] != "pending":
            out.append(f"{PAD}{g['approval']} by {g['approval_by']}: {g['approval_reason']}")
        if g:
            out.append(f"{PAD}trained because: {g['train_reason']}")
    return "\n".join(out)


def signal_lines(d: dict[str, Any]) -> list[str]:
    """The monitoring signals of a drift summary (core/monitor/signals.py), one line each, and the retrain."""
    out = []
    for name, sig in (d.get("signals") or {}).items():
        if name == "covariate_drift":
            continue
        value = "n/a" if sig.get("value") is None else f"{sig['value']:.4f}"
        bound = "" if sig.get("threshold") is None else f" (threshold {sig['threshold']:.4f})"
        state = "FIRED" if sig.get("fired") else ("on" if sig.get("enabled") else "watched")
        note = f"  {sig['note']}" if sig.get("note") else ""
        out.append(f"    {name + ':':<18} {value}{bound} {state}, {sig.get('rows', 0)} rows{note}")
    if d.get("labels"):
        lab = d["labels"]
        out.append(
            f"    labels:            {lab['rows']} arrived ({lab['arrive']}), {lab['matched']} joined "
            f"to predictions, {lab['unmatched']} unmatched"
        )
    if d.get("retrain"):
        out.append(f"    retrain asked for: {d.get('retrain_reason')}")
    return out


def card(pipeline: str, version: str, html_page: bool = False) -> str:
    """The stored model card of a version of ``pipeline`` (Markdown, or the HTML page)."""
    from airflow_mlops.core.foundation.errors import DataNotFoundError
    from airflow_mlops.core.model.model_card import read_card
    from airflow_mlops.hooks import MlflowHook

    cfg = _pipeline(pipeline)
    text = read_card(MlflowHook().get_client(), cfg.registered_model_name, version, html_page=html_page)
    if text is None:
        raise DataNotFoundError(
            f"{cfg.registered_model_name} v{version}: no model card; one is written when the version "
            "is trained, judged by the gate or rolled back"
        )
    return text


def _verdict(g: dict[str, Any]) -> str:
    """A decision in one word or three, approval included."""
    state = g.get("approval") or ""
    if state == "pending":
        return "passed the gate, waiting for approval"
    if g["promoted"]:
        return "promoted" + (" (approved)" if state else "")
    return f"not promoted ({state})" if state else "rejected"


def main(argv: list[str] | None = None) -> int:
    tracking.keep_stdout_clean()
    ap = argparse.ArgumentParser(prog="airflow-mlops", description="State of airflow-mlops pipelines.")
    sub = ap.add_subparsers(dest="command", required=True)
    st = sub.add_parser(
        "status", help="champion, last ingest, validation, drift and gate decision per pipeline"
    )
    st.add_argument("pipeline", nargs="*", help="only these pipelines")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    chk = sub.add_parser("check", help="validate pipeline YAML files (all of include/pipelines by default)")
    chk.add_argument("files", nargs="*")
    cd = sub.add_parser("card", help="print the model card of a version")
    cd.add_argument("pipeline")
    cd.add_argument("version")
    cd.add_argument("--html", action="store_true", help="the self-contained HTML page instead of Markdown")
    rb = sub.add_parser(
        "rollback",
        help="give the champion alias back to the version it replaced (or to --to VERSION)",
        description="Restore the previous champion. Recorded on both versions (who, when, why) under "
        "the same lock as promotions. The target must be a version that was champion once.",
    )
    rb.add_argument("pipeline")
    rb.add_argument("--to", metavar="VERSION", help="restore this version instead of the previous champion")
    rb.add_argument("--reason", required=True, help="why; recorded on both versions")
    rb.add_argument("--by", default=None, help="who asks (default: the OS user)")
    rb.add_argument("--json", action="store_true", help="machine-readable output")
    add_init_parser(sub)
    a = ap.parse_args(argv)
    try:
        if a.command == "init":
            return init(a)
        if a.command == "check":
            return check(a.files)
        if a.command == "card":
            print(card(a.pipeline, a.version, a.html), end="")
            return 0
        if a.command == "rollback":
            done = rollback(a.pipeline, reason=a.reason, by=a.by or default_user(), to=a.to)
            print(
                json.dumps(done)
                if a.json
                else f"{done['pipeline']}: champion {done['model_name']} v{done['from_version']} -> "
                f"v{done['to_version']} (rolled back by {done['by']} at {done['at']}: {done['reason']})"
            )
            return 0
        rows = status(a.pipeline or None)
    except MlopsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.pipeline and not rows:
        print(f"error: no pipeline named {', '.join(a.pipeline)}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2, default=str) if a.json else render_status(rows))
    return 0


def add_init_parser(sub: Any) -> None:
    """``init NAME --sample FILE --target COLUMN``: a starter pipeline and suite from a sample."""
    ini = sub.add_parser(
        "init",
        help="write a starter pipeline YAML and expectation suite from a sample of the data",
        description="Read a sample (CSV, Parquet or JSON Lines) and write include/pipelines/NAME.yaml "
        "and include/expectations/NAME.json: column types as ingest reads them, the task from the "
        "target, numeric and categorical features (identifiers and free text left out, with the "
        "reason), and expectations from what the sample shows. Prints what it decided and what to review.",
    )
    ini.add_argument("name", help="the pipeline's name (lower case letters, digits, underscores)")
    ini.add_argument("--sample", required=True, metavar="FILE", help="a sample of the raw data")
    ini.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    ini.add_argument("--time-column", metavar="COLUMN", help="the column saying when a record happened")
    ini.add_argument("--format", choices=["csv", "parquet", "jsonl"], help="default: from the suffix")
    ini.add_argument(
        "--start-date", type=_day, metavar="YYYY-MM-DD", help="schedules.start_date (default today)"
    )
    ini.add_argument(
        "--out",
        metavar="DIR",
        help="write DIR/pipelines/NAME.yaml and DIR/expectations/NAME.json (default: "
        "AIRFLOW_MLOPS_PIPELINES_DIR and AIRFLOW_MLOPS_EXPECTATIONS_DIR)",
    )
    ini.add_argument("--force", action="store_true", help="overwrite existing files")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def init(a: argparse.Namespace) -> int:
    """Plan from the sample, write both files, print the decisions and the review list."""
    from airflow_mlops.core.data import scaffold
    from airflow_mlops.core.foundation.settings import get_settings

    sc = scaffold.plan(
        a.name, Path(a.sample), a.target, time_column=a.time_column, fmt=a.format, start_date=a.start_date
    )
    if a.out:
        pipelines, expectations = Path(a.out) / "pipelines", Path(a.out) / "expectations"
    else:
        settings = get_settings()
        pipelines, expectations = settings.pipelines_dir, settings.expectations_dir
    yaml_path, suite_file = scaffold.write(sc, pipelines, expectations, force=a.force)
    print(sc.summary())
    print(f"wrote {yaml_path}\nwrote {suite_file}")
    print("Review before the first run:")
    print("\n".join(f"  {i}. {line}" for i, line in enumerate(sc.review, start=1)))
    # `check` finds the suite in the expectations folder of the include folder it is given.
    prefix = f"AIRFLOW_MLOPS_INCLUDE_DIR={a.out} " if a.out else ""
    print(f"Then: {prefix}airflow-mlops check {yaml_path}")
    return 0


def check(files: list[str]) -> int:
    """Exit 0 if every file is a valid pipeline whose suite loads and whose estimator can be built,
    else print each problem (one line each, naming the file and the field) and exit 1. No file to
    check (a missing or empty folder, a file that does not exist) is a problem too: a CI gate that
    checks nothing must not pass."""
    from airflow_mlops.core.foundation.config import folder_problem, load_pipelines
    from airflow_mlops.core.foundation.settings import get_settings

    folder = get_settings().pipelines_dir
    paths = [Path(f) for f in files] if files else sorted(folder.glob("*.yaml"))
    empty = None if files else folder_problem(folder)
    problems: list[str] = [empty] if empty else []
    problems += [f"{p}: no such file" for p in paths if not p.is_file()]
    good, bad = load_pipelines([p for p in paths if p.is_file()])
    problems += [line for e in bad for line in str(e).splitlines()]
    for cfg in good:
        where = next((str(p) for p in paths if p.stem == cfg.name), str(folder / f"{cfg.name}.yaml"))
        problems += [f"{where}: {line.removeprefix(f'{cfg.name}: ')}" for line in _built(cfg)]
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"ok: {', '.join(c.name for c in good)}")
        return 0
    files_at_fault = {line.split(": ", 1)[0] for line in problems}
    print(f"{len(problems)} problem(s) in {len(files_at_fault)} file(s)")
    return 1


def _built(cfg: Any) -> list[str]:
    """What only building the pipeline's parts finds: its suite, its estimator and parameters."""
    from airflow_mlops.core.data.suite import check_columns, load_suite, suite_path
    from airflow_mlops.core.model.modeling import check_param_values, make_estimator

    out: list[str] = []
    try:
        check_columns(load_suite(suite_path(cfg)), suite_path(cfg), cfg)
    except MlopsError as err:
        out += [f"validation.suite: {line}" for line in str(err).splitlines()]
    if cfg.drift.method or any(c.method for c in cfg.drift.per_column.values()):
        from airflow_mlops.core.monitor.methods import check_methods

        try:
            check_methods(cfg)
        except MlopsError as err:
            out += str(err).splitlines()
    if cfg.model.search is not None:
        from airflow_mlops.core.model.search import check_candidates

        return out + check_candidates(cfg)
    try:
        check_param_values(cfg, make_estimator(cfg, cfg.split.seed))
    except MlopsError as err:
        out += str(err).splitlines()
    return out


if __name__ == "__main__":
    sys.exit(main())
