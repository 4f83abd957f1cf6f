"""Streaming, hostile-input-proof readers: one input file → ``Record`` / ``BadRecord``.

Pure Python (no Beam); the pipeline wraps :func:`read_records` in a DoFn.

Reading (:func:`open_text_lines`)
---------------------------------
* Files are read in 1 MiB chunks and split on ``\\n``; a trailing ``\\r`` is removed
  (CRLF), a lone ``\\r`` is not a line break. A UTF-8 BOM at the start of the file is
  dropped. NUL bytes are kept (JSON rejects them, text and CSV keep them).
* gzip is recognised by its magic bytes ``1f 8b`` (not by name; a ``.gz`` file that is not
  gzip is read as plain). Concatenated gzip members are read as one stream.
* ``max_bytes`` caps the (decompressed) bytes read per file (default 2 GiB): past it the
  file ends with a ``'too_large'`` error (a gzip bomb stops there).
* ``max_line_bytes`` caps one line (default 1 MiB; the ``\\n`` is not counted, a CR
  before it is; a record, a log line or a value of that size is already far outside
  telemetry, and scanning it as free text costs up to ~10 s): a longer line
  is yielded as :class:`LineTooLong` holding only its first 4 KiB and its length; memory
  never holds more than the cap plus one chunk.
* Problems reading the file raise :class:`InputError` (``'unreadable'``,
  ``'corrupt_gzip'``, ``'too_large'``) after every complete line before the problem has
  been yielded; :func:`read_records` turns that into one final ``BadRecord``.

Records (:func:`read_records`)
------------------------------
Blank lines (only ASCII whitespace) produce nothing; every other line produces exactly
one ``Record`` or ``BadRecord`` (JSONL, text); for CSV every logical record does.
``line`` is the 1-based physical line (CSV: the line where the record starts).
``BadRecord.detail`` never contains file content; ``BadRecord.text`` holds at most the
first 4 KiB of the raw line/record, decoded as UTF-8 with replacement.

* **Encodings**: a line (CSV: a record) that is not valid UTF-8 — a Latin-1 ``é``, a stray
  ``\\xff`` — is decoded with ``ReadLimits.fallback_encoding`` when one is set (``cp1252``,
  ``latin-1``...), else as UTF-8 with U+FFFD for the bad bytes, and then read like any other:
  its identifiers are scrubbed, nothing is lost. :class:`ReadStats` counts such records
  (``decoded_with_fallback``; the report lists them per input).
* **Binary files**: a file whose first 8 KiB hold NUL bytes, are for 30 % or more control
  characters or bytes that are no UTF-8, and have no line structure (most of their lines
  are not clean text) is one ``'unreadable'`` record (``binary content, not a text
  format``) instead of hundreds of garbage rows. A text file with a garbage line stays text.
* **JSONL**: each line is decoded (above), parsed with
  :func:`~telescrub.formats.flatten.json_loads` (``'invalid_json'``; nesting beyond
  ``limits.max_depth`` or the parser's recursion limit → ``'too_deep'``), must be an
  object (``'not_an_object'``), and is flattened (caps → ``'too_deep'`` /
  ``'too_many_fields'``). ``.json`` files are read as JSON Lines too (a pretty-printed
  multi-line document gives one ``'invalid_json'`` per line).
* **CSV**: the first non-blank record is the header. Delimiter: tab for ``.tsv``, else the
  most frequent of ``, ; | TAB`` in the header line (ties → ``,``). Quoted fields may hold
  delimiters, quotes (``""``) and newlines (embedded CRLF becomes LF). Header names are
  stripped of surrounding whitespace and escaped like JSON keys
  (:func:`~telescrub.formats.flatten.escape_key`); an empty name becomes ``_column_<n>``
  (1-based position) and a repeated one gets ``_2``, ``_3``, ... appended. Values stay
  strings; an empty cell is ``None``. Rows with more cells than the header →
  ``'csv_too_many_columns'``, fewer → ``'csv_too_few_columns'``. Quoting errors or a
  field over the csv module's field size limit (128 Ki chars) → ``'csv_error'``; a
  record spanning more than ``max_line_bytes`` → ``'record_too_long'``. If the header
  itself cannot be read, each following record becomes ``'csv_no_header'``. Extra cells
  beyond the header that are all empty (a trailing delimiter, common in Log Analytics
  exports) are dropped; the record is good.
* **Text**: one record per non-blank line, decoded (above; a log line with a bad byte is
  still a log line), fields from :func:`parse_text_line`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, NamedTuple

from telescrub.core.records import BadRecord, Record
from telescrub.core.timeparse import (
    UTC,
    build_datetime,
    format_timestamp,
    infer_year,
    month_number,
    parse_timestamp,
)
from telescrub.formats.flatten import FlattenLimitError, escape_key, flatten, json_loads

__all__ = [
    "FORMATS",
    "InputError",
    "LineTooLong",
    "ReadLimits",
    "ReadStats",
    "detect_format",
    "open_text_lines",
    "parse_text_line",
    "read_records",
    "table_name_for",
]

#: opens a path or URL as a binary stream (seekable for byte ranges); the store's is
#: ``telescrub.store.fs.open_input``, which reads buckets too. None: the local ``open``.
Opener = Callable[[str], BinaryIO]

FORMATS = ("jsonl", "csv", "text")
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
EXCERPT_BYTES = 4096
CHUNK_BYTES = 1 << 20
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_LINE_BYTES = 1024**2
MAX_TABLE_NAME = 64


@dataclass(frozen=True)
class ReadLimits:
    """Caps and knobs for :func:`read_records`."""

    max_bytes: int = DEFAULT_MAX_BYTES  # decompressed bytes per file
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # one physical line (CSV: one record)
    max_depth: int = 256  # JSON nesting levels (the top-level object is level 1)
    max_fields: int = 10_000  # distinct field paths per record
    max_values: int = 1_000_000  # scalar values per record, array padding included
    default_year: int | None = None  # year for year-less log timestamps; None: infer_year()
    #: encoding for lines that are not UTF-8 (``cp1252``, ``latin-1``...); None: UTF-8 with
    #: U+FFFD for the bad bytes
    fallback_encoding: str | None = None


@dataclass
class ReadStats:
    """What reading one unit repaired (counts only; never data)."""

    decoded_with_fallback: int = 0  # records that were not valid UTF-8, decoded anyway


def check_encoding(name: str) -> str:
    """The canonical name of a text encoding, or ``ValueError`` naming the problem."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None
    try:
        "a".encode(info.name)
    except (UnicodeError, LookupError):
        raise ValueError(f"{name!r} is not a text encoding") from None
    return info.name


def decode_line(raw: bytes, lim: ReadLimits, stats: ReadStats | None) -> str:
    """UTF-8, else the fallback encoding (or UTF-8 with U+FFFD), counted in ``stats``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if stats is not None:
        stats.decoded_with_fallback += 1
    if lim.fallback_encoding:
        try:
            return raw.decode(lim.fallback_encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("utf-8", "replace")


class LineTooLong(NamedTuple):
    """Yielded by :func:`open_text_lines` instead of a line longer than the cap."""

    head: bytes  # the first 4 KiB
    length: int  # the full length in bytes (without the \n, with a CR before it)


class InputError(Exception):
    """The file cannot be (further) read. ``detail`` holds no file content."""

    def __init__(self, reason: str, detail: str, line: int = 0, text: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.line = line
        self.text = text


def _excerpt(raw: bytes) -> str:
    return raw[:EXCERPT_BYTES].decode("utf-8", "replace")


# --------------------------------------------------------------------------- names & formats

_EXT_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".log": "text",
    ".txt": "text",
}
_CSV_HEADER_CELL = re.compile(r'\s*"?[A-Za-z_][A-Za-z0-9_ .\-/]{0,63}"?\s*')


def _strip_gz(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") else name


def _extension(path: str | os.PathLike[str]) -> str:
    return os.path.splitext(_strip_gz(os.path.basename(os.fspath(path))))[1].lower()


def _sniff_format(path: str | os.PathLike[str], opener: Opener | None = None) -> str:
    found: list[bytes] = []
    lines_iter = open_text_lines(path, max_bytes=64 * 1024, max_line_bytes=16 * 1024,
                                 opener=opener)
    try:
        for _, raw in lines_iter:
            data = raw.head if isinstance(raw, LineTooLong) else raw
            if data.strip():
                found.append(data)
                if len(found) == 2:
                    break
    except InputError:
        pass
    finally:
        lines_iter.close()
    if not found:
        return "text"
    if found[0].lstrip().startswith(b"{"):
        return "jsonl"
    try:
        lines = [x.decode("utf-8") for x in found]
    except UnicodeDecodeError:
        return "text"
    delim = _guess_delimiter(lines[0])
    cells = next(csv.reader([lines[0]], delimiter=delim), [])
    if (
        len(cells) >= 2
        and all(_CSV_HEADER_CELL.fullmatch(c) for c in cells)
        and len(lines) == 2
        and len(next(csv.reader([lines[1]], delimiter=delim), [])) == len(cells)
    ):
        return "csv"
    return "text"


def detect_format(path: str | os.PathLike[str], declared: str = "auto",
                  opener: Opener | None = None) -> str:
    """``'jsonl'`` | ``'csv'`` | ``'text'`` for *path*.

    *declared* other than ``'auto'`` wins (validated). Otherwise by extension after
    dropping ``.gz``: ``.jsonl .ndjson .json`` → jsonl, ``.csv .tsv`` → csv, ``.log .txt``
    → text; any other extension is sniffed from the first lines (gunzipped if needed): a
    line starting with ``{`` → jsonl, an identifier-like header row whose cell count the
    next non-blank line repeats → csv, else text. An unreadable file sniffs as text (reading it
    then yields the ``BadRecord``).
    """
    if declared != "auto":
        if declared not in FORMATS:
            raise ValueError(
                f"unknown format {declared!r}; expected one of auto, {', '.join(FORMATS)}"
            )
        return declared
    fmt = _EXT_FORMATS.get(_extension(path))
    return fmt if fmt is not None else _sniff_format(path, opener)


_TABLE_OK = re.compile(rf"[a-z0-9_]{{1,{MAX_TABLE_NAME}}}")


def table_name_for(path: str | os.PathLike[str], override: str | None = None) -> str:
    """Table name for *path*: the file name without ``.gz`` and its extension, lowercased,
    each run of characters outside ``[a-z0-9_]`` replaced by ``_``, leading/trailing ``_``
    dropped (``Web Access.2024.LOG.gz`` → ``web_access_2024``).

    *override* (``--table``) is lowercased and must then be 1-64 characters of
    ``[a-z0-9_]`` (so no ``..``, no path separators). Raises ``ValueError`` with a message
    naming the problem for a bad override or a file name that yields no usable name.
    """
    if override is not None:
        name = override.strip().lower()
        if not name:
            raise ValueError("--table must not be empty")
        if ".." in name or "/" in name or "\\" in name:
            raise ValueError(f"--table {override!r} must not contain '..' or path separators")
        if len(name) > MAX_TABLE_NAME:
            raise ValueError(f"--table {override!r} is longer than {MAX_TABLE_NAME} characters")
        if not _TABLE_OK.fullmatch(name):
            raise ValueError(
                f"--table {override!r} may only contain letters, digits and '_' "
                "(it names an output directory)"
            )
        return name
    base = _strip_gz(os.path.basename(os.fspath(path).rstrip("/\\")))
    stem, ext = os.path.splitext(base)
    if not stem:  # '.log' → splitext gives ('.log', '')
        stem = base
    name = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_")
    if not name:
        raise ValueError(f"cannot derive a table name from the file name {base!r}; pass --table")
    if len(name) > MAX_TABLE_NAME:
        raise ValueError(
            f"table name derived from {base!r} is longer than {MAX_TABLE_NAME} characters; "
            "pass --table"
        )
    return name


# --------------------------------------------------------------------------- raw lines


def _open_stream(path: str | os.PathLike[str], opener: Opener | None = None,
                 ) -> tuple[Any, Any, bool]:
    """(stream to read, underlying file, is_gzip). Raises OSError."""
    if opener is None:
        raw: Any = open(path, "rb")  # noqa: SIM115 - closed by the caller
    else:
        raw = opener(os.fspath(path))
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
    try:
        is_gzip = raw.peek(2)[:2] == GZIP_MAGIC
    except OSError:
        raw.close()
        raise
    if is_gzip:
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw, True
    return raw, raw, False


def open_text_lines(
    path: str | os.PathLike[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    byte_range: tuple[int, int, int] | None = None,
    opener: Opener | None = None,
) -> Generator[tuple[int, bytes | LineTooLong], None, None]:
    """Yield ``(line_no, raw_bytes)`` for every physical line (1-based, blank ones too).

    ``byte_range`` = ``(start, end, first_line)`` reads only the bytes ``[start, end)`` of an
    uncompressed file, which must hold whole lines, the first of them numbered
    ``first_line`` (see :func:`line_ranges`).

    See the module doc for gzip, BOM, CRLF and the caps. A line over *max_line_bytes* is
    yielded as ``(line_no, LineTooLong(head, length))``. Raises :class:`InputError` when
    the file cannot be opened (``line`` 0) or read further (``line`` = the line reached,
    ``text`` = the start of that incomplete line).
    """
    try:
        stream, raw, is_gzip = _open_stream(path, opener)
    except OSError as e:
        raise InputError(
            "unreadable", f"cannot open file: {e.strerror or type(e).__name__}"
        ) from None

    line_no = 0
    total = 0
    remaining = -1  # bytes left in the range (-1: read to the end)
    if byte_range is not None:
        start, end, first_line = byte_range
        if start < 0 or end < start or first_line < 1:
            stream.close()
            raise ValueError("a byte range needs 0 <= start <= end and first_line >= 1")
        if is_gzip:  # the file was replaced after the launcher cut it
            stream.close()
            raise InputError("unreadable", "file changed after it was split: now gzip")
        raw.seek(start)
        line_no = first_line - 1
        remaining = end - start
    buf = bytearray()  # the current incomplete line
    long_head: bytes | None = None  # set while skipping an over-long line
    long_len = 0

    def finish() -> tuple[int, bytes | LineTooLong]:
        nonlocal long_head, long_len
        if long_head is not None:
            item: bytes | LineTooLong = LineTooLong(long_head, long_len)
            long_head, long_len = None, 0
        else:
            data = bytes(buf)
            if data.endswith(b"\r"):
                data = data[:-1]
            if line_no == 1 and data.startswith(BOM):
                data = data[3:]
            item = data
        buf.clear()
        return line_no, item

    def add(piece: bytes) -> None:
        nonlocal long_head, long_len
        if long_head is not None:
            long_len += len(piece)
            if len(long_head) < EXCERPT_BYTES:
                long_head += piece[: EXCERPT_BYTES - len(long_head)]
        elif len(buf) + len(piece) > max_line_bytes:
            long_len = len(buf) + len(piece)
            if len(buf) >= EXCERPT_BYTES:
                long_head = bytes(buf[:EXCERPT_BYTES])
            else:
                long_head = bytes(buf) + piece[: EXCERPT_BYTES - len(buf)]
            buf.clear()
        else:
            buf.extend(piece)

    def partial_text() -> str:
        return _excerpt(long_head if long_head is not None else bytes(buf[:EXCERPT_BYTES]))

    try:
        while True:
            try:
                # read1: at most one underlying read, so data decoded before a gzip
                # error is returned by this call and the error surfaces on the next.
                chunk = stream.read1(CHUNK_BYTES if remaining < 0
                                     else min(CHUNK_BYTES, remaining))
                if remaining > 0:
                    remaining -= len(chunk)
            except (EOFError, zlib.error, gzip.BadGzipFile) as e:
                if not is_gzip:  # pragma: no cover - only gzip raises these
                    raise
                what = "truncated" if isinstance(e, EOFError) else "corrupt"
                raise InputError(
                    "corrupt_gzip",
                    f"gzip stream is {what} after {total} decompressed bytes (line {line_no + 1})",
                    line_no + 1,
                    partial_text(),
                ) from None
            except OSError as e:
                raise InputError(
                    "unreadable",
                    f"read failed at line {line_no + 1}: {e.strerror or type(e).__name__}",
                    line_no + 1,
                    partial_text(),
                ) from None
            if not chunk:
                break
            over = total + len(chunk) > max_bytes
            if over:
                chunk = chunk[: max_bytes - total]
            total += len(chunk)
            parts = chunk.split(b"\n")
            add(parts[0])
            for part in parts[1:]:
                line_no += 1
                yield finish()
                add(part)
            if over:
                raise InputError(
                    "too_large",
                    f"file exceeds the cap of {max_bytes} "
                    f"{'decompressed ' if is_gzip else ''}bytes (stopped at line {line_no + 1})",
                    line_no + 1,
                    partial_text(),
                )
        if buf or long_head is not None:
            line_no += 1
            yield finish()
    finally:
        stream.close()
        if raw is not stream:
            raw.close()


# --------------------------------------------------------------------------- JSONL


def _bad(table: str, source: str, line: int, reason: str, detail: str, raw: bytes) -> BadRecord:
    return BadRecord(table, source, line, reason, detail, _excerpt(raw))


def _too_long(table: str, source: str, line: int, item: LineTooLong, cap: int) -> BadRecord:
    return _bad(
        table,
        source,
        line,
        "line_too_long",
        f"line {line}: {item.length} bytes, over the cap of {cap}",
        item.head,
    )


def _text_lines(
    lines: Iterator[tuple[int, bytes | LineTooLong]], table: str, source: str, lim: ReadLimits,
    stats: ReadStats | None,
) -> Iterator[tuple[int, bytes, str] | BadRecord]:
    """The non-blank lines of a JSONL or text file: line number, raw bytes (for a quarantine
    record's preview) and decoded text; a line over the cap as its ``line_too_long``
    quarantine record."""
    for n, raw in lines:
        if isinstance(raw, LineTooLong):
            yield _too_long(table, source, n, raw, lim.max_line_bytes)
        elif raw.strip():
            yield n, raw, decode_line(raw, lim, stats)


def read_jsonl_lines(
    lines: Iterator[tuple[int, bytes | LineTooLong]], table: str, source: str, lim: ReadLimits,
    stats: ReadStats | None = None,
) -> Generator[Record | BadRecord, None, None]:
    for item in _text_lines(lines, table, source, lim, stats):
        if isinstance(item, BadRecord):
            yield item
            continue
        n, raw, text = item
        try:
            obj = json_loads(text)
        except RecursionError:
            yield _bad(
                table, source, n, "too_deep", f"line {n}: JSON nested too deeply to parse", raw
            )
            continue
        except ValueError as e:
            if isinstance(e, json.JSONDecodeError):
                detail = f"line {n}: invalid JSON at column {e.colno}: {e.msg}"
            else:
                detail = f"line {n}: invalid JSON ({type(e).__name__})"
            yield _bad(table, source, n, "invalid_json", detail, raw)
            continue
        if not isinstance(obj, dict):
            kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
                type(obj), "a number"
            )
            yield _bad(
                table,
                source,
                n,
                "not_an_object",
                f"line {n}: top-level JSON value is {kind}, not an object",
                raw,
            )
            continue
        try:
            fields = flatten(
                obj, max_depth=lim.max_depth, max_fields=lim.max_fields, max_values=lim.max_values
            )
        except FlattenLimitError as e:
            yield _bad(table, source, n, e.reason, f"line {n}: {e.detail}", raw)
            continue
        yield Record(table, source, n, fields)


# --------------------------------------------------------------------------- CSV


class _RecordTooLong(Exception):
    pass


class _CsvFeed:
    """Feeds decoded physical lines to ``csv.reader`` and remembers, per logical record,
    where it started and what went wrong on the way."""

    def __init__(self, lines: Iterator[tuple[int, bytes | LineTooLong]], cap: int,
                 lim: ReadLimits | None = None) -> None:
        self._lines = lines
        self._cap = cap
        self._lim = lim or ReadLimits()
        self._peeked: list[tuple[int, bytes | LineTooLong]] = []
        self.start_record()

    def start_record(self) -> None:
        self.start_line = 0
        self.nbytes = 0
        self.too_long: LineTooLong | None = None
        self.invalid_utf8 = False
        self.head = bytearray()

    def first_line(self) -> bytes:
        """The first non-blank physical line (peeked, still fed to the reader later)."""
        for item in self._lines:
            self._peeked.append(item)
            raw = item[1]
            if isinstance(raw, LineTooLong):
                return raw.head
            if raw.strip():
                return raw
        return b""

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        n, raw = self._peeked.pop(0) if self._peeked else next(self._lines)
        if not self.start_line:
            self.start_line = n
        if isinstance(raw, LineTooLong):
            if self.too_long is None:
                self.too_long = raw
            if len(self.head) < EXCERPT_BYTES:
                self.head += raw.head[: EXCERPT_BYTES - len(self.head)] + b"\n"
            return "\n"
        self.nbytes += len(raw) + 1
        if self.nbytes > self._cap:
            raise _RecordTooLong()
        if len(self.head) < EXCERPT_BYTES:
            self.head += raw[: EXCERPT_BYTES - len(self.head)] + b"\n"
        probe = ReadStats()
        text = decode_line(raw, self._lim, probe)
        self.invalid_utf8 = self.invalid_utf8 or bool(probe.decoded_with_fallback)
        return text + "\n"

    def excerpt(self) -> str:
        return _excerpt(bytes(self.head).rstrip(b"\n"))


def _guess_delimiter(line: str) -> str:
    best, best_count = ",", line.count(",")
    for d in (";", "|", "\t"):
        c = line.count(d)
        if c > best_count:
            best, best_count = d, c
    return best


def _header_names(cells: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(cells, start=1):
        name = escape_key(cell.strip()) if cell.strip() else f"_column_{i}"
        if name in seen:
            k = 2
            while f"{name}_{k}" in seen:
                k += 1
            name = f"{name}_{k}"
        seen.add(name)
        names.append(name)
    return names


def _read_csv(
    lines: Iterator[tuple[int, bytes | LineTooLong]],
    table: str,
    source: str,
    lim: ReadLimits,
    delimiter: str | None,
    stats: ReadStats | None = None,
) -> Generator[Record | BadRecord, None, None]:
    feed = _CsvFeed(lines, lim.max_line_bytes, lim)
    if delimiter is None:
        delimiter = _guess_delimiter(feed.first_line().decode("utf-8", "replace"))
    reader = csv.reader(feed, delimiter=delimiter, quotechar='"', doublequote=True)
    header: list[str] | None = None
    header_failed = False

    def bad(reason: str, detail: str) -> BadRecord:
        return BadRecord(table, source, feed.start_line, reason, detail, feed.excerpt())

    while True:
        feed.start_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield bad("csv_error", f"line {feed.start_line}: CSV syntax error: {e}")
            header_failed = header_failed or header is None
            continue
        except _RecordTooLong:
            yield bad(
                "record_too_long",
                f"line {feed.start_line}: record spans more than {lim.max_line_bytes} bytes",
            )
            header_failed = header_failed or header is None
            continue
        n = feed.start_line
        if feed.too_long is not None:
            yield bad(
                "line_too_long",
                f"line {n}: {feed.too_long.length} bytes, over the cap of {lim.max_line_bytes}",
            )
            header_failed = header_failed or header is None
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if header is None and not header_failed:
            header = _header_names(row)  # invalid UTF-8 in names: kept with U+FFFD
            continue
        if header is None:
            yield bad("csv_no_header", f"line {n}: the CSV header could not be read")
            continue
        if feed.invalid_utf8 and stats is not None:
            stats.decoded_with_fallback += 1
        if len(row) > len(header) and not any(c.strip() for c in row[len(header):]):
            row = row[: len(header)]  # a trailing delimiter: empty cells beyond the header
        if len(row) > len(header):
            yield bad(
                "csv_too_many_columns",
                f"line {n}: {len(row)} fields, header has {len(header)}",
            )
            continue
        if len(row) < len(header):
            yield bad(
                "csv_too_few_columns",
                f"line {n}: {len(row)} fields, header has {len(header)}",
            )
            continue
        yield Record(
            table,
            source,
            n,
            {h: (v if v != "" else None) for h, v in zip(header, row, strict=True)},
        )


# --------------------------------------------------------------------------- text logs

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DOW = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_ISO_TS = (
    r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"(?:\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
)

# RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]
_RFC5424 = re.compile(
    r"<\d{1,3}>\d{1,2} (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*)|$)",
    re.S,
)
# RFC 3164: [<PRI>]Mmm dd HH:MM:SS rest
_RFC3164 = re.compile(
    r"(?:<\d{1,3}>)?(?P<mon>" + _MON + r") {1,2}(?P<d>\d{1,2}) "
    r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2}) (?P<rest>.*)",
    re.S,
)
_SYSLOG_TAG = re.compile(
    r"(?:(?P<host>[^\s\[\]:]+) )?(?P<proc>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:(?: (?P<msg>.*)|$)", re.S
)
_SYSLOG_HOST = re.compile(r"(?P<host>\S+)(?: (?P<msg>.*)|$)", re.S)
# The timestamp must not run on into a word ("...:47abc" backtracks to a shorter stamp or
# fails); one separator [,;|] and whitespace after it are dropped, the rest is the message.
_ISO_START = re.compile(r"(?P<ts>" + _ISO_TS + r")(?![\w:.+-])[,;|]?\s*(?P<rest>.*)", re.S)
_ISO_SECOND = re.compile(r"\S+ (?P<ts>" + _ISO_TS + r")(?: |$)")  # OpenStack: file ISO ...
_APACHE_ERROR = re.compile(
    r"\[(?P<ts>" + _DOW + r" " + _MON + r" {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})? \d{4})\]"
    r"(?: (?P<rest>.*)|$)",
    re.S,
)
_ACCESS_LOG = re.compile(
    r"\S+ \S+ \S+ \[(?P<ts>\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?)\] "
)
_HDFS = re.compile(r"(?P<ts>\d{6} \d{6})(?: (?P<rest>.*))?$", re.S)
_LOGCAT = re.compile(
    r"(?P<mo>\d{2})-(?P<d>\d{2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})\.(?P<f>\d{3})(?:\s+(?P<rest>.*))?$",
    re.S,
)
_LOG4J_YY = re.compile(  # Spark / log4j "yy/MM/dd HH:mm:ss"
    r"(?P<y>\d{2})/(?P<mo>\d{2})/(?P<d>\d{2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?: (?P<rest>.*))?$",
    re.S,
)
_COMPACT_PIPE = re.compile(  # HealthApp "yyyyMMdd-HH:mm:ss:SSS|"
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})-(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2}):(?P<f>\d{1,3})\|(?P<rest>.*)$",
    re.S,
)
_BRACKET_MD = re.compile(  # Proxifier "[MM.dd HH:mm:ss]"
    r"\[(?P<mo>\d{2})\.(?P<d>\d{2}) (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})\](?: (?P<rest>.*))?$",
    re.S,
)
_EPOCH_2ND = re.compile(r"\S+ (?P<epoch>\d{9,10}) \d{4}\.\d{2}\.\d{2} ")  # BGL, Thunderbird
_EPOCH_5TH = re.compile(r"\d+ \S+ \S+ \S+ (?P<epoch>\d{9,10}) -?\d+(?: |$)")  # HPC


def _i(m: re.Match[str], name: str) -> int:
    return int(m.group(name))


#: Prefix patterns only look at this many leading characters of a line, so that a hostile
#: multi-megabyte line costs no more regex time than a normal one; the message still
#: gets the whole remainder of the line.
PREFIX_SCAN_CHARS = 4096


def _tail(text: str, m: re.Match[str], group: str) -> str:
    """The named (line-final) group, extended to the end of the full *text* (the match ran
    on a prefix of it). If the optional group did not take part because the prefix ended
    right there, what follows the prefix is the tail: nothing is dropped."""
    start = m.start(group)
    if start >= 0:
        return text[start:]
    scanned = len(m.string)
    return text[scanned:] if m.end() == scanned < len(text) else ""


def _syslog_fields(fields: dict[str, Any], rest: str) -> None:
    head = rest[:PREFIX_SCAN_CHARS]
    m = _SYSLOG_TAG.match(head)
    if m:
        if m.group("host"):
            fields["host"] = m.group("host")
        fields["process"] = m.group("proc")
        if m.group("pid"):
            fields["pid"] = m.group("pid")
        fields["message"] = _tail(rest, m, "msg")
        return
    m = _SYSLOG_HOST.match(head)
    if m and (m.group("msg") is not None or len(rest) == len(head)):  # host not cut short
        fields["host"] = m.group("host")
        fields["message"] = _tail(rest, m, "msg")
    else:
        fields["message"] = rest


def _set_ts(fields: dict[str, Any], dt: datetime | None) -> None:
    if dt is not None:
        fields["timestamp"] = format_timestamp(dt)


_Stamp = Callable[[re.Match[str], int | None, datetime | None], datetime | None]


def _stamp_text(m: re.Match[str], default_year: int | None, now: datetime | None,
                ) -> datetime | None:
    return parse_timestamp(m.group("ts"))


def _stamp_epoch(m: re.Match[str], default_year: int | None, now: datetime | None,
                 ) -> datetime | None:
    return parse_timestamp(int(m.group("epoch")))


def _stamp_parts(m: re.Match[str], default_year: int | None, now: datetime | None,
                 ) -> datetime | None:
    """From the groups ``mo d h mi s``, optional ``f`` (milliseconds, 1-3 digits) and ``y``
    (4 digits, or 2: 20yy); without ``y`` the year is inferred (:func:`infer_year`)."""
    g = m.groupdict()
    month, day = int(g["mo"]), int(g["d"])
    y = g.get("y")
    if y is None:
        year = infer_year(month, day, default_year=default_year, now=now)
    else:
        year = int(y) + (2000 if len(y) == 2 else 0)
    f = g.get("f")
    return build_datetime(year, month, day, int(g["h"]), int(g["mi"]), int(g["s"]),
                          f.rjust(3, "0") if f else None)


def _is_bracket(c: str) -> bool:
    return c == "["


#: Text-log prefixes after which the rest of the line (group ``rest``) is the message, in the
#: order they are tried: (which first characters may start it, pattern, its timestamp).
#: RFC 5424 and RFC 3164 syslog (host, process, pid too) are parsed before these.
_PREFIXES: tuple[tuple[Callable[[str], bool], re.Pattern[str], _Stamp], ...] = (
    (str.isdigit, _ISO_START, _stamp_text),
    (str.isdigit, _HDFS, _stamp_text),
    (str.isdigit, _LOGCAT, _stamp_parts),
    (str.isdigit, _LOG4J_YY, _stamp_parts),
    (str.isdigit, _COMPACT_PIPE, _stamp_parts),
    (_is_bracket, _APACHE_ERROR, _stamp_text),
    (_is_bracket, _BRACKET_MD, _stamp_parts),
)
#: Lines that keep their whole text as the message and only give a timestamp.
_STAMPS: tuple[tuple[re.Pattern[str], _Stamp], ...] = (
    (_ACCESS_LOG, _stamp_text), (_ISO_SECOND, _stamp_text),
    (_EPOCH_2ND, _stamp_epoch), (_EPOCH_5TH, _stamp_epoch),
)


def parse_text_line(
    line: str, *, default_year: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Fields for one log line: always ``message``; when a known prefix is recognised also
    ``timestamp`` (normalised ISO-8601 UTC, e.g. ``2015-10-18T18:01:47.978Z``) and, for
    syslog, ``host``, ``process``, ``pid`` (all values are strings).

    Prefixes (``message`` = the rest of the line unless noted):

    * RFC 5424 ``<34>1 2003-10-11T22:14:15.003Z host app 123 ID47 - msg``: timestamp, host,
      process (APP-NAME), pid (PROCID); message = MSGID and STRUCTURED-DATA unless nil
      (``-``), then MSG; PRI and VERSION are dropped.
    * RFC 3164 ``[<PRI>]Nov 24 06:55:46 host proc[pid]: msg``: the year is missing and
      comes from *default_year*, else :func:`~telescrub.core.timeparse.infer_year` (current
      UTC year, previous year if that would be more than a day in the future). ``host``
      may be absent (``Nov 24 06:55:46 kernel: msg``); without a ``tag:`` only ``host``
      is split off.
    * ISO-8601 at line start (``2015-10-18 18:01:47,978 INFO ...``,
      ``2016-09-28 04:30:30, Info ...``).
    * Apache error log ``[Sun Dec 04 04:47:44 2005] [notice] ...``.
    * HDFS ``081109 203615 148 INFO ...`` (``yyMMdd HHmmss``).
    * Android logcat ``03-17 16:13:38.811 ...`` and Proxifier ``[10.30 16:49:06] ...``
      (year as for RFC 3164), Spark/log4j ``17/06/09 20:10:40 ...`` (``yy/MM/dd``),
      HealthApp ``20171223-22:15:29:606|...``.
    * Timestamp only, whole line kept in ``message``: Apache/NCSA access log
      ``1.2.3.4 - - [25/Nov/2026:10:12:01 +0000] "GET ..."``, an ISO timestamp as the
      second token (OpenStack), BGL/Thunderbird (``- 1117838570 2005.06.03 ...``: epoch
      seconds), HPC (epoch as the fifth column).

    A prefix whose date is impossible (``Feb 30``) still splits the line but adds no
    ``timestamp``.
    """
    fields: dict[str, Any] = {"message": line}
    if not line:
        return fields
    head = line[:PREFIX_SCAN_CHARS]
    c = line[0]
    m: re.Match[str] | None
    if c == "<":
        m = _RFC5424.match(head)
        if m:
            if m.group("ts") != "-":
                _set_ts(fields, parse_timestamp(m.group("ts")))
            for name, group in (("host", "host"), ("process", "app"), ("pid", "procid")):
                if m.group(group) != "-":
                    fields[name] = m.group(group)
            msg = _tail(line, m, "msg")
            if msg.startswith("\ufeff"):
                msg = msg[1:]
            parts = [p for p in (m.group("msgid"), m.group("sd")) if p != "-"]
            fields["message"] = " ".join([*parts, msg] if msg else parts)
            return fields
    if c == "<" or c in "JFMASOND":
        m = _RFC3164.match(head)
        if m:
            month = month_number(m.group("mon"))
            assert month is not None
            day = _i(m, "d")
            year = infer_year(month, day, default_year=default_year, now=now)
            _set_ts(fields, build_datetime(year, month, day, _i(m, "h"), _i(m, "mi"), _i(m, "s")))
            _syslog_fields(fields, _tail(line, m, "rest"))
            return fields
    for starts, pattern, stamp in _PREFIXES:
        if starts(c):
            m = pattern.match(head)
            if m:
                _set_ts(fields, stamp(m, default_year, now))
                fields["message"] = _tail(line, m, "rest")
                return fields
    for pattern, stamp in _STAMPS:  # timestamp only; the whole line stays the message
        m = pattern.match(head)
        if m:
            _set_ts(fields, stamp(m, default_year, now))
            return fields
    return fields


def _read_text(
    lines: Iterator[tuple[int, bytes | LineTooLong]], table: str, source: str, lim: ReadLimits,
    stats: ReadStats | None = None,
) -> Generator[Record | BadRecord, None, None]:
    now = datetime.now(UTC)
    for item in _text_lines(lines, table, source, lim, stats):
        if isinstance(item, BadRecord):
            yield item
            continue
        n, _, text = item
        yield Record(
            table, source, n, parse_text_line(text, default_year=lim.default_year, now=now)
        )


# --------------------------------------------------------------------------- entry point


def line_ranges(path: str | os.PathLike[str], target_bytes: int,
                opener: Opener | None = None,
                ) -> tuple[list[tuple[int, int, int]], str, int]:
    """Cut an uncompressed file into ranges of about ``target_bytes`` that hold whole lines:
    ``([(start, end, first_line), ...], sha256 of the file, size)``, in one pass over it.
    A range ends just after a newline (the last one at the end of the file); a single line
    longer than ``target_bytes`` stays whole in its range."""
    if target_bytes < 1:
        raise ValueError("target_bytes must be >= 1")
    h = hashlib.sha256()
    ranges: list[tuple[int, int, int]] = []
    start, first_line, lines, pos = 0, 1, 0, 0
    cut = target_bytes  # the next range ends at the first newline at or after this offset
    with (open(path, "rb") if opener is None else opener(os.fspath(path))) as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            i = 0
            while pos + len(chunk) > cut:
                nl = chunk.find(b"\n", max(i, cut - pos))
                if nl < 0:
                    break
                lines += chunk.count(b"\n", i, nl + 1)
                end = pos + nl + 1
                ranges.append((start, end, first_line))
                start, first_line, i = end, lines + 1, nl + 1
                cut = end + target_bytes
            lines += chunk.count(b"\n", i)
            pos += len(chunk)
    if pos > start or not ranges:
        ranges.append((start, pos, first_line))
    return ranges, h.hexdigest(), pos


#: a file is binary when its first bytes hold a NUL and at least this share of them are
#: control characters or bytes that are no UTF-8
BINARY_SAMPLE = 8192
BINARY_SHARE = 0.3
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")


def binary_content(path: str | os.PathLike[str], opener: Opener | None = None) -> str | None:
    """A detail for an input that is binary rather than text (module doc), else None."""
    try:
        stream, raw, _ = _open_stream(path, opener)
    except OSError:
        return None  # the reader reports what cannot be opened
    try:
        head = stream.read(BINARY_SAMPLE)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile):
        return None
    finally:
        stream.close()
        if raw is not stream:
            raw.close()
    if b"\x00" not in head:
        return None
    text = head.decode("utf-8", "replace")
    odd = sum(1 for ch in text if ch == "\ufffd" or (ch < " " and ch not in _TEXT_CONTROLS)
              or ch == "\x7f")
    if odd < BINARY_SHARE * max(len(text), 1):
        return None
    # a text file with a garbage line keeps its line structure: most lines are clean text
    lines = [ln for ln in text.split("\n")[:-1] if ln.strip()]
    clean = sum(1 for ln in lines if not any(
        ch == "\ufffd" or (ch < " " and ch not in _TEXT_CONTROLS) for ch in ln))
    if lines and clean * 2 >= len(lines):
        return None
    return (f"binary content, not a text format ({odd} of the first {len(text)} characters "
            "are NUL, control or undecodable bytes)")


def read_records(
    path: str | os.PathLike[str],
    table: str,
    fmt: str = "auto",
    *,
    limits: ReadLimits | None = None,
    byte_range: tuple[int, int, int] | None = None,
    stats: ReadStats | None = None,
    opener: Opener | None = None,
) -> Generator[Record | BadRecord, None, None]:
    """Stream the records of one file (see the module doc). *fmt* ``'auto'`` →
    :func:`detect_format`. Never raises for bad *content*: a file that cannot be opened or
    read to the end ends with one ``BadRecord`` (``'unreadable'``, ``'corrupt_gzip'``,
    ``'too_large'``; ``line`` 0 if nothing could be read) after everything read before it.
    An unknown *fmt* is a ``ValueError`` (a caller bug)."""
    lim = limits or ReadLimits()
    fmt = detect_format(path, fmt, opener)
    source = os.fspath(path)
    if byte_range is not None and fmt == "csv":
        raise ValueError("CSV files are read whole (a quoted field may span lines)")
    if byte_range is None or byte_range[0] == 0:
        binary = binary_content(path, opener)
        if binary:
            yield BadRecord(table, source, 0, "unreadable", binary, "")
            return
    lines = open_text_lines(path, lim.max_bytes, lim.max_line_bytes, byte_range, opener)
    if fmt == "jsonl":
        records = read_jsonl_lines(lines, table, source, lim, stats)
    elif fmt == "csv":
        delimiter = "\t" if _extension(path) == ".tsv" else None
        records = _read_csv(lines, table, source, lim, delimiter, stats)
    else:
        records = _read_text(lines, table, source, lim, stats)
    try:
        yield from records
    except InputError as e:
        yield BadRecord(table, source, e.line, e.reason, e.detail, e.text)
    except Exception as e:  # noqa: BLE001 - a reader bug must not kill the pipeline
        yield BadRecord(table, source, 0, "reader_error", f"reader failed: {type(e).__name__}", "")
    finally:
        records.close()
        lines.close()
