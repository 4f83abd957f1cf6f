"""``make eval``: scrub every corpus in ../shared/corpora and measure what survives.

One telescrub run over all corpora (LogHub as plain logs and as structured CSVs, the Presidio
synthetic texts), then ``leakcheck.py`` per truth file over the tables of that corpus. Writes
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
from typing import Any

from telescrub.cli import main as cli_main
from telescrub.pipelines.readers import table_name_for


def _leakcheck(shared: str, truth: str, out: str, tables: list[str]) -> dict[str, Any]:
    tool = os.path.join(shared, "tools", "leakcheck.py")
    totals: dict[str, Any] = {"strict_survivors": 0, "weak_survivors": 0, "examples": []}
    for table in tables:
        tdir = os.path.join(out, table)
        if not os.path.isdir(tdir):
            continue
        jpath = os.path.join(out, f"_leak_{table}.json")
        subprocess.run([sys.executable, tool, truth, tdir, "--json", jpath, "--examples", "3"],
                       capture_output=True, text=True, check=False)
        with open(jpath, encoding="utf-8") as fh:
            res = json.load(fh)
        os.remove(jpath)
        totals["raw"] = totals.get("raw", []) + [res]
    return totals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--out", default="eval")
    args = ap.parse_args(argv)
    corpora = os.path.join(args.shared, "corpora")
    truths = sorted(glob.glob(os.path.join(corpora, "truth", "*.json")))
    inputs = sorted(glob.glob(os.path.join(corpora, "loghub", "*", "*_2k.log*")))
    inputs += sorted(glob.glob(os.path.join(corpora, "presidio-synth", "*.texts.jsonl")))
    run_out = os.path.join(args.out, "runs", "all")
    started = time.monotonic()
    rc = cli_main(["-q", "run", *inputs, "--output", run_out, "--demo-key", "--mode",
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
        dirs = [os.path.join(run_out, tb) for tb in tables if os.path.isdir(
            os.path.join(run_out, tb))]
        jpath = os.path.join(args.out, f"leak_{os.path.basename(truth)}")
        res: dict[str, Any] = {}
        # leakcheck takes one directory: scan each table directory and add up
        strict = weak = 0
        examples: list[str] = []
        for d in dirs:
            subprocess.run([sys.executable, tool, truth, d, "--json", jpath, "--examples", "3"],
                           capture_output=True, text=True, check=False)
            with open(jpath, encoding="utf-8") as fh:
                res = json.load(fh)
            strict += _count(res, "values")
            weak += _count(res, "weak_values")
            examples += _examples(res)
        if os.path.exists(jpath):
            os.remove(jpath)
        n_strict = sum(len(v) for v in t.get("values", {}).values())
        n_weak = sum(len(v) for v in t.get("weak_values", {}).values())
        rows.append({"truth": os.path.basename(truth), "tables": tables, "strict_values": n_strict,
                     "strict_survivors": strict, "weak_values": n_weak, "weak_survivors": weak,
                     "examples_masked": examples[:3]})
    result = {"elapsed_s": round(elapsed, 1), "inputs": len(inputs), "rows": rows}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    md = ["| truth file | strict values | strict surviving | weak values | weak surviving |",
          "|---|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['truth']} | {r['strict_values']} | {r['strict_survivors']} | "
                  f"{r['weak_values']} | {r['weak_survivors']} |")
    text = "\n".join(md)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print(text)
    print(f"\n{len(inputs)} inputs scrubbed in {elapsed:.0f}s; details in {args.out}/results.json")
    return 0


def _count(res: dict[str, Any], group: str) -> int:
    return int(res.get("summary", {}).get(group, {}).get("surviving", 0)) if isinstance(
        res.get("summary"), dict) else 0


def _examples(res: dict[str, Any]) -> list[str]:
    return []


if __name__ == "__main__":
    sys.exit(main())
