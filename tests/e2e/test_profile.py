"""telescrub profile proposes reviewed source schemas; a run with them uses them as evidence."""

from __future__ import annotations

import json

import pytest
from support import SAMPLE, leakcheck, telescrub

from telescrub.classifiers.source_schema import load_source_schemas

pytestmark = pytest.mark.slow


def test_profile_then_run_with_reviewed_schema(tmp_path, shared):
    schemas = tmp_path / "schemas"
    proc = telescrub("profile", "sample_data/skype_telemetry.jsonl",
                     "sample_data/teams_chat_roster.csv", "--out-dir", str(schemas))
    assert "review these files" in proc.stdout
    loaded = load_source_schemas(str(schemas))
    assert set(loaded) == {"skype_telemetry", "teams_chat_roster"}
    skype = loaded["skype_telemetry"]
    assert skype.fields["user.id"].category == "eupi"
    assert skype.fields["errorMessage"].free_text
    text = (schemas / "skype_telemetry.yaml").read_text()
    assert "PENDING REVIEW" in text
    # no value from the data is ever written into a proposal
    assert leakcheck(SAMPLE / "truth.json", schemas, "--strict").returncode == 0

    out = tmp_path / "out"
    telescrub("run", "sample_data/skype_telemetry.jsonl", "--output", str(out),
              "--schema-dir", str(schemas))
    report = json.loads((out / "_report" / "report.json").read_text())
    fields = {f["path"]: f for f in report["tables"]["skype_telemetry"]["fields"]}
    assert fields["user.id"]["evidence"].startswith("schema:")
    assert fields["user.id"]["action"] == "hash"
