#!/usr/bin/env python3
"""Soak test: generate a large JSONL input on disk, run ``telescrub run`` on it and measure
the peak resident memory of the whole process tree (launcher, Beam workers) while it runs.

    .venv/bin/python tools/soak.py --size 2G                 # the full soak (slow)
    .venv/bin/python tools/soak.py --size 200M --keep        # a quick one, keep the files
    .venv/bin/python tools/soak.py --size 200M -- --direct_num_workers 2 \\
        --direct_running_mode=multi_processing               # Beam options after --

The input is streamed to disk (never built in memory): telemetry-like records spread over
``--days`` event dates, with user/device/session ids, IPs, e-mails and, in one record out of
``--text-every``, a free-text message with identifiers inside. One record line in 10,000 is
malformed (quarantine path). The default run also adds a 100 MB single-line file, the
default ``--max-line-bytes`` (64 MiB) path, with ``--long-line``.

Prints one summary (also as JSON with ``--json FILE``): input bytes and records, wall time,
records/s, MB/s, peak RSS of the process tree and of its largest process, output size,
the report's totals and accounting. A script, not a CI test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
SOAK_KEY = "soak-key-" + "5a5a5a5a5a5a5a5a" * 3

_FIRST = ["Ana", "Bruno", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jun"]
_LAST = ["Silva", "Novak", "Okafor", "Larsen", "Moreau", "Tanaka", "Weber", "Rossi"]
_EVENTS = ["call_start", "call_end", "im_sent", "meeting_join", "presence", "error"]
_TEXT = ["user {email} could not join meeting from {ip}; retrying",
         "sign-in failed for {email} on device {device}",
         "call quality poor, jitter 40ms, client {ip}",
         "message delivered to {email}"]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 200M, 2G)")
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


def generate(path: Path, size: int, days: int, text_every: int, seed: int = 7) -> int:
    """Write ~size bytes of JSONL to path; returns the number of lines."""
    rnd = random.Random(seed)
    users = [(str(uuid.UUID(int=rnd.getrandbits(128))),
              f"{rnd.choice(_FIRST).lower()}.{rnd.choice(_LAST).lower()}{i}@contoso.com")
             for i in range(5000)]
    devices = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(3000)]
    written = lines = 0
    buf: list[str] = []
    with open(path, "w", encoding="utf-8") as fh:
        while written < size:
            uid, email = users[rnd.randrange(len(users))]
            ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            day = 1 + lines % days
            rec: dict[str, Any] = {
                "timestamp": f"2026-10-{day:02d}T{rnd.randrange(24):02d}:"
                             f"{rnd.randrange(60):02d}:{rnd.randrange(60):02d}.000Z",
                "eventName": rnd.choice(_EVENTS),
                "user": {"id": uid, "upn": email},
                "device": {"id": rnd.choice(devices), "os": "Windows 11",
                           "appVersion": f"1.{rnd.randrange(9)}.{rnd.randrange(99)}"},
                "session": {"id": str(uuid.UUID(int=rnd.getrandbits(128)))},
                "clientIp": ip,
                "metrics": {"durationMs": rnd.randrange(100000), "jitterMs": rnd.randrange(80),
                            "packetLoss": round(rnd.random() * 3, 3)},
                "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            }
            if lines % text_every == 0:
                rec["message"] = rnd.choice(_TEXT).format(email=email, ip=ip,
                                                          device=rec["device"]["id"])
            line = json.dumps(rec, separators=(",", ":"))
            if lines % 10_000 == 9_999:
                line = line[: len(line) // 2]  # malformed: quarantined
            buf.append(line)
            lines += 1
            written += len(line) + 1
            if len(buf) >= 5000:
                fh.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            fh.write("\n".join(buf) + "\n")
    return lines


def long_line_file(path: Path, mb: int = 100) -> None:
    with open(path, "wb") as fh:
        fh.write(b'{"msg": "')
        block = b"a" * (1 << 20)
        for _ in range(mb):
            fh.write(block)
        fh.write(b'"}\n')


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_tree = 0
        self.peak_single = 0
        self.peak_procs = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_tree = max(self.peak_tree, total)
            self.peak_procs = max(self.peak_procs, len(procs))
            self.samples += 1
            self.stop.wait(self.interval)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("2G"),
                    help="input size to generate (default 2G)")
    ap.add_argument("--days", type=int, default=14, help="event dates in the input")
    ap.add_argument("--text-every", type=int, default=20,
                    help="one record in N carries a free-text message (Presidio path)")
    ap.add_argument("--shards", type=int, default=None, help="telescrub run --shards")
    ap.add_argument("--workdir", type=Path, help="where to put input and output "
                    "(default: a new temporary directory)")
    ap.add_argument("--input", type=Path, help="use this input instead of generating one")
    ap.add_argument("--long-line", action="store_true",
                    help="add a 100 MB single-line file (default --max-line-bytes path)")
    ap.add_argument("--interval", type=float, default=0.25, help="RSS sampling interval (s)")
    ap.add_argument("--keep", action="store_true", help="keep input and output")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    ap.add_argument("beam_args", nargs="*", help="after --: options for telescrub run / Beam")
    args = ap.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="telescrub-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    inputs: list[Path] = []
    gen_s = 0.0
    lines = None
    if args.input:
        inputs.append(args.input)
    else:
        src = work / "soak_telemetry.jsonl"
        t0 = time.monotonic()
        lines = generate(src, args.size, args.days, args.text_every)
        gen_s = time.monotonic() - t0
        inputs.append(src)
        print(f"generated {src.stat().st_size / 1e6:.0f} MB, {lines} lines in {gen_s:.0f}s",
              flush=True)
    if args.long_line:
        ll = work / "one_long_line.jsonl"
        long_line_file(ll)
        inputs.append(ll)
    out = work / "out"
    cmd = [sys.executable, "-m", "telescrub", "-q", "run", *map(str, inputs),
           "--output", str(out)]
    if args.shards:
        cmd += ["--shards", str(args.shards)]
    cmd += args.beam_args
    env = {**os.environ, "TELESCRUB_HASH_KEY": os.environ.get("TELESCRUB_HASH_KEY", SOAK_KEY)}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid, args.interval)
    sampler.start()
    stdout, stderr = proc.communicate()
    elapsed = time.monotonic() - t0
    sampler.stop.set()
    sampler.join()

    in_bytes = sum(p.stat().st_size for p in inputs)
    summary: dict[str, Any] = {
        "input_bytes": in_bytes, "input_lines": lines, "generate_s": round(gen_s, 1),
        "command": " ".join(cmd[2:]), "exit_status": proc.returncode,
        "wall_s": round(elapsed, 1), "peak_rss_tree_mb": round(sampler.peak_tree / 2**20),
        "peak_rss_single_mb": round(sampler.peak_single / 2**20),
        "max_processes": sampler.peak_procs, "rss_samples": sampler.samples,
    }
    report_path = out / "_report" / "report.json"
    if proc.returncode in (0, 1) and report_path.exists():
        report = json.loads(report_path.read_text())
        t = report["totals"]
        summary.update({
            "records_read": t["read"], "written": t["written"],
            "quarantined": t["quarantined"], "dropped_by_policy": t["dropped_by_policy"],
            "accounting_ok": report["accounting_ok"],
            "records_per_s": round(t["read"] / elapsed), "mb_per_s": round(
                in_bytes / 1e6 / elapsed, 2),
            "output_bytes": du(out),
        })
    else:
        summary["stderr_tail"] = stderr[-3000:]
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    elif not args.keep:
        shutil.rmtree(out, ignore_errors=True)
        for p in inputs:
            if p != args.input:
                p.unlink(missing_ok=True)
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
