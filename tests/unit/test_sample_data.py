"""sample_data/ is generated: the generator is deterministic, the committed files are its output,
and every value of sample_data/truth.json really occurs in the raw inputs."""
from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
GENERATOR = SAMPLE / "generate.py"

# the token rules of shared/tools/leakcheck.py (kept independent of the generator on purpose)
CASE_INSENSITIVE = {"email", "upn", "hostname", "domain", "sip_uri", "ipv6", "guid", "user_id",
                    "device_id", "session_id", "tenant_id", "mac_address", "url"}


def _occurs(typ: str, value: str, text: str) -> bool:
    if typ == "ipv4":
        left, right = r"(?<![0-9.])", r"(?![0-9]|\.[0-9])"
    else:
        left, right = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"
    flags = re.IGNORECASE if typ in CASE_INSENSITIVE else 0
    return re.search(left + re.escape(value) + right, text, flags) is not None


def _generate(out: Path) -> dict[str, bytes]:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True,
                   capture_output=True, timeout=120)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return _generate(tmp_path_factory.mktemp("gen_a"))


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))


def _raw_text(name: str) -> str:
    data = (SAMPLE / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def test_generator_is_deterministic(fresh: dict[str, bytes], tmp_path: Path) -> None:
    again = _generate(tmp_path / "gen_b")
    assert sorted(again) == sorted(fresh)
    for name, data in fresh.items():
        assert again[name] == data, f"{name} differs between two runs"


def test_committed_sample_equals_fresh_generation(fresh: dict[str, bytes]) -> None:
    assert "truth.json" in fresh
    for name, data in fresh.items():
        committed = SAMPLE / name
        assert committed.is_file(), f"sample_data/{name} missing: run sample_data/generate.py"
        got = committed.read_bytes()
        if name.endswith(".gz"):  # compare content: gzip bytes may vary with the zlib build
            got, data = gzip.decompress(got), gzip.decompress(data)
        assert got == data, f"sample_data/{name} is stale: run sample_data/generate.py"


def test_truth_format(truth: dict) -> None:
    for key in ("corpus", "description", "inputs", "approximate", "method", "notes", "counts",
                "values", "weak_values"):
        assert key in truth
    assert truth["approximate"] is False
    for name in truth["inputs"]:
        assert (SAMPLE / name).is_file(), name
    for group in ("values", "weak_values"):
        for typ, vals in truth[group].items():
            assert vals == sorted(set(vals)), f"{group}.{typ} not sorted/unique"
            assert all(isinstance(v, str) and v for v in vals)
            assert truth["counts"][group][typ] == len(vals)
    for typ in ("email", "upn", "sip_uri", "ipv4", "ipv6", "person_name", "username", "hostname",
                "phone", "credit_card", "street_address", "user_id", "device_id", "session_id",
                "token"):
        assert truth["values"].get(typ), f"no {typ} values planted"


def test_every_truth_value_occurs_in_a_raw_input(truth: dict) -> None:
    texts = [_raw_text(name) for name in truth["inputs"]]
    missing = []
    for group in ("values", "weak_values"):
        for typ, vals in truth[group].items():
            for v in vals:
                if not any(_occurs(typ, v, t) for t in texts):
                    missing.append((group, typ, v))
    assert not missing, f"truth values not found in sample_data inputs: {missing[:10]}"


def test_planted_bad_records() -> None:
    assert (SAMPLE / "empty_export.jsonl").read_bytes() == b""
    assert not (SAMPLE / "teams_chat_log.jsonl").exists()
    assert gzip.decompress((SAMPLE / "teams_chat_log.jsonl.gz").read_bytes())
    bad_utf8 = bad_json = 0
    for raw in (SAMPLE / "skype_telemetry.jsonl").read_bytes().splitlines():
        try:
            json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad_utf8 += 1
        except ValueError:
            bad_json += 1
    assert (bad_utf8, bad_json) == (1, 1)
    with open(SAMPLE / "intune_billing.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    widths = [len(r) for r in rows[1:]]
    assert widths.count(len(rows[0]) + 1) == 1
    assert widths.count(len(rows[0])) == len(widths) - 1
