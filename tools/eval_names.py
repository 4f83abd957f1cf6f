"""Measure the PERSON and STREET_ADDRESS detectors on the Presidio synthetic corpus.

Any-overlap metrics, per entity:

* recall: a gold span counts as found if any detection of the same type overlaps it;
* precision: a detection counts as correct if it overlaps a gold span of the same type;
  false positives are broken down by the gold type they overlap instead (ORGANIZATION,
  GPE/LOCATION, ...) or ``none``;
* negative controls: detections in the first N lines of LogHub samples that hold no names
  (HealthApp, Android, Windows, Hadoop, Spark) — every one is a false positive;
* timing: mean ``find()`` time per text.

The labels are evaluation data only; nothing here feeds back into the detectors.

    python tools/eval_names.py [--shared ../shared] [--show-fn 20] [--show-fp 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.detectors.person_name import PersonNameDetector
from telescrub.classifiers.detectors.street_address import StreetAddressDetector

ROOT = Path(__file__).resolve().parents[1]
NEGATIVE_CONTROLS = ("HealthApp", "Android", "Windows", "Hadoop", "Spark")
ENTITIES = ("PERSON", "STREET_ADDRESS")


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def load_synth(shared: Path) -> list[dict]:
    base = shared / "corpora" / "presidio-synth"
    texts = [json.loads(line) for line in (base / "synth_dataset_v2.texts.jsonl").open(encoding="utf-8")]
    labels = json.loads((base / "synth_dataset_v2.labels.json").read_text(encoding="utf-8"))
    if len(texts) != len(labels):
        raise SystemExit(f"{len(texts)} texts but {len(labels)} label records")
    records = []
    for t, lab in zip(texts, labels, strict=True):
        if t["text"] != lab["full_text"]:
            raise SystemExit(f"text {t['id']} differs from its label record")
        spans = [(s["entity_type"], s["start_position"], s["end_position"]) for s in lab["spans"]]
        records.append({"id": t["id"], "text": t["text"], "spans": spans})
    return records


def evaluate(records: list[dict], detectors: dict[str, Detector]) -> dict:
    report: dict = {}
    for entity, det in detectors.items():
        gold_total = gold_found = 0
        det_total = det_correct = 0
        fp_other: Counter[str] = Counter()
        fns: list[tuple[int, str, str]] = []
        fps: list[tuple[int, str, str]] = []
        elapsed = 0.0
        for rec in records:
            text = rec["text"]
            t0 = time.perf_counter()
            found = det.find(text)
            elapsed += time.perf_counter() - t0
            spans = [(r.start, r.end) for r in found]
            gold = [(s, e) for typ, s, e in rec["spans"] if typ == entity]
            for g in gold:
                gold_total += 1
                if any(_overlaps(g, d) for d in spans):
                    gold_found += 1
                else:
                    fns.append((rec["id"], text[g[0] : g[1]], text))
            for d in spans:
                det_total += 1
                if any(_overlaps(g, d) for g in gold):
                    det_correct += 1
                    continue
                others = sorted({typ for typ, s, e in rec["spans"] if _overlaps((s, e), d)})
                fp_other[others[0] if others else "none"] += 1
                fps.append((rec["id"], text[d[0] : d[1]], text))
        report[entity] = {
            "gold": gold_total,
            "gold_found": gold_found,
            "recall": gold_found / gold_total if gold_total else 0.0,
            "detections": det_total,
            "correct": det_correct,
            "precision": det_correct / det_total if det_total else 0.0,
            "false_positives_by_overlapped_type": dict(fp_other.most_common()),
            "mean_ms_per_text": 1000 * elapsed / max(1, len(records)),
            "_fn": fns,
            "_fp": fps,
        }
    return report


def negative_controls(shared: Path, detectors: dict[str, Detector], lines: int) -> dict:
    out: dict = {}
    for system in NEGATIVE_CONTROLS:
        path = shared / "corpora" / "loghub" / system / f"{system}_2k.log"
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace") as fh:
            sample = [next(fh, "").rstrip("\n") for _ in range(lines)]
        row: dict = {}
        for entity, det in detectors.items():
            t0 = time.perf_counter()
            hits = [(line[r.start : r.end]) for line in sample for r in det.find(line)]
            ms = 1000 * (time.perf_counter() - t0) / max(1, len(sample))
            row[entity] = {"hits": len(hits), "examples": hits[:5], "mean_ms_per_line": ms}
        out[system] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="PERSON / STREET_ADDRESS recall and precision")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--show-fn", type=int, default=0, help="print N missed gold spans per entity")
    ap.add_argument("--show-fp", type=int, default=0, help="print N false positives per entity")
    ap.add_argument("--log-lines", type=int, default=500, help="lines per negative-control log")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    detectors: dict[str, Detector] = {
        "PERSON": PersonNameDetector(),
        "STREET_ADDRESS": StreetAddressDetector(),
    }
    report = evaluate(load_synth(shared), detectors)
    neg = negative_controls(shared, detectors, args.log_lines)
    for entity in ENTITIES:
        r = report[entity]
        print(f"{entity:15s} recall {r['recall']:.3f} ({r['gold_found']}/{r['gold']})  "
              f"precision {r['precision']:.3f} ({r['correct']}/{r['detections']})  "
              f"{r['mean_ms_per_text']:.3f} ms/text")
        print(f"{'':15s} false positives by overlapped gold type: "
              f"{r['false_positives_by_overlapped_type']}")
        for kind, n in (("_fn", args.show_fn), ("_fp", args.show_fp)):
            for rid, span, text in r[kind][:n]:
                print(f"    {kind[1:]} #{rid}: {span!r}  <- {text[:160]!r}")
    for system, row in neg.items():
        cells = "  ".join(
            f"{e}: {row[e]['hits']} hits ({row[e]['mean_ms_per_line']:.3f} ms/line) {row[e]['examples'][:3]}"
            for e in ENTITIES
        )
        print(f"negative control {system:9s} {cells}")
    if args.json:
        clean = {e: {k: v for k, v in r.items() if not k.startswith("_")} for e, r in report.items()}
        Path(args.json).write_text(json.dumps({"synth": clean, "negative_controls": neg}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
