"""Identifiers introduced by words in free text (keywords from schemas/labels.yaml): the
value after "passport no.", "account number", "patient ID #", "password:", "my login is"."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.labelled_id import (
    AccountNumberLabelDetector,
    LoginLabelDetector,
    NationalIdLabelDetector,
    PersonalIdLabelDetector,
    SecretLabelDetector,
)
from telescrub.classifiers.labels import load_labels
from telescrub.core import entities
from telescrub.core.errors import PolicyError

DETS = [NationalIdLabelDetector(), AccountNumberLabelDetector(), PersonalIdLabelDetector(),
        SecretLabelDetector(), LoginLabelDetector()]


def found(text: str) -> list[tuple[str, str]]:
    hits = [(r.start, r.entity_type, text[r.start : r.end]) for d in DETS for r in d.find(text)]
    return [(e, v) for _, e, v in sorted(hits)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("passport no. K7741902, please verify", [(entities.NATIONAL_ID, "K7741902")]),
        ("Refund to account number 550019284 approved", [(entities.ACCOUNT_NUMBER, "550019284")]),
        ("tax id 47-1180235 on file", [(entities.NATIONAL_ID, "47-1180235")]),
        ("patient ID #QRT-551902 linked", [(entities.PERSONAL_ID, "QRT-551902")]),
        ("employee id 804417 requested access", [(entities.PERSONAL_ID, "804417")]),
        ("member number: MBR-2231-77", [(entities.PERSONAL_ID, "MBR-2231-77")]),
        ("Policy No. PLX-22910", [(entities.PERSONAL_ID, "PLX-22910")]),
        ("insurance number is 0042-7781-12", [(entities.PERSONAL_ID, "0042-7781-12")]),
        ("Personal Meeting ID: 8100000000", [(entities.PERSONAL_ID, "8100000000")]),
        ("password: Blue!Harbor9 was shared", [(entities.SECRET, "Blue!Harbor9")]),
        ("my password is Blue!Harbor9", [(entities.SECRET, "Blue!Harbor9")]),
        ("my login is mvarga and", [(entities.USERNAME, "mvarga")]),
        ("username: j.doe-admin", [(entities.USERNAME, "j.doe-admin")]),
        # other languages
        ("Kundennummer: 4711-0815-99", [(entities.PERSONAL_ID, "4711-0815-99")]),
        ("numéro de compte 12345678", [(entities.ACCOUNT_NUMBER, "12345678")]),
        ("mot de passe : Soleil2024!", [(entities.SECRET, "Soleil2024!")]),
        ("número de pasaporte: XDA123456", [(entities.NATIONAL_ID, "XDA123456")]),
        ("mijn gebruikersnaam is pvdberg", [(entities.USERNAME, "pvdberg")]),
    ],
)
def test_finds(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "account number of retries 3 exceeded",  # the keyword, then other words
        "employee id field empty",
        "policy number 12",  # too few digits to be an id
        "password reset done",  # not secret-shaped
        "login failed",  # an English word, not a login
        "ciod: LOGIN chdir(/home) failed",  # a function call
        "username: admin",  # a generic account
        "passporte 1234567",  # the keyword inside a longer word
        "pinned 123456",
        "account number\n550019284",  # not on the same line
        "password: ****",
        "member id h1:8dbe2624:0123456789abcdef0123456789abcdef",  # already scrubbed
        "the customer number is unknown",
        "sudo: x : TTY=pts/0 ; PWD=/home/x ; USER=root",  # the working directory, no secret
    ],
)
def test_near_misses(text: str) -> None:
    assert found(text) == []


def test_a_bare_value_is_not_an_id() -> None:
    assert all(d.match_value("K7741902") == 0.0 for d in DETS)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("    value: id\n", "    value: idd\n", r"labels\.yaml:\d+: keywords\.0\.value: unknown value"),
        ("  - entity: NATIONAL_ID", "  - entity: NATIONAL", r"keywords\.0\.entity: unknown entity"),
        ("    en: [passport,", "    xx: [passport,", r"keywords\.0\.xx: unknown key"),
        ("    username: USERNAME", "    username: USERNAM", r"key_values\.roles\.username: unknown"),
    ],
)
def test_a_bad_labels_file_gives_one_clear_line(tmp_path, old, new, expected) -> None:
    from telescrub.classifiers.labels import default_labels_path

    with open(default_labels_path(), encoding="utf-8") as fh:
        text = fh.read()
    assert old in text
    path = tmp_path / "labels.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=expected):
        load_labels(str(path))
