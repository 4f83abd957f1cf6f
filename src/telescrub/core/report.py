"""The run report: merged from the pipeline's count records, never from raw values.

Stats records (dicts) come from the stages: ``input`` (per file: sha256, records, bad),
``decision`` (per table: the field decisions and their evidence), ``act`` (entity counts,
guard hits, records dropped by policy, implausible event times per table and reason),
``example`` (one masked before/after per field) and
``partition`` (files written, rows per source file, retention). ``finalize`` turns the merged
accumulator into ``report.json`` with the accounting identity checked per input file:
``read = written + quarantined + dropped``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

QUARANTINE_TABLE = "_quarantine"


def new_acc() -> dict[str, Any]:
    return {"inputs": {}, "decisions": {}, "entities": {}, "guard": {}, "dropped": {},
            "examples": {}, "partitions": [], "quarantine_reasons": {}, "event_time": {}}


def add(acc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    kind = s.get("kind")
    if kind == "input":
        _add_input(acc["inputs"], {k: v for k, v in s.items() if k != "kind"})
    elif kind == "decision":
        acc["decisions"][s["table"]] = {k: v for k, v in s.items() if k != "kind"}
    elif kind == "act":
        for t, p, e, n in s.get("entities", []):
            key = f"{t}\x00{p}\x00{e}"
            acc["entities"][key] = acc["entities"].get(key, 0) + n
        for t, p, n in s.get("guard", []):
            key = f"{t}\x00{p}"
            acc["guard"][key] = acc["guard"].get(key, 0) + n
        for src, n in s.get("dropped", {}).items():
            acc["dropped"][src] = acc["dropped"].get(src, 0) + n
        for t, why, n in s.get("event_time", []):
            key = f"{t}\x00{why}"
            acc["event_time"][key] = acc["event_time"].get(key, 0) + n
    elif kind == "example":
        acc["examples"].setdefault(f"{s['table']}\x00{s['path']}", [s["before"], s["after"]])
    elif kind == "partition":
        acc["partitions"].append({k: v for k, v in s.items() if k != "kind"})
    elif kind == "quarantine":
        key = f"{s['table']}\x00{s['reason']}"
        acc["quarantine_reasons"][key] = acc["quarantine_reasons"].get(key, 0) + s["n"]
    return acc


def _add_input(inputs: dict[str, Any], info: dict[str, Any]) -> None:
    """One input file's counts; a file read in byte ranges reports once per range (each
    with the whole file's sha256 and size) and its records and bad lines add up."""
    have = inputs.get(info["source"])
    if have is None:
        inputs[info["source"]] = dict(info)
        return
    have["records"] = have.get("records", 0) + info.get("records", 0)
    have["bad"] = have.get("bad", 0) + info.get("bad", 0)
    have["ranges"] = have.get("ranges", 1) + info.get("ranges", 1)


def merge(accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out = new_acc()
    for a in accs:
        for info in a["inputs"].values():
            _add_input(out["inputs"], info)
        out["decisions"].update(a["decisions"])
        for name in ("entities", "guard", "dropped", "quarantine_reasons", "event_time"):
            for k, v in a.get(name, {}).items():
                out[name][k] = out[name].get(k, 0) + v
        for k, v in a["examples"].items():
            out["examples"].setdefault(k, v)
        out["partitions"].extend(a["partitions"])
    return out


def finalize(acc: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    written: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    tables: dict[str, dict[str, Any]] = {}
    partitions = sorted(acc["partitions"], key=lambda p: (p["table"], p["event_date"] or ""))
    for p in partitions:
        target = quarantined if p["table"] == QUARANTINE_TABLE else written
        for src, n in p.get("sources", {}).items():
            target[src] = target.get(src, 0) + n
        if p["table"] != QUARANTINE_TABLE:
            t = tables.setdefault(p["table"], {"rows_written": 0, "partitions": 0})
            t["rows_written"] += p["rows"]
            t["partitions"] += 1

    inputs = []
    identity_ok = True
    for src in sorted(set(acc["inputs"]) | set(written) | set(quarantined)):
        info = acc["inputs"].get(src, {"source": src, "records": 0, "bad": 0})
        read = info.get("records", 0) + info.get("bad", 0)
        w, q, d = written.get(src, 0), quarantined.get(src, 0), acc["dropped"].get(src, 0)
        ok = read == w + q + d
        identity_ok &= ok
        inputs.append({**info, "read": read, "written": w, "quarantined": q,
                       "dropped_by_policy": d, "accounted": ok})

    fields_out: dict[str, Any] = {}
    drift: list[dict[str, str]] = []
    for table, dec in sorted(acc["decisions"].items()):
        rows = []
        for f in dec["fields"]:
            ents = {k.split("\x00")[2]: v for k, v in acc["entities"].items()
                    if k.startswith(f"{table}\x00{f['path']}\x00")}
            ex = acc["examples"].get(f"{table}\x00{f['path']}")
            rows.append({**f, "entity_counts": dict(sorted(ents.items())),
                         "guard_scrubbed": acc["guard"].get(f"{table}\x00{f['path']}", 0),
                         "example": {"before": ex[0], "after": ex[1]} if ex else None})
            if f.get("drift"):
                drift.append({"table": table, "path": f["path"], "evidence": f["evidence"]})
        fields_out[table] = {"records": dec.get("records", 0),
                             "timestamp_field": dec.get("timestamp_path"),
                             "source_schema": dec.get("schema_path"), "fields": rows,
                             **tables.get(table, {"rows_written": 0, "partitions": 0})}

    by_entity: dict[str, int] = {}
    for k, v in acc["entities"].items():
        e = k.split("\x00")[2]
        by_entity[e] = by_entity.get(e, 0) + v
    quarantine = [{"table": k.split("\x00")[0], "reason": k.split("\x00")[1], "records": v}
                  for k, v in sorted(acc["quarantine_reasons"].items())]
    implausible = [{"table": k.split("\x00")[0], "reason": k.split("\x00")[1], "records": v}
                   for k, v in sorted(acc.get("event_time", {}).items())]
    totals = {
        "read": sum(i["read"] for i in inputs), "written": sum(written.values()),
        "quarantined": sum(quarantined.values()), "dropped_by_policy": sum(acc["dropped"].values()),
    }
    return {
        "format_version": 1, "run": run, "totals": totals, "accounting_ok": identity_ok,
        "inputs": inputs, "tables": fields_out, "drift": drift, "quarantine": quarantine,
        "implausible_event_times": implausible,
        "detections_by_entity": dict(sorted(by_entity.items())),
        "partitions": partitions,
    }
