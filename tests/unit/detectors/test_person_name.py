"""PersonNameDetector: gazetteer + context person names in free text, no NER model."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from telescrub.classifiers.detectors.person_name import (
    PersonNameDetector,
    english_words,
    gazetteers,
)

DET = PersonNameDetector()
ROOT = Path(__file__).resolve().parents[3]
LOGHUB = Path(os.environ.get("TELESCRUB_SHARED", ROOT.parent / "shared")) / "corpora" / "loghub"


@pytest.mark.parametrize(
    "text, expected",
    [
        # listed first name + listed surname, many cultures
        ("Spoke with Anna Kowalska about the refund.", ["Anna Kowalska"]),
        ("Escalated by Kenji Watanabe after the outage", ["Kenji Watanabe"]),
        ("Ingrid Lindqvist reopened the case", ["Ingrid Lindqvist"]),
        ("Refund approved for Oluwaseun Adeyemi yesterday", ["Oluwaseun Adeyemi"]),
        ("Customer Jan de Vries asked for a callback", ["Jan de Vries"]),
        ("Notes from María José García on the billing issue", ["María José García"]),
        ("Transferred to Dmitri Ivanov in tier 2", ["Dmitri Ivanov"]),
        # middle initials
        ("Faina D. Yefremova filed the request", ["Faina D. Yefremova"]),
        ("Ticket owner: Ryan P Costa", ["Ryan P Costa"]),
        # family name first, all-caps surname, 'Last, First'
        ("KOWALSKA Anna called twice about invoice 4471.", ["KOWALSKA Anna"]),
        ("Reviewer: Lindqvist, Ingrid", ["Lindqvist, Ingrid"]),
        # surname-shaped words back a first name
        ("Attendee Sigrún Jónsdóttir confirmed", ["Sigrún Jónsdóttir"]),
        # context cues with names in no list
        ("Hello, this is Dr. Okonkwo speaking", ["Okonkwo"]),
        ("Hi Sven, thanks for the update.", ["Sven"]),
        ("Dear Mrs. Thistlewood, your order shipped.", ["Thistlewood"]),
        ("My name is Zorblatt and I need help", ["Zorblatt"]),
        ("Name: Quionia Abernathy", ["Quionia Abernathy"]),
        ("@Maria Garcia please review the notes", ["Maria Garcia"]),
        ("password reset (user Pekka Virtanen) done", ["Pekka Virtanen"]),
        ("Signed by Thandiwe Mokoena on behalf of the board.", ["Thandiwe Mokoena"]),
        ("Regards, Ingrid", ["Ingrid"]),
        # an English-word first name needs a listed surname
        ("Will Smith joined the call", ["Will Smith"]),
        # lists and dialogue
        ("Invited: Gaetane, Hannah, Anthony and Derek.", ["Gaetane", "Hannah", "Anthony", "Derek"]),
        ("Anna: are you there?\nPekka: yes", ["Anna", "Pekka"]),
        # single listed, non-English name
        ("Unlike the Christiansen report, this one is short.", ["Christiansen"]),
        # all-lower-case text: listed pair or strong cue only
        ("follow up with benjamin a seiler next week", ["benjamin a seiler"]),
        ("my name is naomi ryan", ["naomi ryan"]),
        # more cues: 'calls me', 'follow up with', 'smiled at', 'gave X her address',
        # 'add X as a beneficiary', 'the X novel', surnames in -sen
        ("Everyone calls me Zaphira", ["Zaphira"]),
        ("Please follow up with Quilby Throssel tomorrow.", ["Quilby Throssel"]),
        # a first name that is also a common word, then a surname no list holds, after a cue
        ("Follow up with Jan Jílek in a couple of months.", ["Jan Jílek"]),
        ("The manager smiled at Zaphira and left.", ["Zaphira"]),
        ("She had given Okonkwo her address last week.", ["Okonkwo"]),
        ("Please add Zaphira Quillon as an authorized user.", ["Zaphira Quillon"]),
        ("Unlike the Throssel novel, the film is short.", ["Throssel"]),
        ("Contact person Quilby Brandtsen", ["Quilby Brandtsen"]),
        # three surnames after a people noun and a colon are people, not a firm
        ("Our 3 founders: Hawkins, Richardson and Santana.", ["Hawkins", "Richardson", "Santana"]),
        # all-lower-case text: honorifics, 'calls me', verbs after a listed name, speaker
        # labels, lists of four or after a colon
        ("mr. okonkwo flew home on friday", ["okonkwo"]),
        ("everyone calls me zaphira", ["zaphira"]),
        ("ingrid said the build is green", ["ingrid"]),
        ('mika: "who are you?"\ntracy: "me"', ["mika", "tracy"]),
        ("kids: mika, pekka and sven", ["mika", "pekka", "sven"]),
        ("they invited mika, pekka, sven and ingrid", ["mika", "pekka", "sven", "ingrid"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # English words that are also names, months, days, seasons
        "Will you grant access to the Summer Sale dashboard before June?",
        "May 12 10:00:01 host sshd[123]: Accepted password for root from 10.0.0.1 port 22",
        "Mark the ticket as resolved and Bill the customer on Monday.",
        "Rose Garden and Long Island are closed in April.",
        # technical words and products, even when some list holds them
        "Apache Spark and Hadoop jobs failed on the Linux Server.",
        "Customer reports that Google Chrome 118 crashes when opening Microsoft Edge.",
        "Restarted the Print Spooler service 3 times; Event ID 7031.",
        "Java Error in Service Manager",
        "Set max heap to 4096 MB for the Spark Executor on Node 7.",
        # identifiers and log shapes
        "D PowerManagerService: acquire lock=233570404, flags=0x1, tag=View Lock",
        "INFO org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
        "Exception in thread main java.lang.NullPointerException at Foo.bar(Foo.java:42)",
        "INFO WARN ERROR DEBUG FATAL",
        "INFO Remoting started; listening on addresses",
        # sentence starts, titles, places, companies
        "The New York Times reported on the Grand Canyon.",
        "Version 2.4.1 Release Notes: Bug Fixes and Performance Improvements",
        "I will be travelling to France next week.",
        "She works at Russell Investments and Berkshire Capital Group.",
        "Tomomi is from Hawkins, Richardson and Santana",
        "owens, duran and oneal",  # three lower-case surnames alone: perhaps a firm
        "error: disk full; warning: max heap reached",
        "took 12 ms total",
        "Thank you for contacting Contoso Support.",
        "",
        "12345 67890",
    ],
)
def test_ignores(found, text: str) -> None:
    hits = found(text)
    # 'Tomomi' is a real first name in the firm sentence; nothing from the firm is found
    assert all(h == "Tomomi" for h in hits), hits


def test_ignores_street_and_city_words_inside_an_address(found) -> None:
    assert found("Gregory Kudryashov\n\n233 Victor Hugo u. 19.\n Suite 282\n Domoszló") == [
        "Gregory Kudryashov"
    ]


def test_scores() -> None:
    def score(text: str) -> float:
        (r,) = DET.find(text)
        return r.score

    assert score("Spoke with Anna Kowalska today") == 0.85  # first + listed surname
    assert score("Spoke with Kenji Zorblatt today") == 0.7  # first + capitalised
    assert score("Dear Mrs. Thistlewood, hello") == 0.6  # context only
    assert score("Unlike the Christiansen report") == 0.55  # single listed name


def test_result_shape() -> None:
    (r,) = DET.find("contact: Anna Kowalska")
    assert (r.entity_type, r.start, r.end) == ("PERSON", 9, 22)
    assert r.recognition_metadata["recognizer_name"] == "PersonNameDetector"
    assert r.analysis_explanation is not None


def test_analyze_respects_entities() -> None:
    assert DET.analyze("Anna Kowalska", ["EMAIL_ADDRESS"]) == []
    assert len(DET.analyze("Anna Kowalska", ["PERSON"])) == 1


@pytest.mark.parametrize(
    "value, positive",
    [
        ("Anna Kowalska", True),
        ("Kowalska, Anna", True),
        ("ANNA KOWALSKA", True),
        ("J. Smith", True),
        ("Kenji", True),
        ("Watanabe", True),
        ("kenji", True),
        ("Will", False),
        ("Started", False),
        ("ERROR", False),
        ("Windows", False),
        ("web01", False),
        ("Red", False),
        ("", False),
        ("the quick brown fox", False),
    ],
)
def test_match_value(value: str, positive: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is positive


def test_name_lists_are_package_data_with_provenance() -> None:
    first, last = gazetteers()
    assert len(first) > 20_000 and len(last) > 80_000
    # many cultures: Nordic, Slavic, Japanese, West African, Spanish, Dutch, Greek
    for name in ("ingrid", "olga", "kenji", "oluwafemi", "maría", "sven", "dimitrios"):
        assert name in first, name
    for name in ("lindqvist", "ivanova", "watanabe", "adeyemi", "garcía", "jansen", "papadopoulos"):
        assert name in last, name
    assert "kowalski" in last
    assert first["will"] == 2 and last["brown"] == 2  # marked as common English words
    assert "pleasures" in english_words() and "anna" not in english_words()
    data = ROOT / "schemas" / "data"
    for fn in ("first_names.txt", "last_names.txt", "english_words.txt"):
        head = (data / fn).read_text(encoding="utf-8").splitlines()[:2]
        assert head[0].startswith("# source:") and head[1].startswith("# licence:"), fn
    assert sum((data / fn).stat().st_size for fn in ("first_names.txt", "last_names.txt")) < 2e6


def test_find_on_a_200_char_log_line_is_fast() -> None:
    lines = [
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
        "Created MRAppMaster for application appattempt_1445144423722_0020_000001 on Node 7",
        "03-17 16:13:38.819  1702  8671 D PowerManagerService: acquire lock=233570404, "
        "flags=0x1, tag=\"View Lock\", name=com.android.systemui, ws=null, uid=10037, pid=2227",
        "Customer Anna Kowalska called about invoice 4471; spoke with Kenji Watanabe who "
        "escalated to Tier 2 Support. Will follow up on Monday with the Spark team lead.",
    ]
    texts = [(line * 2)[:200] + str(i) for i in range(300) for line in lines]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for t in texts:
            DET.find(t)
        best = min(best, (time.perf_counter() - t0) / len(texts))
    assert best < 1e-3, f"{best * 1e3:.3f} ms per 200-char line"


NEGATIVE_CONTROLS = ("HealthApp", "Android", "Windows", "Hadoop", "Spark")


@pytest.mark.parametrize("system", NEGATIVE_CONTROLS)
def test_negative_control_logs_have_almost_no_names(system: str) -> None:
    path = LOGHUB / system / f"{system}_2k.log"
    if not path.exists():
        pytest.skip(f"{path} not found (set TELESCRUB_SHARED)")
    with path.open(encoding="utf-8", errors="replace") as fh:
        lines = [next(fh, "") for _ in range(500)]
    hits = [line[r.start : r.end] for line in lines for r in DET.find(line)]
    assert len(hits) <= 2, hits


def test_works_inside_presidio_analyzer_engine() -> None:
    from telescrub.classifiers.detectors.street_address import StreetAddressDetector
    from telescrub.classifiers.text import build_analyzer

    engine = build_analyzer([PersonNameDetector(), StreetAddressDetector()])
    text = "Spoke with Anna Kowalska; she moved to 742 Evergreen Terrace, Springfield, OR 97477."
    got = {(r.entity_type, text[r.start : r.end])
           for r in engine.analyze(text, language="en", entities=["PERSON", "STREET_ADDRESS"])}
    assert got == {("PERSON", "Anna Kowalska"),
                   ("STREET_ADDRESS", "742 Evergreen Terrace, Springfield, OR 97477")}
