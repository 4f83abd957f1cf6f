"""A readable, self-contained HTML summary of report.json (no external assets)."""

from __future__ import annotations

import html
import os
from typing import Any


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def render(report: dict[str, Any]) -> str:
    run = report.get("run", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>telescrub run report</title><style>",
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}",
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:left}th{background:#f3f3f3}.bad{color:#b00;font-weight:bold}"
        ".warn{background:#fff3cd;border:2px solid #b00;padding:1em}.ok{color:#070}",
        "</style></head><body>",
        f"<h1>telescrub run {_e(run.get('run_id'))}</h1>",
    ]
    if run.get("demo_key"):
        parts.append("<p class='warn' id='demo-key-warning'>WARNING: this run used the public "
                     "demo key. Its hash tokens can be reversed by anyone; do not keep this "
                     "output.</p>")
    ok = report.get("accounting_ok")
    parts.append(f"<p>Policy {_e(run.get('policy_version'))} (hash {_e(run.get('policy_hash'))}), "
                 f"key id {_e(run.get('key_id'))}, runner {_e(run.get('runner'))}. Accounting: "
                 f"<span class='{'ok' if ok else 'bad'}'>{'OK' if ok else 'BROKEN'}</span></p>")
    t = report.get("totals", {})
    parts.append("<h2>Inputs</h2><table><tr><th>file</th><th>table</th><th>sha256</th>"
                 "<th>read</th><th>written</th><th>quarantined</th><th>dropped</th></tr>")
    for i in report.get("inputs", []):
        parts.append(f"<tr><td>{_e(i.get('source'))}</td><td>{_e(i.get('table'))}</td>"
                     f"<td><code>{_e((i.get('sha256') or '')[:16])}</code></td>"
                     f"<td>{i['read']}</td><td>{i['written']}</td><td>{i['quarantined']}</td>"
                     f"<td>{i['dropped_by_policy']}</td></tr>")
    parts.append(f"<tr><th colspan=3>total</th><th>{t.get('read')}</th><th>{t.get('written')}"
                 f"</th><th>{t.get('quarantined')}</th><th>{t.get('dropped_by_policy')}</th></tr>"
                 "</table>")
    for table, info in report.get("tables", {}).items():
        parts.append(f"<h2>Table {_e(table)}</h2><p>{info.get('records')} records, "
                     f"{info.get('rows_written')} rows written in {info.get('partitions')} "
                     f"partitions; event time from <code>{_e(info.get('timestamp_field'))}</code>"
                     "</p><table><tr><th>field</th><th>category</th><th>action</th>"
                     "<th>evidence</th><th>confidence</th><th>entities</th><th>example (masked)"
                     "</th></tr>")
        for f in info.get("fields", []):
            ex = f.get("example") or {}
            ents = ", ".join(f"{k}: {v}" for k, v in f.get("entity_counts", {}).items())
            parts.append(f"<tr><td><code>{_e(f['path'])}</code></td><td>{_e(f['category'])}"
                         f"</td><td>{_e(f['action'])}</td><td>{_e(f['evidence'])}</td>"
                         f"<td>{_e(f['confidence'])}</td><td>{_e(ents)}</td>"
                         f"<td><code>{_e(ex.get('before'))}</code> → "
                         f"<code>{_e(ex.get('after'))}</code></td></tr>")
        parts.append("</table>")
    parts.append("<h2>Schema drift</h2><ul>")
    for d in report.get("drift", []):
        parts.append(f"<li><code>{_e(d['table'])}.{_e(d['path'])}</code>: {_e(d['evidence'])}"
                     "</li>")
    parts.append("</ul><h2>Quarantine</h2><ul>")
    for q in report.get("quarantine", []):
        parts.append(f"<li>{_e(q['table'])}: {_e(q['reason'])} × {q['records']}</li>")
    parts.append("</ul><h2>Partitions</h2><table><tr><th>table</th><th>event_date</th>"
                 "<th>rows</th><th>retention</th><th>expires on</th></tr>")
    for p in report.get("partitions", []):
        parts.append(f"<tr><td>{_e(p['table'])}</td><td>{_e(p.get('event_date'))}</td>"
                     f"<td>{p.get('rows')}</td><td>{p.get('retention_days')} d "
                     f"({_e(p.get('retention_category'))})</td><td>{_e(p.get('expires_on'))}"
                     "</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_html(report: dict[str, Any], path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(render(report))
    os.replace(tmp, path)
