"""A model card's Markdown, from a version's tags and monitoring rows; pure, so it is tested from tags alone."""

from __future__ import annotations

import json
from typing import Any, Final

from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.registry import Tag, prefixed

APPROVAL_PREFIX: Final = f"{Tag.PROMOTION_PREFIX}approval."

#: What each state means, in the card's words.
STATES: Final = {
    "candidate": "registered by training; not judged by the gate yet",
    "champion": "in production: the `champion` alias points at it",
    "refused": "judged by the gate and not promoted",
    "replaced": "was champion; a better version replaced it",
    "rolled_back": "was champion; a person rolled it back",
    "restored": "in production again: a rollback gave it the `champion` alias back",
}
#: Batches of drift shown one per row; older ones are only counted.
DRIFT_ROWS_SHOWN: Final = 10
#: Slices of the gate shown one per row (the worst first); the rest stay in the version's tag.
SLICE_ROWS_SHOWN: Final = 30


def _cell(value: Any) -> str:
    """A value inside a Markdown table cell or list item: one line, pipes escaped."""
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|") or "-"


def _code(value: Any) -> str:
    text = _cell(value).replace("`", "'")
    return f"`{text}`"


def _num(value: Any) -> str:
    try:
        return f"{float(value):.4f}"
    except (TypeError, ValueError):
        return _cell(value)


def left_out_text(tag: str | None) -> str:
    """The ``data.left_out`` tag in words: each interval of the window not trained on, and why."""
    if tag is None:
        return "not recorded (trained before this was recorded)"
    parts = []
    for why, days in sorted(json.loads(tag).items()):
        shown = [f"{d} ({r})" for d, r in days.items()] if isinstance(days, dict) else list(days)
        parts.append(f"{why}: {', '.join(shown)}")
    return "; ".join(parts) or "none"


def _table(header: tuple[str, str], rows: list[tuple[str, str]]) -> list[str]:
    return [f"| {header[0]} | {header[1]} |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows), ""]


def card_markdown(
    cfg: PipelineConfig,
    version_tags: dict[str, str],
    drift_rows: list[dict[str, Any]],
    state: str,
    *,
    version: str,
    snapshots: list[dict[str, Any]] | None = None,
    updated_at: str = "",
    champion: tuple[str, dict[str, str]] | None = None,
) -> str:
    """The card in Markdown (headings, tables, lists, paragraphs: what :func:`card_html` converts).

    ``champion`` (its version and tags) puts the champion's importances beside this version's.
    """
    t = version_tags
    name = cfg.registered_model_name
    window = json.loads(t.get(Tag.WINDOW) or "[]")
    span = f"{window[0]} to {window[-1]}" if window else "unknown"
    snaps = snapshots if snapshots is not None else snapshot_details_from_tags(t)
    md = [f"# Model card: {_cell(name)} v{_cell(version)}", ""]
    md += [
        f"**State: {_cell(state)}** ({STATES.get(state, 'as recorded')}). Card updated {_cell(updated_at)}.",
        "",
    ]

    md += ["## Intended use", "", _cell(cfg.description or "(the pipeline config has no description)"), ""]
    md += _table(
        ("Field", "Value"),
        [
            ("Pipeline", _cell(cfg.name)),
            ("Owner", _cell(cfg.owner)),
            ("Task", _cell(cfg.data_schema.task)),
            ("Target", _code(cfg.data_schema.target)),
            ("Numeric features", _cell(", ".join(cfg.features.numeric) or "none")),
            ("Categorical features", _cell(", ".join(cfg.features.categorical) or "none")),
            ("Estimator", _code(t.get(Tag.ESTIMATOR) or cfg.model.estimator)),
            ("Trained because", _cell(t.get(Tag.REASON))),
        ],
    )

    md += ["## Training data", ""]
    md += _table(
        ("Field", "Value"),
        [
            ("Window", _cell(f"{span} ({len(window)} intervals)")),
            ("Left out of the window", _cell(left_out_text(t.get(Tag.LEFT_OUT)))),
            ("Training rows", _cell(t.get(Tag.TRAIN_ROWS))),
            ("Held-out rows", _cell(t.get(Tag.TEST_ROWS))),
            ("Validation", _cell(t.get(Tag.VALIDATION))),
            ("Config hash", _code(t.get(Tag.CONFIG_HASH))),
            ("Data fingerprint", _code(t.get(Tag.FINGERPRINT))),
            ("Source", _code(t.get(Tag.SOURCE))),
            ("Airflow run", _cell(" / ".join(x for x in (t.get(Tag.DAG_ID), t.get(Tag.RUN_ID)) if x))),
        ],
    )
    md += ["### Snapshots", ""]
    for s in snaps:
        rows = f", {s['rows']} rows" if s.get("rows") is not None else ""
        again = " (re-ingested since: the lake now holds other data)" if s.get("reingested") else ""
        md.append(f"- {_cell(s['ds'])}: hash {_code(s['hash'])}{_cell(rows) if rows else ''}{again}")
    md += [] if snaps else ["No snapshots recorded."]
    md.append("")

    md += ["## Evaluation on the held-out data", ""]
    md += [
        f"Scored on the newest {cfg.split.test_fraction:.0%} of the window's rows, held out by time "
        "(against a champion, the gate compares both only on rows neither was fit on). "
        f"The gate metric is **{_cell(cfg.gate.metric)}** "
        f"({'higher' if cfg.gate.higher_is_better else 'lower'} is better, "
        f"{'minimum' if cfg.gate.higher_is_better else 'maximum'} {cfg.gate.minimum}, "
        f"required improvement {cfg.gate.min_improvement}).",
        "",
    ]
    metrics = prefixed(t, Tag.METRIC_PREFIX).items()
    md += _table(
        ("Metric", "Value"),
        [
            (f"**{_cell(k)}** (gate)", f"**{_num(v)}**") if k == cfg.gate.metric else (_cell(k), _num(v))
            for k, v in metrics
        ],
    )

    md += _search(t)
    md += _importances(cfg, t, version, champion)
    md += ["## Gate decision", ""]
    md += _decision(t)
    md += _slices(cfg, t)
    md += ["## Rollback history", ""]
    md += _rollbacks(t)
    md += ["## Drift since deployment", ""]
    md += _drift(cfg, drift_rows)

    md += ["## Code and libraries", ""]
    libs = prefixed(t, Tag.LIBRARY_PREFIX).items()
    md += _table(
        ("Component", "Version"),
        [("airflow-mlops code", _code(t.get(Tag.CODE_VERSION)))] + [(_cell(k), _code(v)) for k, v in libs],
    )

    md += ["## Known limits", ""]
    md += [
        f"- Trained and judged only on intervals {_cell(span)}; it was not validated on intervals outside "
        "this window (later periods, other seasons).",
        f"- The pipeline refuses to train on a window with fewer than {cfg.split.min_training_rows} "
        f"labelled rows; this version's window had {_cell(_total_rows(t))}.",
        f"- It sees only its features ({_cell(', '.join(cfg.features.all))}); anything else that drives "
        f"{_code(cfg.data_schema.target)} is invisible to it.",
        f"- Drift is measured only on the drift columns ({_cell(', '.join(cfg.drift_columns))}); a change "
        "in any other column is not monitored.",
    ]
    if cfg.data_schema.row_filter:
        md.append(
            f"- Rows outside {_code(cfg.data_schema.row_filter)} are dropped at ingest; it was not validated on them."
        )
    md.append("")
    return "\n".join(md)


def _total_rows(t: dict[str, str]) -> str:
    try:
        return str(int(t[Tag.TRAIN_ROWS]) + int(t[Tag.TEST_ROWS]))
    except (KeyError, ValueError):
        return "an unrecorded number"


def snapshot_details_from_tags(version_tags: dict[str, str]) -> list[dict[str, Any]]:
    """Snapshots as the version's tag records them (no lake at hand)."""
    out = []
    for item in json.loads(version_tags.get(Tag.SNAPSHOTS) or "[]"):
        ds, _, short = str(item).partition(":")
        out.append({"ds": ds, "hash": short, "rows": None, "reingested": False})
    return out


def _decision(t: dict[str, str]) -> list[str]:
    p = Tag.PROMOTION_PREFIX
    if f"{p}promoted" not in t:
        return ["Not judged by the gate yet.", ""]
    promoted = t[f"{p}promoted"] == "True"
    champ = t.get(f"{p}champion_version")
    rows = [
        ("Decision", "**promoted**" if promoted else "**refused**"),
        ("Reason", _cell(t.get(f"{p}reason"))),
        ("Candidate score", f"{_cell(t.get(f'{p}metric'))} {_num(t.get(f'{p}candidate_score'))}"),
        (
            "Compared with",
            f"champion v{_cell(champ)}: {_num(t.get(f'{p}champion_score'))}"
            if champ
            else "no champion (first model)",
        ),
        *_compared_on(t),
        ("Decided at", _cell(t.get(f"{p}decided_at"))),
        ("Carried out at", _cell(t.get(Tag.PROMOTION_APPLIED))),
    ]
    if promoted and t.get(Tag.PREVIOUS_CHAMPION):
        rows.append(("Replaced", f"v{_cell(t[Tag.PREVIOUS_CHAMPION])}"))
    for label, v in prefixed(t, APPROVAL_PREFIX).items():
        rows.append(("Approved by" if label == "by" else f"Approval {_cell(label)}", _cell(v)))
    return _table(("Field", "Value"), rows)


def _compared_on(t: dict[str, str]) -> list[tuple[str, str]]:
    """The rows the decision compared on: how many, from which intervals, and which were left out
    because the champion was fit on them (decisions recorded before this say nothing)."""
    p = Tag.PROMOTION_PREFIX
    rows = t.get(f"{p}compared_rows")
    if not rows:
        return []

    def days(key: str) -> str:
        try:
            found = json.loads(t.get(f"{p}{key}") or "[]")
        except ValueError:
            found = []
        return ", ".join(str(x) for x in found) or "none"

    out = [("Compared on", _cell(f"{rows} labelled rows of {days('compared_intervals')}"))]
    if t.get(f"{p}champion_version"):
        out.append(("Left out (the champion was fit on them)", _cell(days("excluded_intervals"))))
        if days("added_intervals") != "none":
            out.append(("Added (later batches neither saw)", _cell(days("added_intervals"))))
    return out


def _importances(
    cfg: PipelineConfig, t: dict[str, str], version: str, champion: tuple[str, dict[str, str]] | None
) -> list[str]:
    """This version's permutation importances, beside the champion's when it is another version."""
    mine = json.loads(t.get(Tag.IMPORTANCES) or "{}")
    if not mine:
        return []
    other, theirs = champion if champion and champion[0] != version else ("", {})
    theirs = json.loads(theirs.get(Tag.IMPORTANCES) or "{}")
    beside = bool(theirs)
    head = f"| Feature | v{_cell(version)} |" + (f" champion v{_cell(other)} |" if beside else "")
    rows = [
        f"| {_cell(f)} | {_num(v)} |" + (f" {_num(theirs.get(f))} |" if beside else "")
        for f, v in mine.items()
    ]
    return [
        "## What the model relies on",
        "",
        f"Permutation importances on the held-out data: how much {_cell(cfg.gate.metric)} worsens when "
        "a feature's values are shuffled (0: the model does not use it).",
        "",
        head,
        "| --- | --- |" + (" --- |" if beside else ""),
        *rows,
        "",
    ]


def _slices(cfg: PipelineConfig, t: dict[str, str]) -> list[str]:
    """The gate metric per slice of the held-out data, the worst against the champion first."""
    from airflow_mlops.core.model.holdout import read_record

    slices = read_record(t.get(f"{Tag.PROMOTION_PREFIX}slices", ""))
    if not slices:
        return []
    shown = slices[:SLICE_ROWS_SHOWN]
    more = len(slices) - len(shown)
    return [
        "### Slices",
        "",
        f"{_cell(cfg.gate.metric)} on each slice of the held-out data (slices under "
        f"{cfg.gate.min_slice_rows} rows are not judged), the worst against the champion first.",
        "",
        "| Slice | Rows | Candidate | Champion |",
        "| --- | --- | --- | --- |",
        *(f"| {_cell(s.name)} | {s.rows} | {_num(s.candidate)} | {_num(s.champion)} |" for s in shown),
        *([f"\n{more} more slices are in the version's `promotion.slices` tag."] if more else []),
        "",
    ]


def _search(t: dict[str, str]) -> list[str]:
    """The model search that chose this version's estimator (``model.search``), if there was one."""
    try:
        rec = json.loads(t[Tag.SEARCH])
    except (KeyError, ValueError):
        return []
    win = rec.get("winner") or {}
    budget = rec.get("budget") or {}
    trials = rec.get("trials")
    md = [
        "## Search",
        "",
        f"Chosen by {_cell(rec.get('metric'))} averaged over {_cell(rec.get('folds'))} time-ordered "
        f"folds of the training part (the held-out data was not used), within a budget of "
        f"{_cell(budget.get('trials'))} trials and {_cell(budget.get('minutes'))} minutes "
        f"(seed {_cell(rec.get('seed'))}). Winner: trial {_cell(win.get('trial'))}, "
        f"{_code(win.get('estimator'))} with {_code(json.dumps(win.get('params'), sort_keys=True))}, "
        f"score {_num(win.get('score'))}.",
        "",
    ]
    if trials is None:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted((rec.get("trial_counts") or {}).items()))
        return [*md, f"Trials ({_cell(counts)}) are in the run's search.json artifact.", ""]
    md += ["| Trial | Estimator | Parameters | Status | Score |", "| --- | --- | --- | --- | --- |"]
    md += [
        f"| {_cell(r.get('trial'))}{' (winner)' if r.get('trial') == win.get('trial') else ''} "
        f"| {_code(str(r.get('estimator', '')).rpartition('.')[2])} "
        f"| {_code(json.dumps(r.get('params'), sort_keys=True))} | {_cell(r.get('status'))} "
        f"| {_num(r.get('score'))} |"
        for r in trials
    ]
    return [*md, ""]


def _rollbacks(t: dict[str, str]) -> list[str]:
    out = []
    for role, words, other_words in (
        ("rolled_back", "Rolled back", "the champion went back to"),
        ("restored", "Restored as champion", "replacing"),
    ):
        k = f"{Tag.ROLLBACK_PREFIX}{role}."
        if f"{k}at" in t:
            out.append(
                f"- {words} at {_cell(t[f'{k}at'])} by {_cell(t.get(f'{k}by'))} ({other_words} "
                f"v{_cell(t.get(f'{k}other'))}): {_cell(t.get(f'{k}reason'))}"
            )
    return [*out, ""] if out else ["No rollback involved this version.", ""]


def _drift(cfg: PipelineConfig, rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["No batch has been scored and monitored with this version.", ""]
    drifted = sum(1 for r in rows if r["drift_detected"])
    last = rows[-1]
    out = [
        f"- Batches scored and monitored: {len(rows)} ({_cell(rows[0]['ds'])} to {_cell(last['ds'])})",
        f"- Batches with drift: {drifted} (threshold: {cfg.drift.threshold:.0%} of the drift columns)",
        f"- Latest drift share: {_share(last['drift_share'])} on {_cell(last['ds'])}",
        "",
    ]
    shown = rows[-DRIFT_ROWS_SHOWN:]
    return out + _table(
        ("Interval", "Drift share"),
        [
            (_cell(r["ds"]), _share(r["drift_share"]) + (" **drift**" if r["drift_detected"] else ""))
            for r in shown
        ],
    )


def _share(value: Any) -> str:
    return f"{float(value):.0%}" if isinstance(value, (int, float)) else "-"
