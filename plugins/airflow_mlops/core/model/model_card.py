"""Model cards: one page per model version saying what it is for, what it learned from, how it did,
what was decided about it, how it has fared since, and where it should not be trusted.

The facts are already on the version (lineage, metric and promotion tags) and in the monitoring runs
that name it; the card puts them in one place a person reads, in Markdown and in self-contained HTML
(no stylesheet or script fetched from anywhere, so it renders offline and in the UI's iframe). Both
are artifacts of the version's training run under ``model_card/``, rewritten whenever the version's
state changes, and the version's ``model_card.state`` tag says which state the card describes.

:func:`refresh` is what the state-changing core functions call: it never raises, because a card
that could not be written must not undo or fail a promotion whose alias has already moved.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from airflow_mlops.core.foundation import registry
from airflow_mlops.core.foundation.catalog import Catalog
from airflow_mlops.core.foundation.config import PipelineConfig
from airflow_mlops.core.foundation.lake import Lake
from airflow_mlops.core.foundation.registry import ModelRegistry, Tag
from airflow_mlops.core.foundation.result import Result

if TYPE_CHECKING:
    from mlflow import MlflowClient


log = logging.getLogger(__name__)

CARD_DIR: Final = "model_card"
MARKDOWN_FILE: Final = f"{CARD_DIR}/model_card.md"
HTML_FILE: Final = f"{CARD_DIR}/model_card.html"
#: Tag written by the (separate) human-approval step: who approved the promotion.
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


@dataclass(frozen=True)
class CardResult(Result):
    """Where a version's card was written and which state it describes."""

    pipeline: str
    model_name: str
    version: str
    run_id: str
    state: str
    markdown_uri: str
    html_uri: str
    updated_at: str


# --- gathering ------------------------------------------------------------------------------------
def drift_history(cfg: PipelineConfig, client: MlflowClient, version: str) -> list[dict[str, Any]]:
    """One row per interval this version scored (oldest first), from the monitoring runs naming it.

    A re-monitored interval has several runs; the newest one counts, as it does in the lake.
    """
    exp = client.get_experiment_by_name(cfg.experiment_name)
    if exp is None:
        return []
    query = (
        f"tags.`{Tag.KIND}` = 'monitoring' and tags.`{Tag.PIPELINE}` = '{cfg.name}' "
        f"and tags.`{Tag.MODEL_VERSION}` = '{version}'"
    )
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [exp.experiment_id], filter_string=query, max_results=1000, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    latest: dict[str, Any] = {}
    for r in sorted(runs, key=lambda r: r.info.start_time or 0):
        ds = r.data.tags.get(Tag.MONITOR_DS)
        if ds:
            latest[ds] = r
    rows = []
    for ds in sorted(latest):
        r = latest[ds]
        m = r.data.metrics
        rows.append(
            {
                "ds": ds,
                "drift_share": m.get("drift_share"),
                "drift_detected": r.data.tags.get(Tag.DRIFT_DETECTED) == "true",
                "n_drifted": int(m["n_drifted"]) if "n_drifted" in m else None,
                "n_columns": int(m["n_drift_columns"]) if "n_drift_columns" in m else None,
            }
        )
    return rows


def snapshot_details(cfg: PipelineConfig, lake: Lake, version_tags: dict[str, str]) -> list[dict[str, Any]]:
    """The version's snapshots with their rows and full hash from the lake, and whether the interval
    has been re-ingested since (then the lake no longer holds what the model learned from)."""
    cat = Catalog(lake, cfg.name)
    out = []
    for item in json.loads(version_tags.get(Tag.SNAPSHOTS) or "[]"):
        ds, _, short = str(item).partition(":")
        m = cat.manifest(ds) or {}
        now = str(m.get("content_hash") or "")
        same = bool(now) and now.startswith(short)
        out.append(
            {
                "ds": ds,
                "hash": now if same else short,
                "rows": m.get("rows") if same else None,
                "reingested": bool(now) and not same,
            }
        )
    return out


# --- the card -------------------------------------------------------------------------------------
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
    metrics = sorted(
        (k.removeprefix(Tag.METRIC_PREFIX), v) for k, v in t.items() if k.startswith(Tag.METRIC_PREFIX)
    )
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
    libs = sorted(
        (k.removeprefix(Tag.LIBRARY_PREFIX), v) for k, v in t.items() if k.startswith(Tag.LIBRARY_PREFIX)
    )
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
    for k in sorted(k for k in t if k.startswith(APPROVAL_PREFIX)):
        label = k.removeprefix(APPROVAL_PREFIX)
        rows.append(("Approved by" if label == "by" else f"Approval {_cell(label)}", _cell(t[k])))
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


# --- Markdown to HTML -----------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.5rem;border-bottom:2px solid #017cee;padding-bottom:.3rem}
h2{font-size:1.15rem;margin-top:1.8rem;color:#0b3d6e}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #d5dbe5;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f9}code{background:#f3f4f6;padding:0 .25rem;border-radius:3px;font-size:.9em}
strong{color:#0b3d6e}
""".strip()
_SPLIT = re.compile(r"(?<!\\)\|")


def _inline(text: str) -> str:
    """Escape, then the two inline marks the card uses: ``**bold**`` and `` `code` ``."""
    out = html.escape(text.replace("\\|", "|"), quote=True)
    out = re.sub(r"`([^`]*)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _SPLIT.split(line.strip().strip("|"))]


def card_html(markdown_text: str) -> str:
    """A self-contained HTML page of the card's Markdown: inline CSS, no external resource, every
    value escaped, and a Content-Security-Policy that forbids fetching anything at all."""
    body: list[str] = []
    para: list[str] = []
    items: list[str] = []
    table: list[str] = []
    title = "Model card"

    def flush() -> None:
        if para:
            body.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()
        if table:
            head, *rest = table
            rows = [r for r in rest if not re.fullmatch(r"\|?[\s|:-]+\|?", r)]
            th = "".join(f"<th>{_inline(c)}</th>" for c in _cells(head))
            trs = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows
            )
            body.append(f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")
            table.clear()

    for raw in markdown_text.splitlines():
        line = raw.rstrip()
        heading = re.match(r"(#{1,3}) (.*)", line)
        kind = "h" if heading else "t" if line.startswith("|") else "l" if line.startswith("- ") else "p"
        if (
            not line
            or kind == "h"
            or (kind != "t" and table)
            or (kind != "l" and items)
            or (kind != "p" and para)
        ):
            flush()
        if heading:
            level, text = len(heading.group(1)), heading.group(2)
            if level == 1:
                title = text
            body.append(f"<h{level}>{_inline(text)}</h{level}>")
        elif kind == "t":
            table.append(line)
        elif kind == "l":
            items.append(line[2:])
        elif line:
            para.append(line)
    flush()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title.replace('`', ''))}</title><style>{_CSS}</style></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


# --- writing and reading --------------------------------------------------------------------------
def write_card(cfg: PipelineConfig, lake: Lake, client: MlflowClient, version: str, state: str) -> CardResult:
    """(Re)write the card of ``version`` as artifacts of its training run, then tag the version.

    The artifacts have fixed names, so a regeneration replaces the previous card; the tags are
    written last, so ``model_card.state`` never names a state whose card was not written.
    """
    reg = ModelRegistry(client, cfg.registered_model_name)
    name, version = reg.name, str(version)
    mv = client.get_model_version(name, version)
    tags = registry.tags_of(mv)
    champ = reg.champion()
    run_id = str(mv.run_id)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    md = card_markdown(
        cfg,
        tags,
        drift_history(cfg, client, version),
        state,
        version=version,
        snapshots=snapshot_details(cfg, lake, tags),
        updated_at=now,
        champion=None if champ is None else (str(champ.version), registry.tags_of(champ)),
    )
    client.log_text(run_id, md, MARKDOWN_FILE)
    client.log_text(run_id, card_html(md), HTML_FILE)
    reg.set_tags(version, {Tag.CARD_STATE: state, Tag.CARD_UPDATED_AT: now})
    return CardResult(cfg.name, name, version, run_id, state, MARKDOWN_FILE, HTML_FILE, now)


def read_card(client: MlflowClient, name: str, version: str, *, html_page: bool = False) -> str | None:
    """The stored card of a version (Markdown, or the HTML page); None if the version or its card
    does not exist. Any other failure (a registry that cannot answer) propagates."""
    import tempfile

    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException as e:
        if registry.is_not_found(e):
            return None
        raise
    if Tag.CARD_STATE not in registry.tags_of(mv):
        return None
    with tempfile.TemporaryDirectory(prefix="model-card-") as tmp:
        try:
            local = client.download_artifacts(str(mv.run_id), HTML_FILE if html_page else MARKDOWN_FILE, tmp)
        except (MlflowException, OSError):
            return None
        with open(local, encoding="utf-8") as f:
            return f.read()


def refresh(
    cfg: PipelineConfig,
    lake: Lake,
    client: MlflowClient,
    states: dict[str, str],
    *,
    only_missing: bool = False,
) -> list[CardResult]:
    """Rewrite the cards of versions whose state just changed; never raises (see the module doc).

    ``only_missing`` leaves a version that already has a card alone: a retried training run must not
    turn the card of a version promoted since back into a candidate's.
    """
    done = []
    for version, state in states.items():
        try:
            if only_missing:
                mv = client.get_model_version(cfg.registered_model_name, str(version))
                if Tag.CARD_STATE in registry.tags_of(mv):
                    continue
            done.append(write_card(cfg, lake, client, version, state))
        except Exception:
            log.warning(
                "%s v%s: could not write the model card (state %s); the %s itself is unaffected",
                cfg.registered_model_name,
                version,
                state,
                "state change",
                exc_info=True,
            )
    return done
