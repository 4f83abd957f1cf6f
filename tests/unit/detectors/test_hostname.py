"""HostnameDetector: FQDNs with a known TLD; never file, Java or config-key names."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.hostname import TLDS, HostnameDetector

DET = HostnameDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "rhost=dsl-Chn-static-059.45.101.203.touchtelindia.net  user=root",
            ["dsl-Chn-static-059.45.101.203.touchtelindia.net"],
        ),
        (
            "getaddrinfo for customer-187-141-143-180-sta.uninet-ide.com.mx [187.141.143.180]",
            ["customer-187-141-143-180-sta.uninet-ide.com.mx"],
        ),
        ("chrome.exe - proxy.cse.cuhk.edu.hk:5070 open", ["proxy.cse.cuhk.edu.hk"]),
        (
            "server: MSRA-SA-41.fareast.corp.microsoft.com:8030.",
            ["MSRA-SA-41.fareast.corp.microsoft.com"],
        ),
        ("see https://wiki.apache.org/hadoop/x", ["wiki.apache.org"]),
        ("ftp from biblioteka.wsi.edu.pl", ["biblioteka.wsi.edu.pl"]),
        (
            "ip-10-0-0-1.ec2.internal and WWW.EXAMPLE.COM",
            ["ip-10-0-0-1.ec2.internal", "WWW.EXAMPLE.COM"],
        ),
        ("resolved example.com.", ["example.com"]),
        ("mail.example.co.id and www.example.it", ["mail.example.co.id", "www.example.it"]),
        ("ruser= rhost=zummit.com  user=root", ["zummit.com"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "combo sshd[123]: LabSZ",  # single labels need field context
        "workerEnv.init() ok /etc/httpd/conf/workers2.properties",
        "see foo.log, setup.py, lib.so, Makefile.in, config.h.in, x.tar.gz, run.sh",
        "at java.lang.Thread.run(Thread.java:745) java.io",
        "com.apple.cts[258]: com.apple.suggestions.harvest",
        "org.apache.hadoop.ipc.Client: Retrying",
        "android.intent.action.SCREEN_ON",
        "nova.osapi_compute.wsgi.server",
        "log.info(msg) self.name",
        "/usr/share/x.de and ~/x.de",
        "done.It is over",
        "mapred.task.id is deprecated. Instead, use mapreduce.task.attempt.id",
        "ipc.client.connect.timeout.ms=20000",
        "release 1.2.3.4 and 10.0.0.1",
        "%40163.com",  # URL-encoded '@' glued to the name
        "Foo.Bar",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_three_labels_score_higher_than_two() -> None:
    (three,) = DET.find("www.example.de")
    (two,) = DET.find("example.de")
    assert three.score > two.score >= 0.5


def test_tld_list_has_country_codes_and_generics() -> None:
    assert {"de", "uk", "cn", "br", "com", "net", "org", "edu", "internal"} <= TLDS
    assert not {"log", "txt", "java", "exe", "properties"} & TLDS


@pytest.mark.parametrize(
    "value, matches",
    [
        ("host8.topspot.net", True),
        ("example.com", True),
        ("https://example.com/", False),
        ("settings.json", False),
        ("localhost", False),
    ],
)
def test_match_value(value: str, matches: bool) -> None:
    assert (DET.match_value(value) >= 0.5) is matches
