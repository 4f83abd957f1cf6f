"""PasswordKvDetector: values of password/secret/token/api-key keys (entity SECRET)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.password_kv import PasswordKvDetector

DET = PasswordKvDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("login password=hunter2 user=bob", ["hunter2"]),
        ("DB_PASSWORD=s3cr3t!", ["s3cr3t!"]),
        ("spring.datasource.password: Pa55w0rd", ["Pa55w0rd"]),
        ('{"password": "my pass phrase", "user": "x"}', ["my pass phrase"]),
        ('{\\"password\\":\\"abc\\"}', ["abc"]),  # JSON escaped inside a log line
        ("pwd='x y'", ["x y"]),
        ("Server=db;Uid=sa;Pwd=abc123;Encrypt=yes", ["abc123"]),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        ),
        ("X-API-Key: abcdef123", ["abcdef123"]),
        ("client_secret=cs_live_1&access_token=at-2", ["cs_live_1", "at-2"]),
        ("<password>foo</password>", ["foo"]),
        ("run --password s3cr3t --user x", ["s3cr3t"]),
        ("mysql --db-password=s3cr3t", ["s3cr3t"]),
        ("db_pass=abc", ["abc"]),
        ("apikey => 'k-123'", ["k-123"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Failed password for root from 1.2.3.4 port 22 ssh2",  # prose, no separator
        "pam_unix(sshd:auth): check pass; user unknown",
        "token_type=Bearer expires_in=3600",  # key only contains the word
        "max_tokens=100 tokenizer=bert bypass=true",
        "PWD=/home/alice OLDPWD=/tmp",  # shell variables
        "password= user=bob",  # empty
        'api_key=""',
        "password=**** secret=[REDACTED] token=<hidden> pwd=null",
        "password: ${DB_PASS} token={{ vault_token }}",
        "app wtoken = AppWindowToken{9f4ef63 token=Token{a64f992 ActivityRecord{de9231d}}}",
        "Bad activity token: android.os.BinderProxy@2bd79ce",
        "Could not get event name for stream/token: com.apple.xpc.activity/4505: 132",
        "Token: Token { kind: ContainerToken, service: 172.22.149.145:2834 }",
        "--password --user x",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_span_is_the_value_only() -> None:
    (r,) = DET.find("password=hunter2")
    assert (r.start, r.end, r.entity_type) == (9, 16, "SECRET")


def test_match_value_never_matches_a_bare_value() -> None:
    assert DET.match_value("hunter2") == 0.0
    assert DET.match_value("password=hunter2") == 0.0
