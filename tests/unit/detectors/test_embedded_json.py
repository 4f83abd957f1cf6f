"""JSON documents held in string values (Sentinel CSV exports, ``*_s`` columns, Entra
modifiedProperties) are scrubbed by the roles of their keys, and written back as JSON."""

from __future__ import annotations

import json

import pytest

from telescrub.classifiers.embedded import looks_like_json, parse
from telescrub.classifiers.text import TextScrubber
from telescrub.core.actions import Actor
from telescrub.core.decisions import FieldDecision
from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for
from telescrub.core.policy import load_policy

POLICY = load_policy()
KEY = HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True)
SCRUBBER = TextScrubber(POLICY, KEY)


def _scrub(path: str, value: str, action: str = "scrub_text") -> str:
    d = FieldDecision(path=path, category="customer_content", action=action, keep_last=4,
                      entity=None, role=None, evidence="test", confidence=1.0)
    out = Actor(POLICY, KEY, SCRUBBER).apply(d, value, "t")
    assert isinstance(out, str)
    return out


def test_members_are_decided_by_their_keys_under_the_column() -> None:
    value = json.dumps({"uuid": "O2FWP7N6XBHSXFV6J6I7MPGPGE", "name": "Hector Salamanca",
                        "email": "hector@nedscaper.com"})
    out = json.loads(_scrub("actor_details", value))
    assert out["uuid"] == KEY.token("O2FWP7N6XBHSXFV6J6I7MPGPGE")  # an actor's id, by its key
    assert out["name"] == KEY.token("Hector Salamanca")
    assert out["email"].startswith("h1:")


def test_metadata_members_are_kept_and_numbers_stay_numbers() -> None:
    value = ('{"uuid": "JCMNBI2AD5EDRLHKAHCJTU7ZKI", "login_time": "2023-10-26T11:14:13Z", '
             '"device_uuid": "og5lnyi523ifwjxlhu4kpatf3u", "ip": "178.132.215.33", "n": 3}')
    out = json.loads(_scrub("session", value))
    assert out["login_time"] == "2023-10-26T11:14:13Z" and out["n"] == 3
    assert all(out[k].startswith("h1:") for k in ("uuid", "device_uuid", "ip"))


def test_cloudtrail_request_parameters_as_text() -> None:
    value = json.dumps({"userName": "jdoe", "roleSessionName": "jdoe@contoso.com",
                        "durationSeconds": 3600, "roleArn": "arn:aws:iam::123456789012:role/x"})
    out = json.loads(_scrub("RequestParameters", value))
    assert out["userName"] == KEY.token("jdoe") and out["roleSessionName"].startswith("h1:")
    assert out["durationSeconds"] == 3600
    assert out["roleArn"] == "arn:aws:iam::123456789012:role/x"  # a role names no person


def test_numeric_ids_under_an_identity_key_are_hashed() -> None:
    out = json.loads(_scrub("payload", '{"actor_id": 5311235, "count": 7}'))
    assert out == {"actor_id": KEY.token("5311235"), "count": 7}


def test_an_identifier_used_as_a_key_is_scrubbed() -> None:
    out = json.loads(_scrub("stats", '{"alice@contoso.com": 3, "10.0.0.7": 1}'))
    assert set(out.values()) == {3, 1}
    assert all(k.startswith("h1:") for k in out)


def test_nested_json_in_a_string_in_json() -> None:
    inner = json.dumps([{"userPrincipalName": "jdoe@contoso.com"}])
    out = json.loads(_scrub("targetResources.modifiedProperties.newValue",
                            json.dumps({"newValue": inner})))
    assert "jdoe@contoso.com" not in json.dumps(out)
    assert isinstance(json.loads(out["newValue"]), list)


def test_a_kept_column_holding_json_is_guarded_by_keys() -> None:
    out = json.loads(_scrub("Resources", '[{"accountId": "123456789012", "userName": "bob"}]',
                            action="keep"))
    assert out == [{"accountId": "123456789012", "userName": KEY.token("bob")}]


def test_layout_is_kept_roughly() -> None:
    assert _scrub("x", '{"a":1}') == '{"a":1}'
    assert _scrub("x", '{"a": 1}') == '{"a": 1}'
    assert "\n" in _scrub("x", '{\n  "a": 1\n}')


@pytest.mark.parametrize(
    "text",
    ["", "{", "{not json}", "[1, 2", '"just a string"', "42", '{"a": NaN}',
     "{} trailing", "x" * 10],
)
def test_what_is_not_a_document_stays_text(text: str) -> None:
    assert parse(text) is None


def test_looks_like_json() -> None:
    assert looks_like_json(' {"a": 1} ') and looks_like_json("[1]")
    assert not looks_like_json("{a") and not looks_like_json("[x}")


def test_name_value_pairs_in_a_document_are_decided_by_their_labels() -> None:
    value = json.dumps([{"Name": "Identity", "Value": "praman.shared"},
                        {"Name": "AccessRights", "Value": "FullAccess"}])
    out = json.loads(_scrub("Parameters", value))
    assert out == [{"Name": "Identity", "Value": KEY.token("praman.shared")},
                   {"Name": "AccessRights", "Value": "FullAccess"}]
