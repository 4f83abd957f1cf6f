"""StreetAddressDetector: international street addresses with their following lines."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from telescrub.classifiers.detectors.street_address import StreetAddressDetector

DET = StreetAddressDetector()
ROOT = Path(__file__).resolve().parents[3]
LOGHUB = Path(os.environ.get("TELESCRUB_SHARED", ROOT.parent / "shared")) / "corpora" / "loghub"


@pytest.mark.parametrize(
    "text, expected",
    [
        # number + name + street type, with city / state / postal code
        ("she lives at 12 Baker Street, London NW1 6XE.", ["12 Baker Street, London NW1 6XE"]),
        ("moved to 742 Evergreen Terrace, Springfield, OR 97477.",
         ["742 Evergreen Terrace, Springfield, OR 97477"]),
        ("Ship to 1600 Amphitheatre Pkwy, Mountain View, CA 94043-1351 asap",
         ["1600 Amphitheatre Pkwy, Mountain View, CA 94043-1351"]),
        ("office at 350 Fifth Ave Suite 3400 New York NY 10118",
         ["350 Fifth Ave Suite 3400 New York NY 10118"]),
        ("Deliver to 221B Baker St. please", ["221B Baker St."]),
        ("it is at 4 Privet Drive, Little Whinging", ["4 Privet Drive, Little Whinging"]),
        # multi-line, quoted lines, unit lines
        ("Address:\n1234 Elm Road\nApt. 5\nSpringfield\nIL 62704\nPhone: 555-0100",
         ["1234 Elm Road\nApt. 5\nSpringfield\nIL 62704"]),
        ("> Anna Kowalska\n> 77 Crown Lane\n> Suite 12\n> Leeds\n> United Kingdom LS1 4AP",
         ["77 Crown Lane\n> Suite 12\n> Leeds\n> United Kingdom LS1 4AP"]),
        # European: number after the street, one-word compounds, type words first
        ("Bitte an Hauptstraße 5, 10115 Berlin senden", ["Hauptstraße 5, 10115 Berlin"]),
        ("Toimitus: Koskikatu 25, 96100 Rovaniemi", ["Koskikatu 25, 96100 Rovaniemi"]),
        ("Adress: Nybyvägen 65, 123 45 Stockholm", ["Nybyvägen 65, 123 45 Stockholm"]),
        ("bezorgen op Keizersgracht 123, 1015 CJ Amsterdam",
         ["Keizersgracht 123, 1015 CJ Amsterdam"]),
        ("Levering: Mellemvej 32, 9000 Aalborg", ["Mellemvej 32, 9000 Aalborg"]),
        ("The bus station is on Villacher Strasse 89", ["Villacher Strasse 89"]),
        ("Please send the invoice to Via Roma 10, 00184 Roma RM, Italy.",
         ["Via Roma 10, 00184 Roma RM, Italy"]),
        ("The driver could not find Calle Mayor 15, 28013 Madrid.",
         ["Calle Mayor 15, 28013 Madrid"]),
        ("Envie para Rua Augusta 1500, São Paulo", ["Rua Augusta 1500, São Paulo"]),
        ("Livraison au 20 rue de la Paix, 75002 Paris", ["20 rue de la Paix, 75002 Paris"]),
        ("Adres: ul. Marszałkowska 94, 00-514 Warszawa", ["ul. Marszałkowska 94, 00-514 Warszawa"]),
        ("Cím: Rákóczi út 66., Budapest", ["Rákóczi út 66., Budapest"]),
        # P.O. boxes and US military addresses
        ("Mail it to P.O. Box 242, Juneau, AK 99801", ["P.O. Box 242, Juneau, AK 99801"]),
        ("PSC 1234, Box 5678\nAPO AE 09012", ["PSC 1234, Box 5678\nAPO AE 09012"]),
        ("sent to USNS Vincent\nFPO AP 96601 today", ["USNS Vincent\nFPO AP 96601"]),
        # intersections
        ("Meet at the corner of Main Street and 5th Avenue tonight",
         ["the corner of Main Street and 5th Avenue"]),
        # a bare 'name number' only with an address cue
        ("My new address is Rahu 37, Tallinn", ["Rahu 37, Tallinn"]),
        # all-lower-case text is read through a title-cased copy
        ("please ship to 12 baker street, london", ["12 baker street, london"]),
        # ... without a cue only with a unit and a postal-code line
        ("user: 41 pinewood 210 apt. 7\nlakeside, ks 66044",
         ["41 pinewood 210 apt. 7\nlakeside, ks 66044"]),
        ("the corner of main street and oak avenue", ["the corner of main street and oak avenue"]),
        # Spanish 'C/' (calle) before the name
        ("Vivo en C/ Mayor Alta 12, Madrid", ["C/ Mayor Alta 12, Madrid"]),
        # a spelled-out street type after a place preposition, without a number
        ("the early shows on Cowley Road were loud", ["Cowley Road"]),
        ("a house along Berg Hills Street", ["Berg Hills Street"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I have 3 Apple devices and Windows 10 Pro on my laptop.",
        "The customer upgraded to Office 365 last week and Teams 2 keeps crashing.",
        "We flew via Terminal 3 to Gate 12 and waited in Room 101.",
        "Meet me at 5 pm tomorrow, I will call you at 9.",
        "The error occurred on line 42 in module Payment Service.",
        "Version 2.4.1 Release Notes: Bug Fixes and Performance Improvements",
        "Set max heap to 4096 MB for the Spark Executor on Node 7.",
        "Order 55 Items shipped with UPS Ground, tracking 1Z999.",
        "May 12 10:00:01 host sshd[123]: Accepted password for root from 10.0.0.1 port 22",
        "[10.30 16:49:06] chrome.exe - proxy.example.edu:5070 close, 403 bytes sent, 426 bytes received",
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created",
        "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs",
        "Java 8 and Python 3 are installed; St. Louis office closed.",
        "Thank you for contacting Contoso Support. Your case number is 123456.",
        "Rahu 37",  # no cue, no unit, no following address line
        "backed up on Google Drive and on Main St",  # 'Drive' and abbreviations need a number
        "the road ahead on Road Runner",
        "12 mp 97477 user 3",  # a one-case text without a unit
        "",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_scores_and_shape() -> None:
    (r,) = DET.find("lives at 12 Baker Street")
    assert (r.entity_type, r.score) == ("STREET_ADDRESS", 0.85)
    assert r.recognition_metadata["recognizer_name"] == "StreetAddressDetector"
    (weak,) = DET.find("My new address is Rahu 37")
    assert 0.5 <= weak.score < 0.85
    assert DET.analyze("12 Baker Street", ["PERSON"]) == []


def test_match_value_whole_address() -> None:
    assert DET.match_value("12 Baker Street, London NW1 6XE") == 0.85
    assert DET.match_value("Hauptstraße 5") == 0.85
    assert DET.match_value("12") == 0.0
    assert DET.match_value("Windows 10") == 0.0


def test_find_on_a_200_char_log_line_is_fast() -> None:
    lines = [
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
        "Created MRAppMaster for application appattempt_1445144423722_0020_000001 on Node 7",
        "2016-09-28 04:30:31, Info CSI 00000001@2016/9/27:20:30:31.455 WcpInitialize (wcp.dll "
        "version 0.0.0.6) called (stack @0x7fed806eb5d @0x7fef9fb9b6d @0x7fef9f8358f)",
        "17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn,curi; "
        "Remoting started; listening on addresses :[akka.tcp://sparkExecutor@mesos-slave-07:55904]",
    ]
    texts = [(line * 2)[:200] + str(i) for i in range(300) for line in lines]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for t in texts:
            DET.find(t)
        best = min(best, (time.perf_counter() - t0) / len(texts))
    assert best < 1e-3, f"{best * 1e3:.3f} ms per 200-char line"


@pytest.mark.parametrize("system", ("HealthApp", "Android", "Windows", "Hadoop", "Spark", "Proxifier"))
def test_logs_hold_no_addresses(system: str) -> None:
    path = LOGHUB / system / f"{system}_2k.log"
    if not path.exists():
        pytest.skip(f"{path} not found (set TELESCRUB_SHARED)")
    with path.open(encoding="utf-8", errors="replace") as fh:
        lines = [next(fh, "") for _ in range(500)]
    hits = [line[r.start : r.end] for line in lines for r in DET.find(line)]
    assert len(hits) <= 1, hits
