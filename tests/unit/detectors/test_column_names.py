"""Column names never hold identifiers: ``telescrub verify`` scans every path segment of every
column name (``column_names`` check) for the identifiers a map key could leak."""

from __future__ import annotations

import pytest

from telescrub.app.verify import column_name_hits, scanner_for
from telescrub.core.policy import load_policy

SCANNER = scanner_for(load_policy())


@pytest.mark.parametrize(
    "name, hits",
    [
        ("perUser.alice@contoso\\.com", ["EMAIL_ADDRESS"]),
        ("counts.10\\.0\\.0\\.7", ["IPV4"]),
        ("sessions.4f1a2b3c-1111-2222-3333-444455556666.n", ["GUID"]),
        ("byPhone.+1 425 555 0100", ["PHONE_NUMBER"]),
    ],
)
def test_identifiers_in_column_names_are_found(name: str, hits: list[str]) -> None:
    assert column_name_hits(SCANNER, name) == hits


@pytest.mark.parametrize(
    "name",
    ["perUser[].map_key", "perUser[].map_value", "userIdentity.arn", "app.info",
     "debugContext.debugData.url", "request.ipChain[].ip", "TimeGenerated \\[UTC]",
     "Tags.k8s\\.io/app", "_source_file", "actor.displayName", "event_date_"],
)
def test_field_names_pass(name: str) -> None:
    assert column_name_hits(SCANNER, name) == []
