"""Reviewed source schemas: ``schemas/sources/<table>.yaml``, the strongest evidence.

A compliance reviewer approves, per table, ``field path -> category`` (and optionally the
entity, the action, free_text). ``telescrub profile`` proposes such files. Format::

    table: skype_telemetry
    reviewed_by: privacy-team
    reviewed_on: 2026-11-20
    fields:
      user.id:        {category: eupi, entity: HEX_ID}
      errorMessage:   {category: system_metadata, free_text: true}
      federation.partnerDomain: {category: oii, action: keep}
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any

from telescrub.core import entities
from telescrub.core.errors import PolicyError
from telescrub.core.policy import ACTIONS, CATEGORIES, Checker
from telescrub.core.yamlload import load_yaml


@dataclass(frozen=True)
class SchemaField:
    category: str
    entity: str | None
    action: str | None
    free_text: bool
    where: str  # file:line


@dataclass(frozen=True)
class SourceSchema:
    table: str
    path: str
    reviewed_by: str
    fields: dict[str, SchemaField]


def load_source_schema(path: str) -> SourceSchema:
    data, where = load_yaml(path)
    c = Checker(where)
    doc = c.mapping(data, (), {"table", "reviewed_by", "reviewed_on", "description", "fields"},
                    ("table", "fields"))
    if not isinstance(doc["table"], str) or not doc["table"]:
        raise c.fail(("table",), f"bad value {doc['table']!r}: expected the table name")
    fields: dict[str, SchemaField] = {}
    raw_fields: Any = c.mapping(doc["fields"], ("fields",))
    for fpath, spec in raw_fields.items():
        kp = ("fields", fpath)
        m = c.mapping(spec, kp, {"category", "entity", "action", "free_text", "note"},
                      ("category",))
        c.choice(m["category"], (*kp, "category"), CATEGORIES, "category")
        if m.get("entity") is not None:
            c.choice(m["entity"], (*kp, "entity"), tuple(entities.ALL), "entity")
        if m.get("action") is not None:
            c.choice(m["action"], (*kp, "action"), ACTIONS, "action")
        if "free_text" in m and not isinstance(m["free_text"], bool):
            raise c.fail((*kp, "free_text"), f"expected true or false, got {m['free_text']!r}")
        fields[str(fpath)] = SchemaField(m["category"], m.get("entity"), m.get("action"),
                                         bool(m.get("free_text", False)), where(kp))
    return SourceSchema(doc["table"], path, str(doc.get("reviewed_by", "")), fields)


def load_source_schemas(schema_dir: str | None) -> dict[str, SourceSchema]:
    """All ``*.yaml`` in a directory, keyed by table; a missing directory is an error."""
    if not schema_dir:
        return {}
    if not os.path.isdir(schema_dir):
        raise PolicyError(f"--schema-dir {schema_dir}: not a directory")
    out: dict[str, SourceSchema] = {}
    for f in sorted(glob.glob(os.path.join(schema_dir, "*.yaml"))):
        s = load_source_schema(f)
        if s.table in out:
            raise PolicyError(f"{f}: table {s.table!r} already defined in {out[s.table].path}")
        out[s.table] = s
    return out
