"""``make eval``: scrub every corpus in ../shared/corpora and measure what survives.

One telescrub run over all corpora (LogHub as plain logs and as structured CSVs, the Presidio
synthetic texts, the cloud / SaaS audit logs as JSON lines and as Sentinel CSV exports whose
cells hold JSON), then ``leakcheck.py`` per truth file over the tables of that corpus. Writes
``eval/results.json`` and ``eval/results.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

from eval_metrics import (
    OVER_REDACTION_TARGET,
    cloud_metadata,
    over_redaction,
    presidio_spans,
)

from telescrub.app.cli import main as cli_main
from telescrub.core.masking import mask_example
from telescrub.core.policy import load_policy
from telescrub.formats.readers import table_name_for


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--out", default="eval")
    args = ap.parse_args(argv)
    corpora = os.path.join(args.shared, "corpora")
    truths = sorted(glob.glob(os.path.join(corpora, "truth", "*.json")))
    inputs = sorted(glob.glob(os.path.join(corpora, "loghub", "*", "*_2k.log*")))
    inputs += sorted(glob.glob(os.path.join(corpora, "presidio-synth", "*.texts.jsonl")))
    inputs += sorted(glob.glob(os.path.join(corpora, "cloud", "*.jsonl")))
    inputs += sorted(glob.glob(os.path.join(corpora, "cloud", "*.csv")))
    run_out = os.path.join(args.out, "runs", "all")
    started = time.monotonic()
    rc = cli_main(["-q", "run", *inputs, "--output", run_out, "--demo-key", "--no-verify", "--mode",
                   "overwrite", "--default-year", "2015"])
    elapsed = time.monotonic() - started
    if rc not in (0, 1):
        print(f"eval: telescrub run failed with status {rc}", file=sys.stderr)
        return rc
    tool = os.path.join(args.shared, "tools", "leakcheck.py")
    rows = []
    for truth in truths:
        with open(truth, encoding="utf-8") as fh:
            t = json.load(fh)
        tables = sorted({table_name_for(os.path.join(corpora, i)) for i in t["inputs"]})
        prefix = os.path.commonprefix(tables)
        jpath = os.path.join(args.out, f"leak_{os.path.basename(truth)}")
        os.makedirs(args.out, exist_ok=True)
        proc = subprocess.run([sys.executable, tool, truth, run_out, "--json", jpath,
                               "--examples", "5", "--path-filter", os.sep + prefix],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 2:
            print(f"eval: leakcheck failed on {truth}: {proc.stderr.strip()}", file=sys.stderr)
            return 2
        with open(jpath, encoding="utf-8") as fh:
            res = json.load(fh)
        os.remove(jpath)
        groups: dict[str, dict[str, int]] = {}
        for r in res["results"]:
            g = groups.setdefault(r["group"], {"values": 0, "surviving": 0})
            g["values"] += r["values"]
            g["surviving"] += r["surviving"]
        by_type = {r["type"]: r["surviving"] for r in res["results"]
                   if r["group"] == "values" and r["surviving"]}
        rows.append({
            "truth": os.path.basename(truth), "tables": tables,
            "strict_values": groups.get("values", {}).get("values", 0),
            "strict_survivors": groups.get("values", {}).get("surviving", 0),
            "weak_values": groups.get("weak_values", {}).get("values", 0),
            "weak_survivors": groups.get("weak_values", {}).get("surviving", 0),
            "surviving_by_type": by_type,
            "examples_masked": [f"[{e['type']}] {mask_example(e['value'])}"
                                for e in res["examples"]][:5],
        })
    policy = load_policy()
    synth = os.path.join(corpora, "presidio-synth")
    spans = presidio_spans(policy, os.path.join(synth, "synth_dataset_v2.texts.jsonl"),
                           os.path.join(synth, "synth_dataset_v2.labels.json"))
    over = over_redaction(corpora, run_out)
    cloud_meta = cloud_metadata(corpora, run_out)
    over["cloud_metadata"] = cloud_meta
    over["met"] = over["met"] and cloud_meta["share"] < OVER_REDACTION_TARGET
    result = {"elapsed_s": round(elapsed, 1), "inputs": len(inputs), "rows": rows,
              "presidio_spans": spans, "over_redaction": over,
              "zero_strict_leaks": all(r["strict_survivors"] == 0 for r in rows)}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    md = ["| truth file | strict values | strict surviving | weak values | weak surviving | "
          "surviving by type | examples (masked) |", "|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        types_of: dict[str, int] = r["surviving_by_type"]  # type: ignore[assignment]
        types = ", ".join(f"{k} {v}" for k, v in sorted(types_of.items()))
        md.append(f"| {r['truth']} | {r['strict_values']} | {r['strict_survivors']} | "
                  f"{r['weak_values']} | {r['weak_survivors']} | {types or '-'} | "
                  f"{'; '.join(r['examples_masked']) or '-'} |")  # type: ignore[arg-type]
    md += ["", "Presidio synthetic texts (span level; typed = the right entity type):", "",
           "| entity | gold spans | typed recall | any-overlap recall | target | met |",
           "|---|---:|---:|---:|---:|---|"]
    for typ, r in spans["per_type"].items():
        target = r.get("target")
        md.append(f"| {typ} | {r['gold']} | {r['typed_recall']:.3f} | "
                  f"{r['any_overlap_recall']:.3f} | {target if target else '-'} | "
                  f"{'yes' if r.get('met') else ('NO' if target else '-')} |")
    md.append(f"\nPrecision over all detections: {spans['precision']:.3f} (target 0.90: "
              f"{'met' if spans['precision_met'] else 'NOT met'}); false positives by entity: "
              f"{spans['false_positives_by_entity']}")
    nc = ", ".join(f"{k} {v['share']:.2%} ({v['replaced']}/{v['tokens']} tokens)"
                   for k, v in over["negative_controls"].items())
    mc = over["metadata_columns"]
    md.append(f"\nOver-redaction (target < 1 %: {'met' if over['met'] else 'NOT met'}): "
              f"negative controls {nc}; metadata columns of the structured LogHub CSVs "
              f"{mc['share']:.2%} changed ({mc['changed']}/{mc['values']}: "
              f"{mc['changed_by_column']}); system metadata of the cloud audit logs (event "
              f"names, operations, regions, API versions, result codes, user agents) "
              f"{cloud_meta['share']:.2%} changed ({cloud_meta['changed']}/"
              f"{cloud_meta['values']}: {cloud_meta['changed_by_column'] or '-'}).")
    md.append(f"\nZero strict leaks on every truth file: "
              f"{'yes' if result['zero_strict_leaks'] else 'NO'}.")
    text = "\n".join(md)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print(text)
    print(f"\n{len(inputs)} inputs scrubbed in {elapsed:.0f}s; details in {args.out}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
