"""Compare multi-pattern engines for the free-text candidate scan (classifiers/scan.py).

    python tools/bench_scan.py [--data bench/data] [--shared ../shared] [--repeat 3]

The same superset expressions (every detector's prefilter and patterns, classifiers/scan.py)
run on the same texts with each engine; every engine must report the same hits per text. Texts:
the syslog messages of ``tools/bench_gen.py`` (``syslog.log``: generated when missing, 30,000
lines) and the shared corpora (LogHub lines, Presidio's synthetic sentences). Reports
compile time and texts per CPU-second of the scan alone (hits per text, as Python sets):

* ``hyperscan``: one block-mode database, one ``scan`` per text (one match per expression);
* ``re2-set``: one ``RE2::Set`` (google-re2, Latin-1 mode on the UTF-8 bytes), ``Match`` per text;
* ``pyarrow``: ``pyarrow.compute.match_substring_regex`` (RE2) per expression over the whole
  column (a binary array), then the boolean columns turned into hits per text;
* ``python-prefilters``: what the scan replaces — each detector's ``PREFILTER`` searched with
  ``re`` on each text (coarser: it names detectors, not patterns).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def syslog_texts(data: Path) -> list[str]:
    path = data / "syslog.log"
    if not path.is_file():
        subprocess.run([sys.executable, str(ROOT / "tools" / "bench_gen.py"), "--records", "2000",
                        "--log-lines", "30000", "--out", str(data)], check=True)
    from telescrub.formats.readers import parse_text_line

    with open(path, encoding="utf-8") as fh:
        return [parse_text_line(ln.rstrip("\n"), default_year=2026)["message"]
                for ln in fh if ln.strip()]


def corpus_texts(shared: Path) -> list[str]:
    texts: list[str] = []
    for path in sorted((shared / "corpora" / "loghub").rglob("*.log")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            texts.extend(ln.rstrip("\n") for ln in fh)
    synth = shared / "corpora" / "presidio-synth" / "synth_dataset_v2.texts.jsonl"
    if synth.is_file():
        with open(synth, encoding="utf-8") as fh:
            texts.extend(json.loads(ln)["text"] for ln in fh)
    return texts


def run_hyperscan(srcs: list[bytes], texts: list[bytes]) -> tuple[float, float, list[set[int]]]:
    import hyperscan as hs

    t0 = cpu()
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(expressions=srcs, ids=list(range(len(srcs))), elements=len(srcs),
               flags=hs.HS_FLAG_SINGLEMATCH)
    scratch = hs.Scratch(db)
    t1 = cpu()
    out: list[set[int]] = []
    for t in texts:
        found: set[int] = set()
        add = found.add
        db.scan(t, match_event_handler=lambda i, a, b, f, c, add=add: add(i), scratch=scratch)
        out.append(found)
    return t1 - t0, cpu() - t1, out


def run_re2(srcs: list[bytes], texts: list[bytes]) -> tuple[float, float, list[set[int]]]:
    import re2

    t0 = cpu()
    opts = re2.Options()
    opts.encoding = re2.Options.Encoding.LATIN1
    opts.max_mem = 1 << 30
    s = re2.Set.SearchSet(opts)
    for src in srcs:
        s.Add(src)
    s.Compile()
    t1 = cpu()
    out = [set(s.Match(t)) for t in texts]
    return t1 - t0, cpu() - t1, out


def run_pyarrow(srcs: list[bytes], texts: list[bytes]) -> tuple[float, float, list[set[int]]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    t0 = cpu()
    arr = pa.array(texts, pa.binary())
    out: list[set[int]] = [set() for _ in texts]
    for k, src in enumerate(srcs):
        mask = pc.match_substring_regex(arr, pattern=src.decode("ascii"))
        for i in pc.indices_nonzero(mask).to_pylist():
            out[i].add(k)
    return 0.0, cpu() - t0, out  # RE2 compiles inside each kernel call


def run_prefilters(dets: list[Any], texts: list[str]) -> float:
    t0 = cpu()
    for t in texts:
        [d.might_contain(t) for d in dets]
    return cpu() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "bench" / "data"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--repeat", type=int, default=3, help="best of N scan timings")
    a = ap.parse_args()
    from telescrub.classifiers import scan
    from telescrub.classifiers.detectors import build_detectors

    dets = build_detectors()
    exprs = scan.expressions(dets)
    srcs = [e.source for e in exprs if e.source is not None]
    print(f"{len(dets)} detectors, {len(exprs)} expressions ({len(srcs)} translated)")
    sets = {"syslog messages (bench_gen)": syslog_texts(Path(a.data)),
            "shared corpora (LogHub + presidio-synth)": corpus_texts(Path(a.shared))}
    rows = []
    for name, texts in sets.items():
        data = [t.encode("utf-8", "surrogatepass") for t in texts]
        mb = sum(map(len, data)) / 1e6
        ref = None
        for engine, fn in (("hyperscan", run_hyperscan), ("re2-set", run_re2),
                           ("pyarrow", run_pyarrow)):
            best = None
            for _ in range(a.repeat):
                comp, secs, hits = fn(srcs, data)
                best = (comp, secs) if best is None or secs < best[1] else best
            if ref is None:
                ref = hits
            same = hits == ref
            rows.append((name, engine, len(texts), mb, best[0], best[1], same))
        secs = min(run_prefilters(dets, texts) for _ in range(a.repeat))
        rows.append((name, "python-prefilters (before)", len(texts), mb, 0.0, secs, None))
    # the scanner as telescrub builds it: scan.GROUPS databases, compiled or from the cache
    for label, cache in (("compiled (cache off)", "off"), ("from the cache", "")):
        old = os.environ.get("TELESCRUB_SCAN_CACHE")
        os.environ["TELESCRUB_SCAN_CACHE"] = cache
        if cache == "":
            del os.environ["TELESCRUB_SCAN_CACHE"]
            scan.Scanner(dets)  # make sure the cache holds it
        t0 = cpu()
        scan.Scanner(dets)
        print(f"Scanner ({scan.GROUPS} databases) {label}: {cpu() - t0:.2f} CPU-s")
        if old is not None:
            os.environ["TELESCRUB_SCAN_CACHE"] = old
    print("| texts | engine | n | MB | compile CPU-s | scan CPU-s | texts/CPU-s | MB/CPU-s "
          "| same hits |")
    print("|---|---|---:|---:|---:|---:|---:|---:|:---:|")
    for name, engine, n, mb, comp, secs, same in rows:
        flag = "–" if same is None else ("yes" if same else "**no**")
        print(f"| {name} | {engine} | {n:,} | {mb:.1f} | {comp:.2f} | {secs:.2f} | "
              f"{n / secs:,.0f} | {mb / secs:.1f} | {flag} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
