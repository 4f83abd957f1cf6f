"""Canonical digest of a telescrub output directory, for "same output before and after" checks.

    python tools/output_digest.py OUT > digest.json
    python tools/output_digest.py --compare A.json B.json      # exit 1 and a diff if they differ

What is compared: every Parquet file's path, column names, types and field metadata, and its
rows (sorted); every manifest without its run id; the report's inputs, decisions, entity
counts, quarantine counts, partitions and accounting. What is not: run ids, times, sha256 of
file bytes (the footer holds the run id) and anything else that changes per run by design.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
from typing import Any

import pyarrow.parquet as pq

_RUN_KEYS = {"run_id", "created_at", "sha256", "at", "report_run_id", "started_at",
             "finished_at", "elapsed_s", "seconds", "runner", "output", "time", "manifest_sha256",
             "policy_file", "expires_on_before", "generated_at",
             # the output's _manifest.json: per-commit bookkeeping (store/commit.py)
             "committed_at", "version", "report", "report_sha256"}


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in sorted(obj.items()) if k not in _RUN_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _meta(md: dict[bytes, bytes] | None) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (md or {}).items()}


def digest(out: str) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for path in sorted(glob.glob(os.path.join(out, "**", "*.parquet"), recursive=True)):
        rel = os.path.relpath(path, out).replace(os.sep, "/")
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        table = pq.read_table(path)
        footer = {k: v for k, v in _meta(table.schema.metadata).items()
                  if k.split(".", 1)[-1] not in _RUN_KEYS and not k.startswith("ARROW")}
        cols = [[f.name, str(f.type), _meta(f.metadata)] for f in table.schema]
        rows = sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())
        files[rel] = {"columns": cols, "footer": footer, "rows": rows}
    manifests = {}
    for path in sorted(glob.glob(os.path.join(out, "**", "_manifest.json"), recursive=True)):
        rel = os.path.relpath(path, out).replace(os.sep, "/")
        with open(path, encoding="utf-8") as fh:
            manifests[rel] = _strip(json.load(fh))
    report: Any = None
    rpath = os.path.join(out, "_report", "report.json")
    if os.path.exists(rpath):
        with open(rpath, encoding="utf-8") as fh:
            rep = json.load(fh)
        report = _strip({k: v for k, v in rep.items() if k not in ("run", "verification")})
    return {"files": files, "manifests": manifests, "report": report}


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int = 40) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"+ {path}/{k}")
            elif k not in b:
                out.append(f"- {path}/{k}")
            else:
                _diff(a[k], b[k], f"{path}/{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"~ {path}: {str(a)[:200]} != {str(b)[:200]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--compare", action="store_true",
                    help="compare two digests (or output directories)")
    ap.add_argument("--allow", action="append", default=[], metavar="REGEX",
                    help="ignore differences whose description matches (repeatable)")
    args = ap.parse_args(argv)
    if not args.compare:
        json.dump(digest(args.paths[0]), sys.stdout, indent=1, sort_keys=True)
        return 0
    docs = []
    for p in args.paths[:2]:
        if os.path.isdir(p):
            docs.append(json.loads(json.dumps(digest(p))))
        else:
            with open(p, encoding="utf-8") as fh:
                docs.append(json.load(fh))
    problems: list[str] = []
    _diff(docs[0], docs[1], "", problems, limit=100_000)
    allowed = [re.compile(a) for a in args.allow]
    problems = [p for p in problems if not any(a.search(p) for a in allowed)][:40]
    for line in problems:
        print(line)
    print("same" if not problems else f"DIFFERENT ({len(problems)}+ differences)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
