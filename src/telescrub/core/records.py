"""The elements that flow between pipeline stages.

Plain NamedTuples: cheap to pickle between Beam workers, readable in tests.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: A flattened field value: a scalar, or a list of scalars for paths under an array (``a[].b``).
Scalar = str | int | float | bool | None
FieldValue = Scalar | list[Scalar]


class Record(NamedTuple):
    """One parsed input record, its fields flattened to paths (``user.address.city``)."""

    table: str
    source: str  # input file path as given (never contains data)
    line: int  # 1-based physical line where the record starts in the (decompressed) source
    fields: dict[str, Any]


class BadRecord(NamedTuple):
    """Something that could not be parsed; goes to quarantine with its text scrubbed."""

    table: str
    source: str
    line: int  # 0 when the whole file failed (e.g. corrupt gzip)
    reason: str  # short machine-friendly reason, e.g. "invalid_json", "invalid_utf8"
    detail: str  # human message; never holds raw data
    text: str  # the raw text (decoded with replacement); scrubbed before it is written


class ScrubbedRecord(NamedTuple):
    """A record after actions, ready to be written to its partition."""

    table: str
    source: str
    line: int
    event_date: str | None  # YYYY-MM-DD, or None for the documented fallback partition
    fields: dict[str, Any]


#: column names the output reserves (Hive partition column, lineage columns)
RESERVED_NAMES = frozenset({"event_date", "_source_file", "_source_line"})


def output_name(path: str) -> str:
    """Column name for a field path: reserved names get a trailing underscore."""
    return f"{path}_" if path in RESERVED_NAMES else path


def path_of(name: str) -> str:
    """Field path of an output column name (inverse of :func:`output_name`)."""
    return name[:-1] if name.endswith("_") and name[:-1] in RESERVED_NAMES else name


# Module-level type predicates for the ``Filter`` steps after multi-output ``ParDo``s (pickled
# by reference; Beam 2.77's DaskRunner hands every tagged output the union of all outputs).
def is_bad_record(x: Any) -> bool:
    return isinstance(x, BadRecord)


def is_record(x: Any) -> bool:
    return isinstance(x, Record)


def is_scrubbed(x: Any) -> bool:
    return isinstance(x, ScrubbedRecord)
