"""``telescrub run --streaming``: the launcher of the streaming mode.

Two ways to run the one streaming graph (``telescrub.pipelines.streaming``):

* **Landing directory or prefix** (``--watch DIR``, ``--watch s3://bucket/landing/`` or
  ``gs://...``; DirectRunner). Beam 2.77's DirectRunner does
  not fire a GroupByKey after windowing while the input is unbounded, so the launcher is a
  micro-batch driver: it polls the landing directories, and for every batch of new, settled
  files runs :class:`~telescrub.pipelines.streaming.StreamingScrubToParquet` — the same
  transforms Dataflow/Flink run — as a bounded pipeline, then commits the batch. Exactly once
  across restarts: a file is processed when its key (path, size, mtime, sha256) is not in
  ``<out>/_streaming/ledger.jsonl``; the batch in flight is recorded in ``inflight.json``
  and replayed with the same files, arrival time and watermarks after a crash (content-named
  output files make the replay overwrite, not duplicate). The event-time watermark is kept
  per table (the largest event time committed so far, capped at now + max future).
* **Deployed** (``--input_subscription``/``--input_topic`` or ``--bootstrap_servers`` +
  ``--topics`` with ``--runner DataflowRunner|FlinkRunner|...``): an unbounded pipeline
  built by :func:`build_streaming_pipeline` and submitted to the runner.

State under ``<out>/_streaming/``: ``ledger.jsonl``, ``state.json`` (cumulative report
accumulator, watermarks, committed batches, key id, window), ``inflight.json``,
``batches/<id>/`` (a batch's rolling lines and stats until committed). The output and the
landing area may be local paths or ``s3://``/``gs://`` prefixes: every access goes through
``telescrub.store.fs`` (an object in a landing prefix is listed with its size and time; it is
complete once visible, since an upload is whole). The output's ``_manifest.json`` says
``"streaming": true``: each window's manifest is its truth (``telescrub.store.manifest``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import signal
import time
from types import FrameType
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from telescrub.app.batch import make_run_info
from telescrub.app.settings import DEFAULT_RUNNER, Settings, location, new_pipeline
from telescrub.classifiers.source_schema import SourceSchema
from telescrub.core import report as build
from telescrub.core.errors import InputError, OutputError
from telescrub.core.keys import HashKey
from telescrub.core.policy import Policy
from telescrub.formats.readers import detect_format, table_name_for
from telescrub.formats.units import InputFile
from telescrub.pipelines import streaming as st
from telescrub.pipelines.read import ReadInputs
from telescrub.pipelines.report import ReportCombineFn
from telescrub.pipelines.scrub import RunWide
from telescrub.store import fs
from telescrub.store.commit import recover_output
from telescrub.store.fs import append_lines, open_input, read_jsonl
from telescrub.store.layout import LOCK_NAME, ROLLING_REPORT, STREAMING_DIR, list_output
from telescrub.store.lock import OutputLock
from telescrub.store.manifest import ROOT_KIND, new_root, publish_root
from telescrub.store.report import write_report

log = logging.getLogger("telescrub.streaming")

LEDGER = "ledger.jsonl"
STATE = "state.json"
INFLIGHT = "inflight.json"
BATCHES = "batches"
#: names a writer is still busy with (write to a temp name, then rename into the landing dir)
_PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".lock", "~")
_DIRECT = {"", "directrunner", "direct", "bundlebaseddirectrunner", "switchingdirectrunner"}
_KEEP_BATCH_IDS = 100


def source_kind(cfg: Settings) -> str:
    kinds = [k for k, on in (("watch", bool(cfg.watch)),
                             ("pubsub", bool(cfg.input_subscription or cfg.input_topic)),
                             ("kafka", bool(cfg.bootstrap_servers or cfg.topics))) if on]
    if len(kinds) != 1:
        raise InputError("--streaming needs exactly one source: --watch DIR (or INPUT "
                         "directories), --input_subscription/--input_topic, or "
                         "--bootstrap_servers with --topics"
                         + (f" (got {', '.join(kinds)})" if kinds else ""))
    if kinds[0] == "pubsub" and cfg.input_subscription and cfg.input_topic:
        raise InputError("give --input_subscription or --input_topic, not both")
    if kinds[0] == "kafka" and not (cfg.bootstrap_servers and cfg.topics):
        raise InputError("Kafka needs both --bootstrap_servers and --topics")
    return kinds[0]


def window_spec(cfg: Settings) -> st.WindowSpec:
    try:
        size = st.parse_duration(cfg.window)
        lateness = st.parse_duration(cfg.allowed_lateness)
        return st.WindowSpec(size, lateness, margin_s=max(st.DEFAULT_MARGIN_S, size))
    except ValueError as exc:
        raise InputError(f"--window/--allowed-lateness: {exc}") from None


def _now_us() -> int:
    return st.micros_of(dt.datetime.now(dt.timezone.utc))


# --------------------------------------------------------------------------------------------
# Ledger
# --------------------------------------------------------------------------------------------


def _abs(entry: dict[str, Any]) -> str:
    return str(entry.get("abspath") or fs.normpath(entry["path"]))


def ledger_key(entry: dict[str, Any]) -> tuple[str, int, int, str]:
    """Identity of a processed file version: absolute path, size, mtime, sha256. (``path``
    is kept as given, like batch reports record inputs; the key does not depend on the
    working directory.)"""
    return (_abs(entry), int(entry["size"]), int(entry["mtime_ns"]), entry["sha256"])


class Ledger:
    """``<out>/_streaming/ledger.jsonl``: one line per processed file version, appended (and
    fsync-ed) only after the batch's output and report state are committed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries = read_jsonl(path)  # a torn last line of a crashed append: skipped
        self.keys = {ledger_key(e) for e in self.entries}
        self.stats = {(_abs(e), int(e["size"]), int(e["mtime_ns"])) for e in self.entries}
        self.contents = {(_abs(e), e["sha256"]) for e in self.entries}

    def append(self, entries: list[dict[str, Any]]) -> None:
        new = [e for e in entries if ledger_key(e) not in self.keys]
        if not new:
            return
        append_lines(self.path, new)
        for e in new:
            self.entries.append(e)
            self.keys.add(ledger_key(e))
            self.stats.add((_abs(e), int(e["size"]), int(e["mtime_ns"])))
            self.contents.add((_abs(e), e["sha256"]))


# --------------------------------------------------------------------------------------------
# Local landing-directory driver
# --------------------------------------------------------------------------------------------


def _ignored(name: str) -> bool:
    return name.startswith((".", "_")) or name.endswith(_PARTIAL_SUFFIXES)


def ensure_streaming_output(out: str) -> None:
    """Mark ``out`` as a streaming output in its ``_manifest.json`` (create-only; an existing
    streaming one is kept). A batch output is refused: its manifest lists its partitions, and
    a streaming job's windows would not be in it."""
    root, _gen = fs.read_json_gen(fs.join(out, "_manifest.json"))
    if root is not None and root.get("kind") == ROOT_KIND:
        if isinstance(root.get("partitions"), dict):
            raise OutputError(f"output {out} holds a batch run's output; a streaming job needs "
                              "its own --output")
        return
    with contextlib.suppress(fs.PreconditionFailed):
        publish_root(out, new_root(None, "streaming", "append", None), None)


class LandingDriver:
    """Poll landing directories and run micro-batches until told to stop."""

    def __init__(self, cfg: Settings, policy: Policy, key: HashKey,
                 schemas: dict[str, SourceSchema], spec: st.WindowSpec) -> None:
        self.cfg, self.policy, self.key, self.schemas, self.spec = cfg, policy, key, schemas, spec
        self.out = cfg.output_path()
        self.sdir = fs.join(self.out, STREAMING_DIR)
        self.watch = list(cfg.watch)  # as given: sources are recorded as given, as in batch
        for d in self.watch:
            a = location(d, "--watch")
            if not fs.is_url(a) and not os.path.isdir(a):
                raise InputError(f"--watch {d}: not a directory")
            sep = "/" if fs.is_url(a) else os.sep
            if self.out == a or self.out.startswith(a.rstrip(sep) + sep):
                raise InputError(f"--output {self.out} is inside the watched directory {d}")
        self.run_info = make_run_info(policy, key)
        self.stop_reason: str | None = None
        self._seen: dict[str, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, first seen)
        self._unchanged: set[tuple[str, int, int]] = set()  # touched, same content: skip
        self.batches = 0

    # ---------------------------------------------------------------- state
    def _path(self, *parts: str) -> str:
        return fs.join(self.sdir, *parts)

    def _load_state(self) -> dict[str, Any]:
        state = fs.read_json(self._path(STATE))
        if state is not None:
            return state
        if fs.exists(self._path(STATE)):
            raise OutputError(f"{self._path(STATE)} is unreadable; inspect it")
        return {"format_version": 1, "acc": build.new_acc(),
                    "watermarks": {}, "committed": [], "batch_seq": 0,
                "key_id": self.key.key_id, "window_s": self.spec.size_s,
                "first_run_id": self.run_info.run_id}

    def _check_state(self, state: dict[str, Any]) -> None:
        if state.get("key_id") != self.key.key_id:
            raise OutputError(
                f"{self.out} was written with hash key id {state.get('key_id')}; this run uses "
                f"{self.key.key_id}. Tokens would not join across windows: use the same key or "
                "another --output")
        if int(state.get("window_s", self.spec.size_s)) != self.spec.size_s:
            raise OutputError(
                f"{self.out} was written with {state.get('window_s')}s windows; this run asks "
                f"for {self.spec.size_s}s: use the same --window or another --output")
        if state.get("policy_hash") not in (None, self.policy.digest):
            log.warning("the policy changed since %s was last written (hash %s -> %s)",
                        self.out, state.get("policy_hash"), self.policy.digest)

    def run_meta(self) -> dict[str, Any]:
        std = PipelineOptions(self.cfg.beam_args).view_as(StandardOptions)
        return {
            "run_id": self.run_info.run_id, "created_at": self.run_info.created_at,
            "policy_version": self.policy.version, "policy_hash": self.policy.digest,
            "policy_file": fs.basename(self.policy.path), "key_id": self.key.key_id,
            "demo_key": self.key.demo, "runner": str(std.runner or "DirectRunner"),
            "mode": "streaming", "output": self.out, "schema_dir": self.cfg.schema_dir,
            "streaming": {"source": "watch", "watch": self.watch,
                          "window_seconds": self.spec.size_s,
                          "allowed_lateness_seconds": self.spec.lateness_s,
                          "beam_allowed_lateness_seconds": self.spec.beam_lateness_s,
                          "micro_batches_this_launch": self.batches},
        }

    # ---------------------------------------------------------------- polling
    def _landed(self) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every visible file below the landing areas."""
        found: list[tuple[str, int, int]] = []
        for root in self.watch:
            if fs.is_url(root):
                base = fs.normpath(root)
                for e in fs.list_tree(base):
                    parts = fs.relpath(e.path, base).split("/")
                    if any(_ignored(p) for p in parts):
                        continue
                    found.append((e.path, e.size, e.mtime_ns))
                continue
            for d, dirs, files in os.walk(root):
                dirs[:] = sorted(x for x in dirs if not _ignored(x))
                for name in sorted(files):
                    if _ignored(name):
                        continue
                    path = os.path.join(d, name)
                    try:
                        stt = os.stat(path)
                    except OSError:
                        continue
                    found.append((path, stt.st_size, stt.st_mtime_ns))
        return found

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        """(settled new files, whether some new file is still settling)."""
        ready: list[dict[str, Any]] = []
        pending = False
        now = time.time()
        present: set[str] = set()
        for path, size, mtime_ns in self._landed():
            present.add(path)
            sig = (fs.normpath(path), size, mtime_ns)
            if sig in self.ledger.stats or sig in self._unchanged:
                continue
            prev = self._seen.get(path)
            if prev is None or prev[:2] != sig[1:]:
                self._seen[path] = (size, mtime_ns, now)
                pending = True
                continue
            if now - mtime_ns / 1e9 < self.cfg.settle_seconds or \
                    now - prev[2] < self.cfg.settle_seconds:
                pending = True
                continue
            ready.append({"path": path, "size": size, "mtime_ns": mtime_ns})
        for gone in set(self._seen) - present:
            del self._seen[gone]
        ready.sort(key=lambda e: (e["mtime_ns"], e["path"]))
        return ready[: self.cfg.max_files_per_batch], pending

    def _describe(self, f: dict[str, Any]) -> dict[str, Any] | None:
        """Hash, table and format of a settled file; None if it is old content re-touched."""
        sha, size = fs.sha256(f["path"])
        if (fs.normpath(f["path"]), sha) in self.ledger.contents:
            log.info("%s: touched but unchanged (same sha256 as processed): skipped", f["path"])
            self._unchanged.add((fs.normpath(f["path"]), f["size"], f["mtime_ns"]))
            return None
        entry = {**f, "abspath": fs.normpath(f["path"]), "sha256": sha, "size": size}
        try:
            entry["table"] = table_name_for(f["path"], self.cfg.table)
            entry["format"] = detect_format(f["path"], self.cfg.fmt, open_input)
        except ValueError as exc:
            entry.update(status="rejected", reason=str(exc))
        return entry

    # ---------------------------------------------------------------- batches
    def _batch_pipeline(self, batch: dict[str, Any]) -> None:
        bdir = self._path(BATCHES, batch["batch_id"])
        files = [InputFile(f["path"], f["table"], f["format"]) for f in batch["files"]
                 if f.get("status") != "rejected"]
        if not files:
            fs.write_json(fs.join(bdir, "stats.json"), build.new_acc())
            return
        options = PipelineOptions(self.cfg.beam_args)
        std = options.view_as(StandardOptions)
        std.streaming = False
        if not std.runner:
            std.runner = DEFAULT_RUNNER  # never Prism, which Beam would download
        arrival = Timestamp(micros=int(batch["arrival_us"]))
        stats_path = fs.join(bdir, "stats.json")
        with beam.Pipeline(options=options) as p:
            read = (p | "NewFiles" >> beam.Create(files)
                    | "Read" >> ReadInputs(self.cfg.default_year,
                                           limits=self.cfg.read_limits()))
            records = read.records | "Arrival" >> beam.Map(
                lambda r, t=arrival: TimestampedValue(r, t))
            bad = read.bad | "ArrivalBad" >> beam.Map(lambda r, t=arrival: TimestampedValue(r, t))
            result = (records, bad) | "Streaming" >> st.StreamingScrubToParquet(
                self.out, self.policy, self.key, self.run_info, self.spec, self.schemas,
                tables=sorted({f.table for f in files}), watermarks=dict(batch["watermarks"]),
                lines_path=fs.join(bdir, "lines.jsonl"), batch=batch["batch_id"],
                shards=self.cfg.resolved_shards(1), known=RunWide())
            _ = ((read.stats, result.stats) | "AllStats" >> beam.Flatten()
                 | "MergeStats" >> beam.CombineGlobally(ReportCombineFn())
                 | "SaveStats" >> beam.Map(
                     lambda acc, path=stats_path: fs.write_json(path, acc)))

    def _merge(self, cum: dict[str, Any], acc: dict[str, Any]) -> dict[str, Any]:
        # batch's "input" stats are one per file: add them up per path (a file dropped again
        # with new content is a new version of the same source)
        inputs = {k: dict(v) for k, v in cum.get("inputs", {}).items()}
        for src, info in acc.get("inputs", {}).items():
            cur = inputs.get(src)
            if cur is None:
                inputs[src] = dict(info)
            else:
                for k in ("records", "bad", "bytes"):
                    cur[k] = int(cur.get(k) or 0) + int(info.get(k) or 0)
                cur["sha256"] = info.get("sha256")
        merged = build.merge([cum, acc])
        merged["inputs"] = inputs
        return merged

    def _commit(self, batch: dict[str, Any], state: dict[str, Any]) -> None:
        bid = batch["batch_id"]
        bdir = self._path(BATCHES, bid)
        rolling = fs.join(self.out, *ROLLING_REPORT.split("/"))
        if bid not in state["committed"]:
            acc = fs.read_json(fs.join(bdir, "stats.json"))
            if acc is None:
                raise OutputError(f"batch {bid}: its stats are missing; it is replayed at the "
                                  "next start")
            lines = read_jsonl(fs.join(bdir, "lines.jsonl"))
            lines.sort(key=lambda x: (x["table"], x["window_start"], x["shard"]))
            append_lines(rolling, lines)
            state["acc"] = self._merge(state["acc"], acc)
            cap = _now_us() + self.spec.max_future_s * st.MICROS
            for table, us in acc.get("watermarks", {}).items():
                wm = min(int(us), cap)
                state["watermarks"][table] = max(wm, int(state["watermarks"].get(table, wm)))
            state["committed"] = (state["committed"] + [bid])[-_KEEP_BATCH_IDS:]
            state.update(policy_hash=self.policy.digest, key_id=self.key.key_id,
                         window_s=self.spec.size_s)
            fs.write_json(self._path(STATE), state)  # the commit point of output + report
        inputs = state["acc"].get("inputs", {})
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        self.ledger.append([{
            "path": f["path"], "abspath": _abs(f), "size": f["size"], "mtime_ns": f["mtime_ns"],
            "sha256": f["sha256"], "table": f.get("table"), "format": f.get("format"),
            "status": f.get("status", "processed"), "reason": f.get("reason"),
            "records": (inputs.get(f["path"]) or {}).get("records"),
            "bad": (inputs.get(f["path"]) or {}).get("bad"),
            "batch": bid, "committed_at": now} for f in batch["files"]])
        fs.delete(self._path(INFLIGHT))
        fs.delete_tree(bdir)
        self.write_summary(state)

    def _strip_lines(self, bid: str) -> None:
        rolling = fs.join(self.out, *ROLLING_REPORT.split("/"))
        lines = read_jsonl(rolling)
        keep = [x for x in lines if x.get("batch") != bid]
        if len(keep) != len(lines):
            fs.write(rolling, "".join(json.dumps(x, sort_keys=True, default=str) + "\n"
                                      for x in keep))

    def process(self, batch: dict[str, Any], state: dict[str, Any]) -> None:
        names = ", ".join(fs.basename(f["path"]) for f in batch["files"])
        log.info("batch %s: %d file(s): %s", batch["batch_id"], len(batch["files"]), names)
        for f in batch["files"]:
            if f.get("status") == "rejected":
                log.warning("rejected %s: %s", f["path"], f.get("reason"))
        started = time.monotonic()
        self._batch_pipeline(batch)
        self._commit(batch, state)
        self.batches += 1
        log.info("batch %s committed (%.1fs)", batch["batch_id"], time.monotonic() - started)

    def recover(self, state: dict[str, Any]) -> None:
        path = self._path(INFLIGHT)
        batch = fs.read_json(path)
        if batch is None:
            return
        if batch["batch_id"] in state["committed"]:
            log.info("finishing the commit of batch %s", batch["batch_id"])
            self._commit(batch, state)
            return
        log.warning("replaying batch %s interrupted by a previous stop", batch["batch_id"])
        self._strip_lines(batch["batch_id"])
        fs.delete_tree(self._path(BATCHES, batch["batch_id"]))
        self.process(batch, state)

    def write_summary(self, state: dict[str, Any]) -> dict[str, Any]:
        report = st.finalize_streaming_report(state["acc"], self.run_meta(), self.policy,
                                              self.schemas)
        report["streaming"]["ledger_files"] = len(self.ledger.entries)
        report["streaming"]["rejected_files"] = [
            {"path": e["path"], "reason": e.get("reason")} for e in self.ledger.entries
            if e.get("status") == "rejected"]
        write_report(self.out, report)
        return report

    # ---------------------------------------------------------------- main loop
    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            log.info("stopping (%s) after the current batch", reason)

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        with OutputLock(self.out, "streaming"):
            if self.cfg.resolved_mode("append") == "error-if-exists" \
                    and not fs.exists(self._path(STATE)) \
                    and any(r != LOCK_NAME for r in list_output(self.out).entries):
                raise OutputError(f"output directory {self.out} is not empty "
                                  "(--mode error-if-exists)")
            ensure_streaming_output(self.out)
            for note in recover_output(self.out):
                log.warning("output %s: %s", self.out, note)
            self.ledger = Ledger(self._path(LEDGER))
            state = self._load_state()
            self._check_state(state)
            self.recover(state)
            log.info("watching %s -> %s (window %ss, allowed lateness %ss, %d file(s) in the "
                     "ledger)", ", ".join(self.watch), self.out, self.spec.size_s,
                     self.spec.lateness_s, len(self.ledger.entries))
            idle_since = time.monotonic()
            while self.stop_reason is None:
                ready, pending = self.poll()
                batch_files = [e for e in (self._describe(f) for f in ready) if e is not None]
                if batch_files:
                    state["batch_seq"] = int(state.get("batch_seq", 0)) + 1
                    batch = {"batch_id": f"b{state['batch_seq']:06d}-{secrets.token_hex(3)}",
                             "files": batch_files, "arrival_us": _now_us(),
                             "watermarks": dict(state["watermarks"]),
                             "run_id": self.run_info.run_id}
                    fs.write_json(self._path(INFLIGHT), batch)
                    self.process(batch, state)
                    idle_since = time.monotonic()
                elif pending or ready:
                    idle_since = time.monotonic()
                now = time.monotonic()
                if self.cfg.max_runtime is not None and now - started >= self.cfg.max_runtime:
                    self.request_stop(f"--max-runtime {self.cfg.max_runtime:g}s reached")
                elif self.cfg.stop_after_idle is not None and \
                        now - idle_since >= self.cfg.stop_after_idle:
                    self.request_stop(f"idle for {self.cfg.stop_after_idle:g}s")
                if self.stop_reason is None and not batch_files:
                    time.sleep(self.cfg.poll_interval)
            report = self.write_summary(state)
        log.info("stopped: %s; %d micro-batch(es) this launch", self.stop_reason, self.batches)
        return report


# --------------------------------------------------------------------------------------------
# Deployed (unbounded) pipeline
# --------------------------------------------------------------------------------------------


def build_streaming_pipeline(cfg: Settings, options: PipelineOptions | None = None,
                             policy: Policy | None = None, key: HashKey | None = None,
                             schemas: dict[str, SourceSchema] | None = None,
                             ) -> beam.Pipeline:
    """The unbounded Pub/Sub or Kafka pipeline, constructed but not run (tests walk it)."""
    kind = source_kind(cfg)
    if kind == "watch":
        raise InputError("build_streaming_pipeline is for Pub/Sub and Kafka; --watch runs "
                         "as local micro-batches (LandingDriver)")
    policy = policy or cfg.load_policy()
    key = key or cfg.load_key()
    schemas = schemas if schemas is not None else cfg.load_schemas()
    spec = window_spec(cfg)
    options = options or PipelineOptions(cfg.beam_args)
    std = options.view_as(StandardOptions)
    std.streaming = True
    out = cfg.output_path()
    run_info = make_run_info(policy, key)
    source: beam.PTransform
    if kind == "pubsub":
        source = st.PubSubRecords(cfg.input_subscription, cfg.input_topic, cfg.table)
        desc: dict[str, Any] = {"source": "pubsub", "subscription": cfg.input_subscription,
                "topic": cfg.input_topic}
    else:
        source = st.KafkaRecords(str(cfg.bootstrap_servers), cfg.topics, cfg.table,
                                 expansion_service=cfg.expansion_service)
        desc = {"source": "kafka", "bootstrap_servers": cfg.bootstrap_servers,
                "topics": cfg.topics}
    run_meta = {
        "run_id": run_info.run_id, "created_at": run_info.created_at,
        "policy_version": policy.version, "policy_hash": policy.digest,
        "policy_file": os.path.basename(policy.path), "key_id": key.key_id,
        "demo_key": key.demo, "runner": str(std.runner), "mode": "streaming", "output": out,
        "schema_dir": cfg.schema_dir,
        "streaming": {**desc, "window_seconds": spec.size_s,
                      "allowed_lateness_seconds": spec.lateness_s,
                      "beam_allowed_lateness_seconds": spec.beam_lateness_s},
    }
    p = new_pipeline(options)
    src = p | "Source" >> source
    result = (src.records, src.bad) | "Streaming" >> st.StreamingScrubToParquet(
        out, policy, key, run_info, spec, schemas, tables=sorted(schemas),
        shards=cfg.resolved_shards(1))
    _ = ((src.stats, result.stats) | "AllStats" >> beam.Flatten()
         | "Report" >> st.ContinuousReport(out, run_meta, policy, schemas))
    return p


def _run_deployed(cfg: Settings) -> dict[str, Any] | None:
    options = PipelineOptions(cfg.beam_args)
    runner = str(options.view_as(StandardOptions).runner or "")
    if runner.lower() in _DIRECT:
        raise InputError(
            "Pub/Sub and Kafka sources need a streaming runner (--runner DataflowRunner, "
            "FlinkRunner, ...): Beam's DirectRunner never fires windows on unbounded input. "
            "Locally, use --watch DIR. See docs/streaming.md")
    cfg.configure_store()
    try:
        p = build_streaming_pipeline(cfg, options)
    except (RuntimeError, OSError) as exc:
        if source_kind(cfg) != "kafka":
            raise
        raise InputError(
            "could not expand ReadFromKafka (a Java cross-language transform): "
            f"{type(exc).__name__}. It needs an expansion service: Java on this machine (Beam "
            "downloads beam-sdks-java-io-expansion-service-<version>.jar, or stage it in "
            "~/.apache_beam/cache/jars/), or a running one, e.g. the Flink job server's: "
            "--beam_services='{\"sdks:java:io:expansion-service:shadowJar\": "
            "\"localhost:8097\"}' (docs/streaming.md)") from None
    from telescrub.app.graph_check import dry_run, is_dry_run

    if is_dry_run(options):
        return {"dry_run": dry_run(p, (cfg.load_key()).key, "streaming")}
    ensure_streaming_output(cfg.output_path())
    result = p.run()
    log.info("submitted streaming pipeline to %s (state %s)", runner, result.state)
    if cfg.detach:
        return {"detached": {"output": cfg.output_path(), "state": str(result.state)}}
    if cfg.max_runtime is not None:
        result.wait_until_finish(duration=int(cfg.max_runtime * 1000))
        log.info("--max-runtime reached: cancelling the job")
        result.cancel()
    else:
        result.wait_until_finish()
    return None


def run_streaming(cfg: Settings) -> dict[str, Any] | None:
    """Run ``telescrub run --streaming``. Returns the summary report (local landing mode),
    or None for a deployed job (its report is rewritten by the job itself)."""
    kind = source_kind(cfg)
    if kind != "watch":
        return _run_deployed(cfg)
    runner = str(PipelineOptions(cfg.beam_args).view_as(StandardOptions).runner or "")
    if runner.lower() not in _DIRECT:
        raise InputError(f"--watch runs locally as micro-batches on the DirectRunner, not on "
                         f"{runner}; deployments read Pub/Sub or Kafka (docs/streaming.md)")
    cfg.configure_store()
    policy = cfg.load_policy()
    schemas = cfg.load_schemas()
    key = cfg.load_key()
    driver = LandingDriver(cfg, policy, key, schemas, window_spec(cfg))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if driver.stop_reason is not None:
            raise KeyboardInterrupt
        driver.request_stop(signal.Signals(signum).name)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return driver.run()
    finally:
        for s, h in old.items():
            signal.signal(s, h)


__all__ = ["Ledger", "LandingDriver", "build_streaming_pipeline",
           "run_streaming"]
