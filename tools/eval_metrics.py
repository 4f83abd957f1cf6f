"""Accuracy metrics for ``make eval``: span precision/recall on Presidio's synthetic texts and
over-redaction on the negative controls, the metadata columns of the structured LogHub CSVs
and the system-metadata fields of the cloud audit logs (event names, operations, regions,
API versions, result codes, user agents: they must come out unchanged).

The Presidio labels are evaluation data only: they are read here, never by the pipeline.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
from collections import Counter
from typing import Any

import pyarrow.dataset as ds

from telescrub.classifiers.text import TextScrubber
from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for
from telescrub.core.policy import Policy
from telescrub.formats.readers import table_name_for
from telescrub.store.layout import hive_partitioning

#: our entity -> the label type it answers in Presidio's synthetic dataset
ENTITY_TO_LABEL = {
    "EMAIL_ADDRESS": "EMAIL_ADDRESS", "IPV4": "IP_ADDRESS", "IPV6": "IP_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN_CODE", "PHONE_NUMBER": "PHONE_NUMBER",
    "US_SSN": "US_SSN", "PERSON": "PERSON", "STREET_ADDRESS": "STREET_ADDRESS",
    "HOSTNAME": "DOMAIN_NAME",  # the labels call host names in URLs DOMAIN_NAME
}
#: recall targets from the product issue
RECALL_TARGETS = {"EMAIL_ADDRESS": 0.95, "IP_ADDRESS": 0.95, "CREDIT_CARD": 0.95,
                  "IBAN_CODE": 0.95, "PHONE_NUMBER": 0.95, "US_SSN": 0.95, "PERSON": 0.90,
                  "STREET_ADDRESS": 0.90}
PRECISION_TARGET = 0.90
OVER_REDACTION_TARGET = 0.01
NEGATIVE_CONTROLS = ("HealthApp", "Android", "Windows")
METADATA_COLUMNS = {"LineId", "Date", "Day", "Month", "Time", "Level", "Component", "Pid", "PID",
                    "Tid", "EventId", "EventTemplate", "Timestamp", "Type", "State", "Flag",
                    "Label", "NodeRepeat", "Logrecord"}
#: system metadata of audit logs that must be kept, by normalised field name (last segment)
CLOUD_METADATA = re.compile(
    r"(event_?(name|type|source|version|category)|legacy_?event_?type|event_?type_?name|"
    r"operation(_?(name|type))?|action(_?type)?|activity(_?display_?name)?|(aws_?)?region|"
    r"api_?(version|type)|error_?code|result(_?(type|status))?|status(_?code)?|user_?agent|"
    r"raw_?user_?agent|severity|category|log_?type|record_?type|workload|type|method|"
    r"logon_?type|request_?type|programmatic_?access_?type|client_?app_?used|"
    r"authentication_?(provider|step)|factor|outcome)")
_REPLACED = re.compile(r"h1:[0-9a-f]{8}:[0-9a-f]{32}|<[A-Z_]+(?::[A-Z_]+)?>")


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def presidio_spans(policy: Policy, texts_path: str, labels_path: str) -> dict[str, Any]:
    """Span-level recall per label type (typed and any-overlap) and precision overall."""
    scrubber = TextScrubber(policy, HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True))
    with open(labels_path, encoding="utf-8") as fh:
        labels = json.load(fh)
    texts = []
    with open(texts_path, encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
    gold_n: Counter[str] = Counter()
    typed_hit: Counter[str] = Counter()
    any_hit: Counter[str] = Counter()
    tp = fp = 0
    fp_by_entity: Counter[str] = Counter()
    for text, lab in zip(texts, labels, strict=True):
        if text != lab["full_text"]:
            raise ValueError("texts and labels are not aligned")
        gold = [((s["start_position"], s["end_position"]), s["entity_type"]) for s in lab["spans"]]
        found = [((r.start, r.end), ENTITY_TO_LABEL.get(r.entity_type, r.entity_type))
                 for r in scrubber.analyze(text)]
        for span, typ in gold:
            gold_n[typ] += 1
            if any(_overlaps(span, f) for f, _ in found):
                any_hit[typ] += 1
            if any(_overlaps(span, f) and ft == typ for f, ft in found):
                typed_hit[typ] += 1
        for span, typ in found:
            if any(_overlaps(span, g) and gt == typ for g, gt in gold):
                tp += 1
            else:
                fp += 1
                fp_by_entity[typ] += 1
    per_type = {}
    for typ in sorted(gold_n):
        n = gold_n[typ]
        per_type[typ] = {"gold": n, "typed_recall": round(typed_hit[typ] / n, 3),
                         "any_overlap_recall": round(any_hit[typ] / n, 3),
                         "target": RECALL_TARGETS.get(typ)}
        if typ in RECALL_TARGETS:
            per_type[typ]["met"] = typed_hit[typ] / n >= RECALL_TARGETS[typ]
    precision = tp / (tp + fp) if tp + fp else 1.0
    return {"texts": len(texts), "per_type": per_type, "precision": round(precision, 3),
            "precision_met": precision >= PRECISION_TARGET, "detections": tp + fp,
            "false_positives_by_entity": dict(fp_by_entity.most_common())}


def _table(run_out: str, table: str) -> Any:
    path = os.path.join(run_out, table)
    if not os.path.isdir(path):
        return None
    return ds.dataset(path, format="parquet", partitioning=hive_partitioning()).to_table()


def _truth_values(corpora: str, system: str) -> set[str]:
    path = os.path.join(corpora, "truth", f"loghub_{system}.json")
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as fh:
        t = json.load(fh)
    return {v for group in ("values", "weak_values") for vs in t.get(group, {}).values()
            for v in vs}


def over_redaction(corpora: str, run_out: str) -> dict[str, Any]:
    """Share of tokens replaced in the negative-control logs, and of metadata values changed
    in every structured LogHub CSV (timestamps, PIDs, components, severities, event ids).
    A changed metadata value that the corpus's truth lists as an identifier (LogHub puts host
    names in columns it calls Level or Component) is not over-redaction."""
    controls = {}
    for system in NEGATIVE_CONTROLS:
        log = glob.glob(os.path.join(corpora, "loghub", system, "*_2k.log"))
        if not log:
            continue
        t = _table(run_out, table_name_for(log[0]))
        if t is None:
            continue
        tokens = replaced = 0
        for col in t.column_names:
            if col.startswith("_"):
                continue
            for v in t.column(col).to_pylist():
                if isinstance(v, str):
                    tokens += len(v.split())
                    replaced += len(_REPLACED.findall(v))
        controls[system] = {"tokens": tokens, "replaced": replaced,
                            "share": round(replaced / tokens, 5) if tokens else 0.0}
    meta_total = meta_changed = 0
    changed_by_col: Counter[str] = Counter()
    for csv_path in sorted(glob.glob(os.path.join(corpora, "loghub", "*", "*_structured.csv"))):
        t = _table(run_out, table_name_for(csv_path))
        if t is None:
            continue
        out_rows = {line: row for line, row in zip(
            t.column("_source_line").to_pylist(), t.to_pylist(), strict=True)}
        system = os.path.basename(os.path.dirname(csv_path))
        identifiers = _truth_values(corpora, system)
        with open(csv_path, encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.DictReader(fh)
            for n, row in enumerate(reader, start=2):
                out = out_rows.get(n)
                if out is None:
                    continue
                for col in METADATA_COLUMNS & set(row):
                    if not row[col].strip() or row[col].strip() in identifiers:
                        continue  # nothing to redact, or an identifier rightly redacted
                    meta_total += 1
                    got = out.get(col)
                    if got is None or str(got) != row[col].strip():
                        meta_changed += 1
                        changed_by_col[f"{os.path.basename(csv_path).split('_')[0]}.{col}"] += 1
    share = meta_changed / meta_total if meta_total else 0.0
    worst = max([c["share"] for c in controls.values()] + [share])
    return {"negative_controls": controls,
            "metadata_columns": {"values": meta_total, "changed": meta_changed,
                                 "share": round(share, 5),
                                 "changed_by_column": dict(changed_by_col.most_common(10))},
            "target": OVER_REDACTION_TARGET, "met": worst < OVER_REDACTION_TARGET}


def _truth_of(corpora: str, name: str) -> set[str]:
    path = os.path.join(corpora, "truth", f"cloud_{name}.json")
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as fh:
        t = json.load(fh)
    return {v for group in ("values", "weak_values") for vs in t.get(group, {}).values()
            for v in vs if isinstance(v, str) and len(v) >= 3}


def cloud_metadata(corpora: str, run_out: str) -> dict[str, Any]:
    """Share of system-metadata values of the cloud corpora (fields named like
    :data:`CLOUD_METADATA`) that the run changed. Input values are read with telescrub's own
    readers and matched to the output rows by ``_source_line``; a value holding one of the
    corpus's truth identifiers is not counted (scrubbing it is right)."""
    from telescrub.classifiers.roles import split_path
    from telescrub.core.records import Record, output_name
    from telescrub.formats.readers import read_records

    total = changed = 0
    by_col: Counter[str] = Counter()
    for path in sorted(glob.glob(os.path.join(corpora, "cloud", "*.jsonl"))
                       + glob.glob(os.path.join(corpora, "cloud", "*.csv"))):
        table = table_name_for(path)
        t = _table(run_out, table)
        if t is None:
            continue
        out_rows = {line: row for line, row in zip(
            t.column("_source_line").to_pylist(), t.to_pylist(), strict=True)}
        ids = _truth_of(corpora, table)
        for rec in read_records(path, table):
            if not isinstance(rec, Record) or rec.line not in out_rows:
                continue
            out = out_rows[rec.line]
            for field, value in rec.fields.items():
                if value in (None, "", []) or not CLOUD_METADATA.fullmatch(split_path(field)[1]):
                    continue
                text = json.dumps(value, ensure_ascii=False)
                if any(i in text for i in ids):
                    continue
                total += 1
                got = out.get(output_name(field))
                same = got == value or (not isinstance(value, list) and str(got) == str(value))
                if not same:
                    changed += 1
                    by_col[f"{table}.{field}"] += 1
    share = changed / total if total else 0.0
    return {"values": total, "changed": changed, "share": round(share, 5),
            "changed_by_column": dict(by_col.most_common(10))}
