"""The run report: merged from the stages' typed count records (``telescrub.core.stats``),
never from raw values. One accumulator serves batch and streaming runs.

``add`` folds one record into the accumulator (a JSON-able dict: the streaming driver keeps it
across micro-batches in its state file), ``merge`` combines accumulators, ``finalize`` turns
one into ``report.json`` with the accounting identity checked per input file:
``read = written + quarantined + dropped``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telescrub.core.stats import (
    ActStat,
    DecisionStat,
    ExampleStat,
    InputStat,
    PartitionStat,
    QuarantineStat,
    Stat,
    StreamInputStat,
    WatermarkStat,
)

QUARANTINE_TABLE = "_quarantine"
WINDOW_KEY = "event_window"


def new_acc() -> dict[str, Any]:
    return {"inputs": {}, "decisions": {}, "entities": {}, "guard": {}, "dropped": {},
            "examples": {}, "partitions": [], "quarantine_reasons": {}, "event_time": {}}


def partition_dict(s: PartitionStat) -> dict[str, Any]:
    """A partition as the report lists it (``event_window`` only for streaming windows)."""
    d = s._asdict()
    if d[WINDOW_KEY] is None:
        del d[WINDOW_KEY]
    return d


def input_dict(s: InputStat) -> dict[str, Any]:
    """An input as the report lists it (``decoded_with_fallback`` only when some records
    were repaired: report.json stays as it was for clean inputs)."""
    d = s._asdict()
    if not d["decoded_with_fallback"]:
        del d["decoded_with_fallback"]
    return d


def add(acc: dict[str, Any], s: Stat) -> dict[str, Any]:
    if isinstance(s, InputStat):
        _add_input(acc["inputs"], input_dict(s))
    elif isinstance(s, DecisionStat):
        acc["decisions"][s.table] = s._asdict()
    elif isinstance(s, ActStat):
        for t, p, e, n in s.entities:
            key = f"{t}\x00{p}\x00{e}"
            acc["entities"][key] = acc["entities"].get(key, 0) + n
        for t, p, n in s.guard:
            key = f"{t}\x00{p}"
            acc["guard"][key] = acc["guard"].get(key, 0) + n
        for src, n in s.dropped.items():
            acc["dropped"][src] = acc["dropped"].get(src, 0) + n
        for t, why, n in s.event_time:
            key = f"{t}\x00{why}"
            acc.setdefault("event_time", {})
            acc["event_time"][key] = acc["event_time"].get(key, 0) + n
    elif isinstance(s, ExampleStat):
        acc["examples"].setdefault(f"{s.table}\x00{s.path}", [s.before, s.after])
    elif isinstance(s, PartitionStat):
        acc["partitions"].append(partition_dict(s))
        if s.event_window is not None:  # one entry per window directory, not per pane
            parts = acc["partitions"]
            if len(parts) > 2 * int(acc.get("_compacted", 0)) + 64:
                acc["partitions"] = merge_partitions(parts)
                acc["_compacted"] = len(acc["partitions"])
    elif isinstance(s, QuarantineStat):
        key = f"{s.table}\x00{s.reason}"
        acc["quarantine_reasons"][key] = acc["quarantine_reasons"].get(key, 0) + s.n
    elif isinstance(s, StreamInputStat):
        cur = acc.setdefault("stream_inputs", {}).setdefault(
            s.source, {"source": s.source, "table": s.table, "format": "jsonl",
                       "records": 0, "bad": 0})
        cur["records"] += s.records
        cur["bad"] += s.bad
    elif isinstance(s, WatermarkStat):
        wm = acc.setdefault("watermarks", {})
        for table, us in s.max_event_us.items():
            wm[table] = max(int(us), int(wm.get(table, us)))
    else:
        raise TypeError(f"not a report count record: {type(s).__name__}")
    return acc


def merge_partitions(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (table, event_date, window) however many panes or batches wrote it."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for p in parts:
        k = (p["table"], p.get("event_date") or "", str(p.get(WINDOW_KEY, "")))
        cur = merged.get(k)
        if cur is None:
            merged[k] = {**p, "files": sorted(set(p.get("files", []))),
                         "sources": dict(p.get("sources", {}))}
            continue
        cur["files"] = sorted(set(cur["files"]) | set(p.get("files", [])))
        cur["rows"] += p["rows"]
        for src, n in p.get("sources", {}).items():
            cur["sources"][src] = cur["sources"].get(src, 0) + n
        if (p["retention_days"], p["retention_category"]) < (cur["retention_days"],
                                                              cur["retention_category"]):
            cur.update(retention_days=p["retention_days"], expires_on=p["expires_on"],
                       retention_category=p["retention_category"])
    return [merged[k] for k in sorted(merged)]


def _add_input(inputs: dict[str, Any], info: dict[str, Any]) -> None:
    """One input file's counts; a file read in byte ranges reports once per range (each
    with the whole file's sha256 and size) and its records and bad lines add up."""
    have = inputs.get(info["source"])
    if have is None:
        inputs[info["source"]] = dict(info)
        return
    have["records"] = have.get("records", 0) + info.get("records", 0)
    have["bad"] = have.get("bad", 0) + info.get("bad", 0)
    if info.get("decoded_with_fallback"):
        have["decoded_with_fallback"] = (have.get("decoded_with_fallback", 0)
                                         + info["decoded_with_fallback"])
    have["ranges"] = have.get("ranges", 1) + info.get("ranges", 1)


def merge(accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out = new_acc()
    streaming = False
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
        for src, c in a.get("stream_inputs", {}).items():
            streaming = True
            cur = out.setdefault("stream_inputs", {}).setdefault(
                src, {**c, "records": 0, "bad": 0})
            cur["records"] += c["records"]
            cur["bad"] += c["bad"]
        for table, us in a.get("watermarks", {}).items():
            streaming = True
            wm = out.setdefault("watermarks", {})
            wm[table] = max(int(us), int(wm.get(table, us)))
        streaming = streaming or "_compacted" in a
    if streaming or any(WINDOW_KEY in p for p in out["partitions"]):
        out.setdefault("stream_inputs", {})
        out.setdefault("watermarks", {})
        out["partitions"] = merge_partitions(out["partitions"])
        out["_compacted"] = len(out["partitions"])
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
