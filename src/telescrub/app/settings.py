"""One set of run settings for ``telescrub run``, batch and streaming, checked in one place.

The CLI fills a :class:`Settings` from its arguments; :func:`telescrub.app.batch.run_batch`
and :func:`telescrub.app.streaming.run_streaming` take it. Options that only one mode reads
are grouped below; the others (policy, key, reader caps, output mode, ...) mean the same in
both and are validated by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telescrub.classifiers.source_schema import SourceSchema, load_source_schemas
from telescrub.core.errors import InputError, OutputError
from telescrub.core.keys import HashKey, load_key
from telescrub.core.policy import Policy, load_policy, with_ner_model
from telescrub.formats.readers import ReadLimits, check_encoding
from telescrub.store import fs
from telescrub.store.commit import MODES

#: the runner telescrub uses when none is given: Beam's DirectRunner first tries Prism, which
#: it downloads at run time; telescrub never reaches for the network, so the default is the
#: local FnApiRunner it would fall back to (it honours --direct_num_workers/_running_mode)
DEFAULT_RUNNER = "FnApiRunner"


@dataclass
class Settings:
    output: str
    #: batch: input files, directories or globs; streaming: landing directories to watch
    inputs: list[str] = field(default_factory=list)
    policy_path: str | None = None
    schema_dir: str | None = None
    fmt: str = "auto"
    table: str | None = None
    key_file: str | None = None
    #: a key reference (env:NAME, file:PATH, gcp-secret://..., aws-secret://...): core.keys
    key_ref: str | None = None
    demo_key: bool = False
    #: overwrite | append | error-if-exists; None: batch overwrites, streaming appends
    mode: str | None = None
    default_year: int | None = None
    #: files per quarantine partition (batch) or per window partition (streaming); None: 4, 1
    shards: int | None = None
    beam_args: list[str] = field(default_factory=list)
    max_file_bytes: int | None = None  # decompressed bytes per input file (None: 2 GiB)
    max_line_bytes: int | None = None  # bytes per line / CSV record (None: 64 MiB)
    ner_model: str | None = None  # --ner-model (classifiers/ner.py); None: the policy's
    fallback_encoding: str | None = None  # for lines that are not UTF-8 (None: U+FFFD)
    #: submit the job and return without waiting: a batch job then commits its own output in
    #: its last step and holds the output's lock until then (at most ``job_lock_hours``)
    detach: bool = False
    job_lock_hours: float = 24.0
    # ----------------------------------------------------------------- batch only
    verify: bool = True  # re-scan the committed output (telescrub verify) and report it
    rows_per_file: int = 50_000  # rows per Parquet file = most rows a worker holds at once
    split_bytes: int | None = None  # read larger uncompressed line files in ranges (None: 64M)
    # ------------------------------------------------------------- streaming only
    watch: list[str] = field(default_factory=list)
    input_subscription: str | None = None
    input_topic: str | None = None
    bootstrap_servers: str | None = None
    topics: list[str] = field(default_factory=list)
    window: str = "5m"
    allowed_lateness: str = "10m"
    stop_after_idle: float | None = None
    max_runtime: float | None = None
    poll_interval: float = 1.0
    settle_seconds: float = 1.0
    max_files_per_batch: int = 64
    #: Kafka only: an expansion service (address or in-process servicer); None = Beam default
    expansion_service: Any = None

    # ----------------------------------------------------------------- checks
    def resolved_mode(self, default: str) -> str:
        mode = self.mode or default
        if mode not in MODES:
            raise OutputError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
        return mode

    def resolved_shards(self, default: int) -> int:
        shards = default if self.shards is None else self.shards
        if not 1 <= shards <= 999:
            raise InputError("--shards must be between 1 and 999")
        return shards

    def read_limits(self) -> ReadLimits:
        """The readers' caps for this run (defaults unless set)."""
        lim = ReadLimits()
        for name, value in (("max-file-bytes", self.max_file_bytes),
                            ("max-line-bytes", self.max_line_bytes)):
            if value is not None and value < 1:
                raise InputError(f"--{name} must be at least 1 byte")
        encoding = None
        if self.fallback_encoding:
            try:
                encoding = check_encoding(self.fallback_encoding)
            except ValueError as exc:
                raise InputError(f"--fallback-encoding: {exc}") from None
        return ReadLimits(
            max_bytes=self.max_file_bytes if self.max_file_bytes is not None else lim.max_bytes,
            max_line_bytes=(self.max_line_bytes if self.max_line_bytes is not None
                            else lim.max_line_bytes),
            fallback_encoding=encoding)

    def load_policy(self) -> Policy:
        return with_ner_model(load_policy(self.policy_path), self.ner_model)

    def load_schemas(self) -> dict[str, SourceSchema]:
        return load_source_schemas(self.schema_dir)

    def load_key(self) -> HashKey:
        return load_key(self.key_file, self.demo_key, key_ref=self.key_ref)

    def output_path(self) -> str:
        """The output as the store addresses it: a local path made absolute, or an
        ``s3://``/``gs://`` URL (normalised). Another ``scheme://`` is an error, never a local
        folder named after it."""
        return location(self.output, "--output")

    def configure_store(self) -> None:
        """Object-store settings from the Beam options (endpoint, region, project), never
        credentials: a credential option on the command line is an error."""
        from apache_beam.options.pipeline_options import PipelineOptions

        fs.refuse_credentials_in_args(self.beam_args)
        fs.configure(PipelineOptions(self.beam_args))


def new_pipeline(options: Any) -> Any:
    """A Beam pipeline for ``options``; the runner's option validation (missing
    ``--project``, ``--temp_location``...) is a user error of one line (it names options,
    never data)."""
    import apache_beam as beam

    try:
        return beam.Pipeline(options=options)
    except ValueError as exc:
        text = str(exc)
        if "validations errors" not in text:
            raise
        problems = [line.strip() for line in text.splitlines()[1:] if line.strip()]
        raise InputError("Beam options: " + " ".join(problems)) from None


def location(path: str, what: str) -> str:
    """A local path (absolute) or a supported URL (normalised); InputError otherwise."""
    if "://" in path and not fs.is_url(path):
        raise InputError(f"{what} {path}: unsupported URL scheme (use a local path, s3://... "
                         "or gs://...)")
    try:
        return fs.normpath(path)
    except OutputError as exc:
        raise InputError(str(exc)) from None
