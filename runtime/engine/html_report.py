"""A run's self-contained HTML report: one file, inline CSS and SVG, no script and no link to fetch, so it
opens from disk (an e-mail attachment, a CI artifact) exactly as it was written.

It shows the counts by outcome and reason as bar charts, throughput and latency over time, retries and
throttle waits (from the run's `RunTimeline`), the grouped errors with sample rows (`ErrorGroups`), and
the settings and mapping the run used. Secrets never reach it: secrets are listed by name only and
every text is scrubbed of the secrets' values (`RunPage.secrets`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml

from destkit.runtime.config.secrets import Secret, redact
from destkit.runtime.engine.error_groups import ErrorGroup, ErrorGroups, group_report
from destkit.runtime.engine.files import write_private
from destkit.runtime.engine.report import RunFiles
from destkit.runtime.engine.results import RunResult
from destkit.runtime.outcomes import RunSummary, Status

if TYPE_CHECKING:  # the sync builds pipelines whose results this module reads; it is not imported at run time
    from destkit.runtime.engine.sync import Sync

COLOURS = {Status.DELIVERED.value: "#2e7d32", Status.INVALID.value: "#f9a825", Status.REJECTED.value: "#c62828",
           Status.DEAD_LETTERED.value: "#8e24aa", Status.SKIPPED.value: "#9e9e9e"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:120px}
.card .n{font-size:24px;font-weight:600}.card .l{color:#666;font-size:12px;text-transform:uppercase}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border-bottom:1px solid #eee;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f8fa;padding:10px;border-radius:6px;overflow:auto}.grid{display:grid;
grid-template-columns:1fr 1fr;gap:18px}svg text{font:11px system-ui,sans-serif;fill:#333}.muted{color:#888}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
"""


@dataclass
class RunPage:
    """What one run's HTML report shows; `secrets` are scrubbed from every text on it."""

    summary: RunSummary
    groups: ErrorGroups
    timeline: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, Any] = field(default_factory=dict)
    secret_names: Sequence[str] = ()
    secrets: Sequence[Secret] = ()
    docs_url: str | None = None
    throttled_s: float = 0.0


def page_of(sync: Sync, result: RunResult, groups: ErrorGroups) -> RunPage:
    """The page of a run of `sync`: its figures, its groups, and the settings and mapping as the config has them."""
    return RunPage(result.summary, groups, result.timeline.to_dict(), dict(sync.config.settings),
                   dict(sync.config.mapping), sorted(sync.config.secrets), sync.secret_values(), sync.spec.docs,
                   throttled_s=result.timeline.throttled_s)


def summary_extras(result: RunResult, groups: ErrorGroups) -> dict[str, Any]:
    """What the summary JSON gains over `RunSummary.to_dict()` (added keys only: older readers are unaffected)."""
    timeline = result.timeline.to_dict()
    return {"throttle_waits": sum(b["throttle_waits"] for b in timeline["buckets"]),
            "latency_ms": timeline["latency_ms"], "error_groups": groups.to_list(),
            "error_groups_other": groups.other, "throttled_s": round(result.timeline.throttled_s, 3)}


def finish_run_files(sync: Sync, result: RunResult, files: RunFiles,
                     also_html: Path | None = None) -> tuple[ErrorGroups, list[Path]]:
    """After the report is complete: the summary gains the grouped errors, and the HTML report is written
    into the run's files (unless the run kept an earlier report there) and to `also_html`.

    Returns the groups (for the summary printed) and the HTML reports written.
    """
    summary = result.summary
    groups = group_report(files.report) if summary.report_path is not None else ErrorGroups()
    written: list[Path] = []
    if summary.report_path is not None:
        extras = summary_extras(result, groups)
        write_private(files.summary, orjson.dumps({**summary.to_dict(), **extras}, option=orjson.OPT_INDENT_2))
        written.append(write_html(files.html, page_of(sync, result, groups)))
    if also_html is not None and also_html.resolve() != files.html.resolve():
        written.append(write_html(also_html, page_of(sync, result, groups)))
    return groups, written


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render(page: RunPage) -> str:
    """The report as one HTML document (every text escaped, then scrubbed of the secrets)."""
    s = page.summary
    title = f"{s.destination} · {s.action}" + (" (dry run)" if s.dry_run else "")
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(s.started_at))
    body = "\n".join([
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">run <code>{esc(s.run_id)}</code> · started {esc(started)} · {s.duration_s:.2f} s'
        + (f' · <a href="{esc(page.docs_url)}">destination docs</a>' if page.docs_url else "") + "</p>",
        aborted_note(s),
        cards(s),
        "<h2>Outcomes</h2>",
        '<div class="grid">' + outcome_chart(s) + reason_chart(s) + "</div>",
        counts_table(s),
        "<h2>Throughput and latency over time</h2>",
        timeline_section(page.timeline),
        "<h2>Retries and throttling</h2>",
        retries_section(s, page.timeline, page.throttled_s),
        "<h2>Records not delivered, grouped</h2>",
        groups_section(page.groups),
        "<h2>Settings and mapping used</h2>",
        config_section(page),
    ])
    document = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>destkit run {esc(s.run_id)}'
                f"</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n")
    return redact(document, page.secrets) if page.secrets else document


def write_html(path: Path, page: RunPage) -> Path:
    """Write the report (0600, never through a symlink: it names records) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, render(page).encode("utf-8"))
    return path


# --- parts --------------------------------------------------------------------------------------------


def aborted_note(s: RunSummary) -> str:
    return f'<p style="color:#c62828"><b>The run was cut short:</b> {esc(s.aborted)}</p>' if s.aborted else ""


def cards(s: RunSummary) -> str:
    items = [("received", s.received, "#222")] + [(st.value, s.count(st), COLOURS[st.value]) for st in Status]
    rate = f"{s.received / s.duration_s:,.0f}" if s.duration_s else "-"
    out = [f'<div class="card" data-outcome="{esc(name)}"><div class="n" style="color:{colour}">{n:,}</div>'
           f'<div class="l">{esc(name.replace("_", " "))}</div></div>' for name, n, colour in items]
    out.append(f'<div class="card"><div class="n">{rate}</div><div class="l">records / s</div></div>')
    return '<div class="cards">' + "".join(out) + "</div>"


def hbars(title: str, rows: list[tuple[str, int, str]]) -> str:
    """A horizontal bar chart (inline SVG) with each bar's exact count written beside it."""
    if not rows:
        return f'<div><b>{esc(title)}</b><p class="muted">none</p></div>'
    label_w, bar_w, row_h = 170, 260, 22
    top = max(n for _, n, _ in rows) or 1
    height = row_h * len(rows) + 8
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{label_w + bar_w + 80}" height="{height}">']
    for i, (label, n, colour) in enumerate(rows):
        y = 4 + i * row_h
        width = max(1, round(bar_w * n / top)) if n else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{row_h - 6}" fill="{colour}"/>'
                     f'<text x="{label_w + width + 6}" y="{y + 14}">{n:,}</text>')
    parts.append("</svg>")
    return f"<div><b>{esc(title)}</b><br>{''.join(parts)}</div>"


def outcome_chart(s: RunSummary) -> str:
    return hbars("Records by outcome", [(st.value, s.count(st), COLOURS[st.value]) for st in Status])


def reason_chart(s: RunSummary) -> str:
    rows = [(reason, n, "#c62828") for reason, n in sorted(s.reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    rows += [(f"warning: {reason}", n, "#f9a825") for reason, n in sorted(s.warnings.items())]
    return hbars("Reasons", rows)


def counts_table(s: RunSummary) -> str:
    rows = [f'<tr><td>{esc(st.value)}</td><td class="num" data-count="{esc(st.value)}">{s.count(st):,}</td></tr>'
            for st in Status]
    rows.append(f'<tr><th>received</th><th class="num" data-count="received">{s.received:,}</th></tr>')
    rows += [f'<tr><td>reason: {esc(r)}</td><td class="num" data-reason="{esc(r)}">{n:,}</td></tr>'
             for r, n in sorted(s.reasons.items())]
    rows += [f'<tr><td>warning: {esc(r)}</td><td class="num">{n:,}</td></tr>' for r, n in sorted(s.warnings.items())]
    return "<table><tr><th>outcome</th><th>records</th></tr>" + "".join(rows) + "</table>"


def columns_chart(title: str, values: Sequence[float], bucket_s: float, colour: str, unit: str) -> str:
    """A column chart of one figure per time bucket (inline SVG), its largest value labelled."""
    if not values or not any(values):
        return f'<div><b>{esc(title)}</b><p class="muted">nothing to show</p></div>'
    w, h, pad = 480, 140, 28
    top = max(values) or 1
    step = (w - pad) / len(values)
    bars = "".join(
        f'<rect x="{pad + i * step:.1f}" y="{h - 18 - (h - 30) * v / top:.1f}" width="{max(step - 1, 1):.1f}" '
        f'height="{(h - 30) * v / top:.1f}" fill="{colour}"><title>{i * bucket_s:g} s: {v:,.1f} {esc(unit)}'
        f"</title></rect>" for i, v in enumerate(values))
    axis = (f'<text x="{pad}" y="{h - 4}">0 s</text><text x="{w}" y="{h - 4}" text-anchor="end">'
            f"{len(values) * bucket_s:g} s</text><text x=\"0\" y=\"12\">{top:,.1f} {esc(unit)}</text>")
    return (f'<div><b>{esc(title)}</b><br><svg role="img" aria-label="{esc(title)}" width="{w}" height="{h}">'
            f"{bars}{axis}</svg></div>")


def timeline_section(timeline: dict[str, Any]) -> str:
    buckets, width = timeline.get("buckets", []), float(timeline.get("bucket_s", 1.0))
    rate = [b["records"] / width for b in buckets]
    latency = [b["latency_mean_ms"] or 0.0 for b in buckets]
    p = timeline.get("latency_ms", {})
    quantiles = " · ".join(f"{name} ≤ {v:,.1f} ms" for name, v in p.items() if v is not None)
    note = f'<p class="meta">request latency: {esc(quantiles)}</p>' if quantiles else ""
    return ('<div class="grid">' + columns_chart("Records per second", rate, width, "#1565c0", "records/s")
            + columns_chart("Mean request latency", latency, width, "#6a1b9a", "ms") + "</div>" + note)


def retries_section(s: RunSummary, timeline: dict[str, Any], throttled_s: float) -> str:
    buckets, width = timeline.get("buckets", []), float(timeline.get("bucket_s", 1.0))
    waits = sum(b["throttle_waits"] for b in buckets)
    figures = (f'<p><span data-figure="requests">{s.requests:,}</span> requests · <span data-figure="retries">'
               f'{s.retries:,}</span> retries · <span data-figure="throttle_waits">{waits:,}</span> throttle waits'
               f" ({throttled_s:,.1f} s held) · {s.batches:,} batches · {s.bytes_sent:,} bytes sent</p>")
    return figures + '<div class="grid">' + columns_chart(
        "Retries", [b["retries"] for b in buckets], width, "#ef6c00", "retries") + columns_chart(
        "Throttle waits (429)", [b["throttle_waits"] for b in buckets], width, "#ad1457", "waits") + "</div>"


def group_rows(group: ErrorGroup) -> str:
    samples = "".join(
        f"<li>row {esc(x.get('row'))}"
        + (f" · primary key <code>{esc(x['primary_key'])}</code>" if "primary_key" in x else "")
        + (f" · key <code>{esc(x['key'])}</code>" if "key" in x else "")
        + (f" · value <code>{esc(x['value'])}</code>" if "value" in x else "")
        + (f" · {esc(x['message'])}" if x.get("message") not in (None, group.message) else "") + "</li>"
        for x in group.samples)
    return (f'<tr data-group="{esc(group.reason)}"><td class="num">{group.count:,}</td><td>{esc(group.outcome)}</td>'
            f"<td>{esc(group.reason or '')}</td><td>{esc(group.field or '')}</td><td>{esc(group.message or '')}"
            f"<ul>{samples}</ul></td></tr>")


def groups_section(groups: ErrorGroups) -> str:
    ordered = groups.ordered()
    if not ordered:
        return '<p class="muted">Every record was delivered.</p>'
    other = f'<p class="meta">and {groups.other:,} more records in further groups</p>' if groups.other else ""
    return ("<table><tr><th>records</th><th>outcome</th><th>reason</th><th>field</th><th>message, sample rows</th>"
            "</tr>" + "".join(group_rows(g) for g in ordered) + "</table>" + other)


def config_section(page: RunPage) -> str:
    secrets = ", ".join(f"{esc(name)} = ***" for name in page.secret_names) or "none"
    settings, mapping = as_yaml(page.settings), as_yaml(page.mapping)
    return (f"<p>secrets: {secrets}</p><div class=\"grid\"><div><b>settings</b><pre>{esc(settings)}</pre></div>"
            f"<div><b>mapping</b><pre>{esc(mapping)}</pre></div></div>")


def as_yaml(value: dict[str, Any]) -> str:
    """A config section as YAML, as the user wrote it; a value YAML cannot write (from Python) as its repr."""
    if not value:
        return "{}\n"
    try:
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return "\n".join(f"{k}: {v!r}" for k, v in value.items()) + "\n"


__all__ = ["RunPage", "finish_run_files", "page_of", "render", "summary_extras", "write_html"]
