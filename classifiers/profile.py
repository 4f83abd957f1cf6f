"""What the classifier knows about a column: a bounded, deterministic summary of its values.

Built by a Beam ``CombineFn`` over all records of a table (batch mode). The sample is a
*bottom-k* sample of distinct values by a stable hash, so it is deterministic (the same input
gives the same classification on every runner and run) and mergeable in any order.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_SAMPLE_CHARS = 2048  # longer values are sampled truncated (classification only)


def _rank(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8", "replace"),
                                          digest_size=8).digest(), "big")


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -(2**63) <= value < 2**63 else "bigint"
    if isinstance(value, float):
        return "float"
    return "str"


@dataclass
class FieldProfile:
    path: str
    sample_size: int
    count: int = 0  # non-null values (list elements count one each)
    records: int = 0  # records holding the field
    is_list: bool = False
    types: set[str] = field(default_factory=set)
    total_chars: int = 0
    with_space: int = 0
    json_like: int = 0  # string values holding a JSON object or array (classifiers/embedded)
    sample: dict[int, str] = field(default_factory=dict)  # rank -> value
    _worst: int | None = None  # cached max(sample) while the sample is full

    def add(self, value: Any) -> None:
        self.records += 1
        if isinstance(value, list):
            self.is_list = True
            for v in value:
                self._add_one(v)
        else:
            self._add_one(value)

    def _add_one(self, v: Any) -> None:
        if v is None:
            return
        self.count += 1
        self.types.add(type_name(v))
        s = v if isinstance(v, str) else str(v)
        self.total_chars += len(s)
        if " " in s:
            self.with_space += 1
        if s[:1] in "{[" and s[-1:] in "}]" and len(s) >= 2:
            self.json_like += 1
        s = s[:MAX_SAMPLE_CHARS]
        r = _rank(s)
        if r in self.sample or len(self.sample) < self.sample_size:
            self.sample[r] = s
            self._worst = None
        else:
            if self._worst is None:
                self._worst = max(self.sample)
            if r < self._worst:
                del self.sample[self._worst]
                self.sample[r] = s
                self._worst = None

    def add_arrow(self, arr: Any) -> None:
        """``add`` for every record of a column read by the columnar reader (null: a record
        without the field): the same counts, types and sample as adding the values one by
        one (tests/unit/test_field_profile.py)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        n_rows = len(arr) - arr.null_count
        if not n_rows:
            return
        self.records += n_rows
        if pa.types.is_list(arr.type):
            self.is_list = True
            arr = pc.drop_null(pc.list_flatten(arr))
        else:
            arr = pc.drop_null(arr)
        if not len(arr):
            return
        self.count += len(arr)
        t = arr.type
        if pa.types.is_boolean(t):
            self.types.add("bool")
            trues = int(pc.sum(arr).as_py() or 0)
            self.total_chars += 4 * trues + 5 * (len(arr) - trues)  # "True" / "False"
            texts = pc.if_else(arr, "True", "False")
        elif pa.types.is_integer(t):
            self.types.add("int")
            texts = pc.cast(arr, pa.string())
            self.total_chars += int(pc.sum(pc.utf8_length(texts)).as_py() or 0)
        else:
            self.types.add("str")
            texts = arr
            self.total_chars += int(pc.sum(pc.utf8_length(texts)).as_py() or 0)
            self.with_space += int(pc.sum(pc.match_substring(texts, " ")).as_py() or 0)
            # ``_add_one``'s JSON test: opens with { or [, closes with } or ], 2+ characters
            json_like = pc.and_(
                pc.and_(pc.or_(pc.starts_with(texts, "{"), pc.starts_with(texts, "[")),
                        pc.or_(pc.ends_with(texts, "}"), pc.ends_with(texts, "]"))),
                pc.greater_equal(pc.utf8_length(texts), 2))
            self.json_like += int(pc.sum(json_like).as_py() or 0)
        distinct = pc.unique(pc.utf8_slice_codeunits(texts, 0, MAX_SAMPLE_CHARS))
        raw = pc.cast(distinct, pa.binary()).to_pylist()
        b2 = hashlib.blake2b
        ranks = np.frombuffer(b"".join([b2(v, digest_size=8).digest() for v in raw]),
                              dtype=">u8")
        k = self.sample_size
        if len(ranks) > k:  # only the k smallest new ranks can enter the bottom-k
            pick = np.argpartition(ranks, k - 1)[:k]
        else:
            pick = np.arange(len(ranks))
        values = distinct.take(pa.array(pick, pa.int64())).to_pylist()
        ranked = list(self.sample.items())
        ranked += zip((int(r) for r in ranks[pick]), values, strict=True)
        # the bottom-k of everything seen: what adding the values one by one keeps
        self.sample = dict(heapq.nsmallest(k, dict(ranked).items()))
        self._worst = None

    def merge(self, other: FieldProfile) -> FieldProfile:
        self.count += other.count
        self.records += other.records
        self.is_list = self.is_list or other.is_list
        self.types |= other.types
        self.total_chars += other.total_chars
        self.with_space += other.with_space
        self.json_like += other.json_like
        self.sample.update(other.sample)
        self._worst = None
        if len(self.sample) > self.sample_size:
            keep = sorted(self.sample)[: self.sample_size]
            self.sample = {k: self.sample[k] for k in keep}
        return self

    def values(self) -> list[str]:
        return [self.sample[k] for k in sorted(self.sample)]

    @property
    def avg_chars(self) -> float:
        return self.total_chars / self.count if self.count else 0.0

    @property
    def json_share(self) -> float:
        """Share of values that look like a JSON document (an object or array in a string)."""
        return self.json_like / self.count if self.count else 0.0

    @property
    def text_like(self) -> bool:
        """Values look like prose / log lines rather than identifiers or codes."""
        return self.count > 0 and "str" in self.types and (
            self.with_space / self.count >= 0.5 or self.avg_chars >= 64)

    def arrow_type(self) -> str:
        """The narrowest Arrow type that holds every value seen."""
        t = self.types
        if not t or "str" in t or "bigint" in t:
            base = "string"
        elif t == {"bool"}:
            base = "bool"
        elif t == {"int"}:
            base = "int64"
        elif t <= {"int", "float"}:
            base = "double"
        else:
            base = "string"
        return f"list<{base}>" if self.is_list else base
