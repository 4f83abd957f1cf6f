"""The human run report: ``<out>/_report/index.html``, one self-contained file.


Built only from ``report.json`` (and, when present, ``_report/verify.json`` and the purge audit
``_audit/purge.jsonl``), which hold counts and masked examples, never raw values. Everything is
inline: CSS in a ``<style>`` element, charts as inline SVG, no scripts, fonts, images or links
to fetch, and a Content-Security-Policy that forbids loading anything, so the page reads the
same offline, from a mail attachment or an archive.

Stable element ids (tests and reviewers' bookmarks rely on them): ``run-summary``,
``demo-key-warning`` (only for demo-key runs), ``inputs``, ``charts``, ``chart-categories``,
``chart-entities``, ``chart-expiry``, ``tables``, ``fields-<table>``, ``drift``, ``quarantine``,
``partitions``, ``verification`` (with ``verification-status``), ``purge-audit``,
``subject-audit`` (data-subject erasures, ``_audit/subject.jsonl``: request ids, dates, rows
removed — never an identifier).
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Sequence
from typing import Any

from telescrub.core.masking import mask_keep_tokens
from telescrub.store import fs
from telescrub.store.audit import read_audit as _read_audit
from telescrub.store.layout import PURGE_AUDIT, SUBJECT_AUDIT, VERIFY_NAME

CATEGORY_ORDER = ("customer_content", "account_data", "system_metadata", "oii", "euii", "eupi")
CATEGORY_COLOURS = {
    "customer_content": "#8e44ad", "account_data": "#2e86c1", "system_metadata": "#7f8c8d",
    "oii": "#d68910", "euii": "#c0392b", "eupi": "#16a085", "system": "#95a5a6",
}
MAX_CHART_ROWS = 40
MAX_EXPIRY_ROWS = 24
AUDIT_ROWS = 50

_CSS = """
html{--fg:#1d2330;--muted:#5b6472;--line:#d7dbe2;--bg:#f6f7f9;--ok:#1e7d32;--bad:#b3261e}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--fg);
margin:0;background:#fff}
header.top{background:#1d2330;color:#fff;padding:18px 32px}
header.top h1{margin:0;font-size:22px}header.top p{margin:4px 0 0;color:#c9cfd8}
main{padding:8px 32px 48px;max-width:1400px}
h2{font-size:19px;margin:30px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:22px 0 6px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}
td,th{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.sha{word-break:break-all;font-size:11px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
color:#fff;background:var(--muted)}
.badge.b-ok{background:var(--ok)}.badge.b-bad{background:var(--bad)}.badge.b-warn{background:#b26a00}
.cat{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-size:12px}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}
.muted{color:var(--muted)}
.demo{background:#fdecea;border:4px solid var(--bad);color:#7a1410;padding:14px 18px;
margin:18px 0;font-size:16px;border-radius:6px}
.demo strong{font-size:20px;display:block;margin-bottom:4px;letter-spacing:.02em}
.note{background:var(--bg);border-left:4px solid var(--line);padding:8px 12px;margin:8px 0}
.charts{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fff;
max-width:390px}
figcaption{font-weight:600;margin-bottom:6px}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1d2330}
tr.drift td{background:#fff8e1}
td.ex{max-width:420px;word-break:break-all}td.ev{max-width:260px}
details{margin:6px 0}summary{cursor:pointer}
.conf{display:inline-block;height:8px;background:#2e86c1;border-radius:2px;margin-right:4px}
footer{color:var(--muted);font-size:12px;margin-top:32px}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return _e(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.3g}"
    return _e(v)


def _cat(category: Any) -> str:
    c = str(category or "")
    colour = CATEGORY_COLOURS.get(c, "#5b6472")
    return f"<span class='cat' style='background:{colour}'>{_e(c)}</span>"


def _badge(ok: bool | None, yes: str = "OK", no: str = "FAILED") -> str:
    if ok is None:
        return "<span class='badge'>not run</span>"
    return f"<span class='badge {'b-ok' if ok else 'b-bad'}'>{_e(yes if ok else no)}</span>"


# --------------------------------------------------------------------------------- charts


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]],
              colours: Sequence[str] | None = None, note: str = "") -> str:
    """A horizontal bar chart as inline SVG (no script): one labelled bar per item."""
    items = list(items)
    if len(items) > MAX_CHART_ROWS:
        rest = sum(v for _, v in items[MAX_CHART_ROWS - 1:])
        items = [*items[:MAX_CHART_ROWS - 1], (f"{len(items) - MAX_CHART_ROWS + 1} more", rest)]
    label_w, bar_w, row_h, pad = 140, 160, 22, 6
    width = label_w + bar_w + 56
    height = max(1, len(items)) * row_h + 2 * pad
    top = max((v for _, v in items), default=0) or 1
    parts = [f"<figure id='{_e(chart_id)}'><figcaption>{_e(title)}</figcaption>",
             f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}' "
             f"height='{height}' viewBox='0 0 {width} {height}' "
             f"aria-labelledby='{_e(chart_id)}-title'><title id='{_e(chart_id)}-title'>"
             f"{_e(title)}</title>"]
    if not items:
        parts.append(f"<text x='{pad}' y='{pad + 14}'>no data</text>")
    for i, (label, value) in enumerate(items):
        y = pad + i * row_h
        w = max(1.0, bar_w * value / top) if value else 0.0
        colour = colours[i] if colours and i < len(colours) else "#2e86c1"
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f"<g class='bar'><title>{_e(label)}: {value:,}</title>"
            f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end'>{_e(short)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='{row_h - 6}' rx='2' "
            f"fill='{colour}'/>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + 15}'>{value:,}</text></g>")
    parts.append("</svg>")
    if note:
        parts.append(f"<div class='muted'>{_e(note)}</div>")
    parts.append("</figure>")
    return "".join(parts)


def _records_by_category(report: dict[str, Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for info in report.get("tables", {}).values():
        cats = {f.get("category") for f in info.get("fields", []) if f.get("category")}
        for c in cats:
            counts[str(c)] = counts.get(str(c), 0) + int(info.get("records") or 0)
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))


def _rows_by_expiry(report: dict[str, Any]) -> tuple[list[tuple[str, int]], str]:
    """Rows per expiry date. Rows already expired when the run wrote them (old event dates)
    form one bar; the rest are per day, or per month/year when there are too many dates."""
    created = str(report.get("run", {}).get("created_at") or "")[:10]
    past = 0
    by_date: dict[str, int] = {}
    for p in report.get("partitions", []):
        d, n = str(p.get("expires_on") or "unknown"), int(p.get("rows") or 0)
        if created and d <= created:
            past += n
        else:
            by_date[d] = by_date.get(d, 0) + n
    head = [(f"≤ {created}", past)] if past else []
    note = (f"≤ {created}: already expired when the run wrote them (event dates older than "
            "their retention); purge deletes them")
    if len(by_date) <= MAX_EXPIRY_ROWS:
        return head + sorted(by_date.items()), note if past else ""
    for width, unit in ((7, "month"), (4, "year")):
        grouped: dict[str, int] = {}
        for d, n in by_date.items():
            grouped[d[:width]] = grouped.get(d[:width], 0) + n
        if len(grouped) <= MAX_EXPIRY_ROWS or unit == "year":
            return head + sorted(grouped.items()), f"{len(by_date)} dates, grouped by {unit}"
    raise AssertionError("unreachable")


# -------------------------------------------------------------------------------- sections


def _demo_warning(run: dict[str, Any]) -> str:
    if not run.get("demo_key"):
        return ""
    return ("<div class='demo' id='demo-key-warning' role='alert'><strong>⚠ DEMO KEY USED — "
            "NOT FOR REAL DATA</strong>This run hashed with the public demo key that ships "
            "with telescrub. Anyone can recompute its hash tokens, so hashed values (e-mail "
            "addresses, user ids, IP addresses, ...) are NOT protected. Delete this output and "
            "re-run with a secret key (<code>$TELESCRUB_HASH_KEY</code> or "
            "<code>--key-file</code>).</div>")


def _summary(report: dict[str, Any], verify: dict[str, Any] | None) -> str:
    run, t = report.get("run", {}), report.get("totals", {})
    ok = bool(report.get("accounting_ok"))
    v_ok = None if verify is None else bool(verify.get("ok"))
    rows = [
        ("Run id", f"<code>{_e(run.get('run_id'))}</code>"),
        ("Created (UTC)", _e(run.get("created_at"))),
        ("Runner", _e(run.get("runner"))),
        ("Output mode", _e(run.get("mode"))),
        ("Policy", f"version <code>{_e(run.get('policy_version'))}</code>, hash "
                   f"<code>{_e(run.get('policy_hash'))}</code> "
                   f"<span class='muted'>({_e(run.get('policy_file'))})</span>"),
        ("Hash key id", f"<code>{_e(run.get('key_id'))}</code> "
                        + ("<span class='badge b-bad'>DEMO KEY</span>" if run.get("demo_key")
                           else "<span class='muted'>(the key itself is never written)</span>")),
        ("Source schemas", _e(run.get("schema_dir") or "none (rules and detectors only)")),
        ("Output", f"<code>{_e(run.get('output'))}</code>"),
        ("Records", f"{_num(t.get('read'))} read = {_num(t.get('written'))} written + "
                    f"{_num(t.get('quarantined'))} quarantined + "
                    f"{_num(t.get('dropped_by_policy'))} dropped by policy"),
        ("Accounting identity", _badge(ok, "OK", "BROKEN")),
        ("Post-write verification", _badge(v_ok, "PASSED", "FAILED")
         + ("" if verify is not None else " <span class='muted'>(see below)</span>")),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<section id='run-summary'><h2>Run summary</h2><table>{body}</table></section>"


def _inputs(report: dict[str, Any]) -> str:
    t = report.get("totals", {})
    out = ["<section id='inputs'><h2>Inputs</h2><table><tr><th>file</th><th>table</th>"
           "<th>format</th><th class='num'>bytes</th><th>sha256</th><th class='num'>read</th>"
           "<th class='num'>written</th><th class='num'>quarantined</th>"
           "<th class='num'>dropped</th><th>accounted</th></tr>"]
    for i in report.get("inputs", []):
        out.append(
            f"<tr><td><code>{_e(i.get('source'))}</code></td><td>{_e(i.get('table'))}</td>"
            f"<td>{_e(i.get('format'))}</td><td class='num'>{_num(i.get('bytes'))}</td>"
            f"<td class='mono sha'>{_e(i.get('sha256'))}</td>"
            f"<td class='num'>{_num(i.get('read'))}"
            + (f" <small>({_num(i['decoded_with_fallback'])} not UTF-8, decoded)</small>"
               if i.get("decoded_with_fallback") else "") + "</td>"
            f"<td class='num'>{_num(i.get('written'))}</td>"
            f"<td class='num'>{_num(i.get('quarantined'))}</td>"
            f"<td class='num'>{_num(i.get('dropped_by_policy'))}</td>"
            f"<td>{_badge(bool(i.get('accounted')), 'yes', 'NO')}</td></tr>")
    out.append(f"<tr><th colspan='5'>total</th><th class='num'>{_num(t.get('read'))}</th>"
               f"<th class='num'>{_num(t.get('written'))}</th>"
               f"<th class='num'>{_num(t.get('quarantined'))}</th>"
               f"<th class='num'>{_num(t.get('dropped_by_policy'))}</th><th></th></tr>"
               "</table></section>")
    return "".join(out)


def _charts(report: dict[str, Any]) -> str:
    cats = _records_by_category(report)
    ents = sorted(report.get("detections_by_entity", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    expiry, note = _rows_by_expiry(report)
    return ("<section id='charts'><h2>Overview</h2><div class='charts'>"
            + bar_chart("chart-categories", "Records by data category", cats,
                        [CATEGORY_COLOURS.get(c, "#2e86c1") for c, _ in cats],
                        "records of the tables holding a field of each category (before "
                        "actions)")
            + bar_chart("chart-entities", "Detections by entity type", ents,
                        note="identifiers found and acted on, all tables")
            + bar_chart("chart-expiry", "Rows expiring by date", expiry, ["#d68910"] * len(expiry),
                        note or "rows per partition expiry date (incl. quarantine)")
            + "</div></section>")


def _example(f: dict[str, Any]) -> str:
    """The masked before/after example. ``after`` of free text (scrub_text, the keep guard)
    may still hold what the detectors missed, so it is masked too, tokens kept; the outputs of
    hash/redact/mask/truncate_ip/email_domain are what the policy asked to keep."""
    ex = f.get("example")
    if not ex:
        return "<span class='muted'>—</span>"
    after = ex.get("after")
    if f.get("action") in ("scrub_text", "keep") or f.get("drift"):
        after = mask_keep_tokens(after)
    return (f"<code>{_e(mask_keep_tokens(ex.get('before')))}</code> → "
            f"<code>{_e(after)}</code>")


def _tables(report: dict[str, Any]) -> str:
    out = ["<section id='tables'><h2>Tables and fields</h2>"
           "<p class='muted'>Category = decided for the input field; after the action the column "
           "holds the output category (a hashed e-mail is pseudonymous). Examples are masked: "
           "only separators and the first character of each run are shown.</p>"]
    for table, info in report.get("tables", {}).items():
        out.append(
            f"<div id='fields-{_e(table)}'><h3>Table <code>{_e(table)}</code></h3>"
            f"<p>{_num(info.get('records'))} records, {_num(info.get('rows_written'))} rows "
            f"written in {_num(info.get('partitions'))} partitions; event time from "
            f"<code>{_e(info.get('timestamp_field') or '—')}</code>; source schema: "
            f"{_e(info.get('source_schema') or 'none')}</p>"
            "<table><tr><th>field</th><th>category</th><th>action</th><th>output</th>"
            "<th>evidence</th><th>confidence</th><th>entities found</th>"
            "<th>example (masked) before → after</th></tr>")
        for f in info.get("fields", []):
            ents = ", ".join(f"{_e(k)}&nbsp;{_num(v)}" for k, v in
                             f.get("entity_counts", {}).items())
            if f.get("guard_scrubbed"):
                ents += (", " if ents else "") + f"guard {_num(f['guard_scrubbed'])}"
            conf = float(f.get("confidence") or 0)
            drift = " <span class='badge b-warn'>drift</span>" if f.get("drift") else ""
            entity = f" <span class='muted'>({_e(f['entity'])})</span>" if f.get("entity") else ""
            out.append(
                f"<tr{' class=drift' if f.get('drift') else ''}>"
                f"<td><code>{_e(f.get('path'))}</code>{drift}</td>"
                f"<td>{_cat(f.get('category'))}{entity}</td><td>{_e(f.get('action'))}</td>"
                f"<td>{_cat(f.get('output_category') or f.get('category'))}</td>"
                f"<td class='ev'>{_e(f.get('evidence'))}</td>"
                f"<td class='num'><span class='conf' style='width:{conf * 40:.0f}px'></span>"
                f"{conf:.2f}</td><td>{ents or '<span class=muted>—</span>'}</td>"
                f"<td class='ex'>{_example(f)}</td></tr>")
        out.append("</table></div>")
    out.append("</section>")
    return "".join(out)


def _drift_and_quarantine(report: dict[str, Any]) -> str:
    out = ["<section id='drift'><h2>Schema drift</h2>"]
    drift = report.get("drift", [])
    if drift:
        out.append("<p>Fields no source schema or rule knows. They were not written verbatim: "
                   "each was scanned as free text (fail closed) or dropped, per the policy."
                   "</p><table><tr><th>table</th><th>field</th><th>evidence</th></tr>")
        for d in drift:
            out.append(f"<tr><td>{_e(d.get('table'))}</td><td><code>{_e(d.get('path'))}</code>"
                       f"</td><td>{_e(d.get('evidence'))}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p class='ok'>No schema drift: every field is known to a schema or rule.</p>")
    out.append("</section><section id='quarantine'><h2>Quarantine</h2>")
    q = report.get("quarantine", [])
    if q:
        out.append("<p>Records that could not be parsed. They are in the <code>_quarantine</code> "
                   "table with reason, file and line, scrubbed as free text (never raw), and "
                   "count in the accounting identity.</p><table><tr><th>table</th>"
                   "<th>reason</th><th class='num'>records</th></tr>")
        for item in q:
            out.append(f"<tr><td>{_e(item.get('table'))}</td><td>{_e(item.get('reason'))}</td>"
                       f"<td class='num'>{_num(item.get('records'))}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p class='ok'>No record was quarantined.</p>")
    implausible = report.get("implausible_event_times", [])
    if implausible:
        rule = report.get("run", {}).get("event_time", {})
        where = ("quarantined (reason implausible_event_time)"
                 if rule.get("implausible") == "quarantine"
                 else "written to the table's null event_date partition")
        out.append(f"<h3 id='implausible-event-times'>Implausible event times</h3><p>Records "
                   f"whose time stamp is before {_e(rule.get('earliest'))} or more than "
                   f"{_e(rule.get('future_tolerance_days'))} day(s) after the run started "
                   f"(policy <code>event_time</code>) were {where}.</p><table><tr>"
                   "<th>table</th><th>reason</th><th class='num'>records</th></tr>")
        for item in implausible:
            out.append(f"<tr><td>{_e(item.get('table'))}</td><td>{_e(item.get('reason'))}</td>"
                       f"<td class='num'>{_num(item.get('records'))}</td></tr>")
        out.append("</table>")
    out.append("</section>")
    return "".join(out)


def _this_run(audit: list[dict[str, Any]], run_id: Any) -> list[dict[str, Any]]:
    """Purge actions on this run's data (the audit log outlives overwritten outputs)."""
    return [r for r in audit if not r.get("dry_run") and r.get("run_id") == run_id
            and r.get("action") in ("delete_partition", "drop_columns")]


def _purged_paths(audit: list[dict[str, Any]], run_id: Any) -> dict[str, dict[str, Any]]:
    return {str(rec.get("path")): rec for rec in _this_run(audit, run_id)}


def _partitions(report: dict[str, Any], audit: list[dict[str, Any]], today: str,
                subject_audit: list[dict[str, Any]] | None = None) -> str:
    parts = report.get("partitions", [])
    purged = _purged_paths(audit, report.get("run", {}).get("run_id"))
    erased: dict[str, dict[str, Any]] = {}
    for r in _erasures(subject_audit or []):
        if r.get("report_run_id") == report.get("run", {}).get("run_id"):
            erased[str(r.get("path"))] = r
    out = ["<section id='partitions'><h2>Partitions and retention</h2>"
           "<p class='muted'>A partition's retention is the shortest retention among the "
           "categories its columns hold after actions; <code>telescrub purge</code> deletes it "
           "(or rewrites it without a column whose own retention ran out) on its expiry date."
           "</p><table><tr><th>table</th><th class='num'>partitions</th><th class='num'>rows</th>"
           "<th>retention</th><th>earliest expiry</th><th>latest expiry</th>"
           "<th class='num'>past expiry today</th></tr>"]
    by_table: dict[str, list[dict[str, Any]]] = {}
    for p in parts:
        by_table.setdefault(str(p.get("table")), []).append(p)
    for table, ps in by_table.items():
        exp = sorted(str(p.get("expires_on")) for p in ps)
        rets = sorted({f"{p.get('retention_days')} d ({p.get('retention_category')})" for p in ps})
        past = sum(1 for p in ps if str(p.get("expires_on")) <= today)
        out.append(f"<tr><td>{_e(table)}</td><td class='num'>{len(ps)}</td>"
                   f"<td class='num'>{_num(sum(int(p.get('rows') or 0) for p in ps))}</td>"
                   f"<td>{_e(', '.join(rets))}</td><td>{_e(exp[0])}</td><td>{_e(exp[-1])}</td>"
                   f"<td class='num'>{'<span class=bad>' + str(past) + '</span>' if past else 0}"
                   "</td></tr>")
    out.append("</table><details id='partition-list'><summary>All "
               f"{len(parts)} partitions</summary><table><tr><th>table</th><th>event_date</th>"
               "<th class='num'>rows</th><th class='num'>files</th><th>retention</th>"
               "<th>expires on</th><th>status</th></tr>")
    for p in parts:
        date = p.get("event_date")
        path = f"{p.get('table')}/event_date={date if date else '__HIVE_DEFAULT_PARTITION__'}"
        rec = purged.get(path)
        if rec and rec.get("action") == "delete_partition":
            status = f"<span class='muted'>purged {_e(str(rec.get('at', ''))[:10])}</span>"
        elif rec:
            status = (f"columns purged {_e(str(rec.get('at', ''))[:10])}, now expires "
                      f"{_e(rec.get('expires_on_after'))}")
        elif path in erased and erased[path].get("partition_deleted"):
            status = (f"<span class='muted'>erased by request "
                      f"{_e(erased[path].get('request_id'))}</span>")
        elif str(p.get("expires_on")) <= today:
            status = "<span class='bad'>expired, purge due</span>"
        else:
            status = "live"
        out.append(f"<tr><td>{_e(p.get('table'))}</td><td>{_e(date or 'null (no event date)')}"
                   f"</td><td class='num'>{_num(p.get('rows'))}</td>"
                   f"<td class='num'>{len(p.get('files', []))}</td>"
                   f"<td>{_e(p.get('retention_days'))} d ({_e(p.get('retention_category'))})</td>"
                   f"<td>{_e(p.get('expires_on'))}</td><td>{status}</td></tr>")
    out.append("</table></details></section>")
    return "".join(out)


def _verification(report: dict[str, Any], verify: dict[str, Any] | None,
                  audit: list[dict[str, Any]],
                  subject_audit: list[dict[str, Any]] | None = None) -> str:
    out = ["<section id='verification'><h2>Post-write verification</h2>"]
    if verify is None:
        out.append("<p id='verification-status'><span class='badge'>not run</span> The output "
                   "has not been re-scanned yet. Run <code>telescrub verify "
                   f"{_e(report.get('run', {}).get('output', 'OUT'))}</code>: it re-reads "
                   "every Parquet file with the detectors, checks footers, manifests and the "
                   "accounting, and updates this page.</p></section>")
        return "".join(out)
    ok = bool(verify.get("ok"))
    res = verify.get("residual", {})
    out.append(f"<p id='verification-status'>{_badge(ok, 'PASSED', 'FAILED')} verified "
               f"{_e(verify.get('verified_at'))} against policy "
               f"<code>{_e(verify.get('policy', {}).get('version'))}</code> (hash "
               f"<code>{_e(verify.get('policy', {}).get('hash'))}</code>).</p>")
    later = [r for r in _this_run(audit, report.get("run", {}).get("run_id"))
             if str(r.get("at", "")) > str(verify.get("verified_at", ""))]
    erased = [r for r in _erasures(subject_audit or [])
              if str(r.get("at", "")) > str(verify.get("verified_at", ""))]
    if later or erased:
        what = ", ".join(
            ([f"purge {_e(str(later[-1].get('at'))[:10])}"] if later else [])
            + ([f"subject erasure {_e(str(erased[-1].get('at'))[:10])}"] if erased else []))
        out.append(f"<p class='note'>The output changed after this verification ({what}); run "
                   "<code>telescrub verify</code> again.</p>")
    out.append("<table><tr><th>check</th><th>result</th><th>details</th></tr>")
    for name, check in verify.get("checks", {}).items():
        probs = check.get("problems", [])
        detail = _e(check.get("summary", ""))
        if probs:
            shown = "".join(f"<li>{_e(p)}</li>" for p in probs[:20])
            more = f"<li>… {len(probs) - 20} more</li>" if len(probs) > 20 else ""
            detail += f"<ul>{shown}{more}</ul>"
        out.append(f"<tr><td>{_e(name)}</td><td>{_badge(bool(check.get('ok')))}</td>"
                   f"<td>{detail}</td></tr>")
    out.append("</table>")
    fields = res.get("by_field", [])
    out.append(f"<h3>Residual detections: {_num(res.get('total', 0))} (allowed "
               f"{_num(res.get('max_allowed', 0))})</h3>")
    if fields:
        out.append("<table id='residual'><tr><th>table</th><th>field</th><th>action</th>"
                   "<th>entities found</th><th class='num'>count</th><th>masked examples</th>"
                   "</tr>")
        for f in fields:
            ents = ", ".join(f"{_e(k)}&nbsp;{_num(v)}" for k, v in f.get("entities", {}).items())
            exs = " ".join(f"<code>{_e(x)}</code>" for x in f.get("examples", []))
            out.append(f"<tr><td>{_e(f.get('table'))}</td><td><code>{_e(f.get('field'))}"
                       f"</code></td><td>{_e(f.get('action'))}</td><td>{ents}</td>"
                       f"<td class='num bad'>{_num(f.get('count'))}</td><td>{exs}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p class='ok'>No identifier was found in any column the policy hashes, "
                   "redacts, masks or scrubs.</p>")
    kept = verify.get("kept_by_policy", [])
    if kept:
        out.append("<h3>Kept by policy (expected, not leaks)</h3><p class='muted'>Columns the "
                   "policy keeps on purpose hold the entity they were classified with (e.g. "
                   "tenant ids as OII, service server names, truncated IPs).</p><table>"
                   "<tr><th>table</th><th>field</th><th>action</th><th>entity</th>"
                   "<th class='num'>count</th><th>masked examples</th></tr>")
        for f in kept:
            exs = " ".join(f"<code>{_e(x)}</code>" for x in f.get("examples", []))
            out.append(f"<tr><td>{_e(f.get('table'))}</td><td><code>{_e(f.get('field'))}"
                       f"</code></td><td>{_e(f.get('action'))}</td><td>{_e(f.get('entity'))}"
                       f"</td><td class='num'>{_num(f.get('count'))}</td><td>{exs}</td></tr>")
        out.append("</table>")
    warns = verify.get("warnings", [])
    if warns:
        out.append("<h3>Warnings</h3><ul>" + "".join(f"<li>{_e(w)}</li>" for w in warns[:30])
                   + (f"<li>… {len(warns) - 30} more</li>" if len(warns) > 30 else "") + "</ul>")
    out.append("</section>")
    return "".join(out)


def _audit(audit: list[dict[str, Any]]) -> str:
    if not audit:
        return ""
    recs = [r for r in audit if r.get("action") != "run"][-AUDIT_ROWS:]
    out = ["<section id='purge-audit'><h2>Retention enforcement (purge audit)</h2>"
           f"<p class='muted'>The last {len(recs)} actions of <code>_audit/purge.jsonl</code>."
           "</p><table><tr><th>when (UTC)</th><th>action</th><th>partition</th>"
           "<th class='num'>rows</th><th>why</th><th>dry run</th></tr>"]
    for r in recs:
        what = str(r.get("action"))
        if r.get("columns_dropped"):
            what += ": " + ", ".join(str(c.get("name")) for c in r["columns_dropped"])
        out.append(f"<tr><td>{_e(r.get('at'))}</td><td>{_e(what)}</td>"
                   f"<td><code>{_e(r.get('path'))}</code></td><td class='num'>"
                   f"{_num(r.get('rows'))}</td><td>{_e(r.get('why'))}</td>"
                   f"<td>{'yes' if r.get('dry_run') else 'no'}</td></tr>")
    out.append("</table></section>")
    return "".join(out)


def _erasures(subject_audit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-file erasure records that changed data (not dry runs)."""
    return [r for r in subject_audit if not r.get("dry_run")
            and r.get("action") in ("erase_rows", "tombstone")]


def _short(sha: Any) -> str:
    return f"{_e(str(sha)[:16])}…" if sha else "—"


def _subject_audit(subject_audit: list[dict[str, Any]]) -> str:
    """Data-subject requests (``_audit/subject.jsonl``): one row per request, its files
    folded below. Request ids, dates, counts and checksums only: the log holds no identifier
    (at most the subject's hash token, which is not shown here)."""
    if not subject_audit:
        return ""
    requests: dict[str, dict[str, Any]] = {}
    files: dict[str, list[dict[str, Any]]] = {}
    for r in subject_audit:
        rid = str(r.get("request_id") or "—")
        if r.get("action") == "request":
            req = requests.setdefault(rid, {"runs": []})
            req["runs"].append(r)
        elif r.get("action") in ("erase_rows", "tombstone"):
            files.setdefault(rid, []).append(r)
            requests.setdefault(rid, {"runs": []})
    recovered = sum(1 for r in subject_audit if r.get("action") == "recover")
    rows = list(requests.items())[-AUDIT_ROWS:]
    out = ["<section id='subject-audit'><h2>Data-subject requests (erasure audit)</h2>"
           "<p class='muted'>Requests handled with <code>telescrub subject erase</code> "
           f"(<code>_audit/subject.jsonl</code>, the last {len(rows)}). Each changed file has "
           "its own audit line with the sha256 before and after, which the manifests checked "
           "by <code>verify</code> carry; the log holds no identifier.</p>"
           "<table><tr><th>request id</th><th>first (UTC)</th><th>last (UTC)</th>"
           "<th>mode</th><th class='num'>partitions</th><th class='num'>files</th>"
           "<th class='num'>rows removed</th><th class='num'>cells tombstoned</th>"
           "<th>remaining after</th><th>dry runs</th></tr>"]
    for rid, req in rows:
        recs = [r for r in files.get(rid, []) if not r.get("dry_run")]
        runs = req["runs"]
        real = [r for r in runs if not r.get("dry_run")]
        stamps = sorted(str(r.get("at", "")) for r in [*runs, *recs])
        remaining = real[-1].get("remaining") if real else None
        mode = (real or runs or recs or [{}])[-1].get("mode", "")
        rem = ("<span class='muted'>—</span>" if remaining is None else
               f"<span class='ok'>{_num(remaining)}</span>" if remaining == 0 else
               f"<span class='bad'>{_num(remaining)}</span>")
        out.append(
            f"<tr><td><code>{_e(rid)}</code></td><td>{_e(stamps[0] if stamps else '')}</td>"
            f"<td>{_e(stamps[-1] if stamps else '')}</td><td>{_e(mode)}</td>"
            f"<td class='num'>{len({r.get('path') for r in recs})}</td>"
            f"<td class='num'>{len(recs)}</td>"
            f"<td class='num'>{_num(sum(int(r.get('rows_removed') or 0) for r in recs))}</td>"
            f"<td class='num'>{_num(sum(int(r.get('cells_tombstoned') or 0) for r in recs))}"
            f"</td><td>{rem}</td><td>{sum(1 for r in runs if r.get('dry_run'))}</td></tr>")
    out.append("</table>")
    detail = [r for rid, _ in rows for r in files.get(rid, []) if not r.get("dry_run")]
    if detail:
        out.append(f"<details id='subject-audit-files'><summary>{len(detail)} file(s) "
                   "changed</summary><table><tr><th>request id</th><th>when (UTC)</th>"
                   "<th>partition</th><th>file before → after</th><th class='num'>rows before"
                   "</th><th class='num'>removed</th><th class='num'>tombstoned</th>"
                   "<th>sha256 before → after</th></tr>")
        for r in detail[-AUDIT_ROWS * 4:]:
            after = r.get("file_after") or ("(partition deleted)" if r.get("partition_deleted")
                                            else "(file dropped)")
            out.append(
                f"<tr><td><code>{_e(r.get('request_id'))}</code></td><td>{_e(r.get('at'))}</td>"
                f"<td><code>{_e(r.get('path'))}</code></td><td class='mono'>{_e(r.get('file'))}"
                f" → {_e(after)}</td><td class='num'>{_num(r.get('rows_before'))}</td>"
                f"<td class='num'>{_num(r.get('rows_removed'))}</td>"
                f"<td class='num'>{_num(r.get('cells_tombstoned'))}</td>"
                f"<td class='mono sha'>{_short(r.get('sha256_before'))} → "
                f"{_short(r.get('sha256_after'))}</td></tr>")
        out.append("</table></details>")
    if recovered:
        out.append(f"<p class='muted'>{recovered} interrupted erasure step(s) were completed "
                   "or rolled back by a later run (<code>recover</code> lines).</p>")
    out.append("</section>")
    return "".join(out)


# ---------------------------------------------------------------------------------- render


def render(report: dict[str, Any], verify: dict[str, Any] | None = None,
           audit: list[dict[str, Any]] | None = None, today: str | None = None,
           subject_audit: list[dict[str, Any]] | None = None) -> str:
    """The whole page. ``verify`` (verify.json) is shown only if it verified this run;
    ``audit`` is the purge log, ``subject_audit`` the data-subject erasure log."""
    run = report.get("run", {})
    if verify is not None and verify.get("report_run_id") not in (None, run.get("run_id")):
        verify = None  # a verification of an earlier run (append mode): not this run's
    audit = audit or []
    today = today or dt.datetime.now(dt.timezone.utc).date().isoformat()
    title = f"telescrub run {run.get('run_id', '')}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{'[DEMO KEY] ' if run.get('demo_key') else ''}{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header class='top'><h1>{_e(title)}</h1><p>telescrub run report · created "
        f"{_e(run.get('created_at'))} · {len(report.get('tables', {}))} tables · "
        f"{_num(report.get('totals', {}).get('read'))} records</p></header><main>",
        _demo_warning(run),
        _summary(report, verify),
        _inputs(report),
        _charts(report),
        _tables(report),
        _drift_and_quarantine(report),
        _partitions(report, audit, today, subject_audit),
        _verification(report, verify, audit, subject_audit),
        _audit(audit),
        _subject_audit(subject_audit or []),
        f"<footer>report format {_e(report.get('format_version'))} · rendered {_e(today)} · "
        "self-contained: no scripts, fonts or remote resources.</footer>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)




def read_audit(out_dir: str, name: str = PURGE_AUDIT) -> list[dict[str, Any]]:
    """Records of ``<out>/_audit/purge.jsonl`` (or another audit log; a torn last line is
    skipped)."""
    return _read_audit(out_dir, name)


def write_html(report: dict[str, Any], path: str) -> None:
    """Render to ``path`` (whole); picks up ``verify.json`` beside it and the purge and
    subject audits."""
    rdir = fs.dirname(path if fs.is_url(path) else os.path.abspath(path))
    verify = fs.read_json(fs.join(rdir, VERIFY_NAME))
    audit = read_audit(fs.dirname(rdir))
    subject_audit = read_audit(fs.dirname(rdir), SUBJECT_AUDIT)
    fs.write(path, render(report, verify, audit, subject_audit=subject_audit))
