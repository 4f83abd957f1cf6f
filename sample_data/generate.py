#!/usr/bin/env python3
"""Generate telescrub's sample inputs and their ground truth (deterministic, stdlib only).

    python sample_data/generate.py [--out DIR]      (default DIR: this folder)

Everything is made up, modelled on the Microsoft data-handling pages in shared/seeds
(Skype for Business telemetry, Microsoft 365 support cases, a Teams chat app, Intune billing)
plus two plain-text logs. A fixed seed makes every byte reproducible (the gzip file is written
with mtime=0 and no file name in its header).

Files written (the stem is the table name):

  skype_telemetry.jsonl     census / usage / error events mixed ("eventType"), nested objects and
                            a "devices" array; one truncated JSON line and one line holding
                            invalid UTF-8 (a Latin-1 encoded name) are planted on purpose
  m365_support_cases.jsonl  support cases with free-text "caseNotes"
  teams_chat_roster.csv     chat roster (LF line ends, RFC 4180 quoting)
  teams_chat_log.jsonl.gz   chat messages (gzip only; there is no plain copy)
  intune_billing.csv        admin / billing export (CRLF line ends); one row has an unquoted
                            comma in its address, hence one column too many
  web_access.log            combined-log-format lines + a quoted cookie header
  auth_syslog.log           RFC 3164 syslog lines from sshd / sudo / CRON / systemd-logind
  empty_export.jsonl        zero bytes
  truth.json                every planted sensitive value, in the shared corpora truth format

Every value listed in truth.json was checked, while writing, to occur as a whole token in the
line it was planted in (the same token rules as shared/tools/leakcheck.py), so the truth cannot
name a value the data does not hold.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import ipaddress
import json
import random
import re
import string
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

SEED = 20261124
START = datetime(2026, 11, 22, tzinfo=timezone.utc)   # 5 days: 2026-11-22 .. 2026-11-26
DAYS = 5

CORPUS = "telescrub_sample"
INPUTS = [
    "skype_telemetry.jsonl",
    "m365_support_cases.jsonl",
    "teams_chat_roster.csv",
    "teams_chat_log.jsonl.gz",
    "intune_billing.csv",
    "web_access.log",
    "auth_syslog.log",
    "empty_export.jsonl",
]

# ------------------------------------------------------------------ token matching
# Same rules as shared/tools/leakcheck.py: whole tokens; some types case-insensitive;
# IPv4 bounded by "not a digit or a dot".
CASE_INSENSITIVE_TYPES = {
    "email", "upn", "hostname", "domain", "sip_uri", "ipv6", "guid", "user_id", "device_id",
    "session_id", "tenant_id", "mac_address", "url",
}
IPV4_TYPES = {"ipv4"}


def occurs(typ: str, value: str, text: str) -> bool:
    """True when value occurs in text as a whole token (leakcheck's rules)."""
    if typ in IPV4_TYPES:
        left, right = r"(?<![0-9.])", r"(?![0-9]|\.[0-9])"
    else:
        left, right = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"
    flags = re.IGNORECASE if typ in CASE_INSENSITIVE_TYPES else 0
    return re.search(left + re.escape(value) + right, text, flags) is not None


class Rec:
    """Collects the sensitive values planted in one record while it is being built."""

    def __init__(self) -> None:
        self.planted: list[tuple[str, str, str]] = []

    def v(self, typ: str, value: str) -> str:
        self.planted.append(("values", typ, value))
        return value

    def w(self, typ: str, value: str) -> str:
        if typ not in UNLISTED:
            self.planted.append(("weak_values", typ, value))
        return value


#: planted but deliberately not listed in truth.json (leakcheck matches whole tokens, so
#: short numbers would "survive" inside unrelated counters and PIDs):
UNLISTED = {
    "tenant_id": "tenant GUIDs are OII, kept by the default policy on purpose (DESIGN §1)",
    "card_security_code": "always dropped; checked by the end-to-end test on the column itself",
    "postal_code": "5-digit codes collide with PIDs and counters as whole tokens",
}


class Truth:
    def __init__(self) -> None:
        self.groups: dict[str, dict[str, set[str]]] = {
            "values": defaultdict(set), "weak_values": defaultdict(set)}

    def commit(self, rec: Rec, text: str, *, damaged: bool = False) -> None:
        """Record rec's values that occur in the written text. In an intact record every planted
        value must be there (else it is a generator bug); in a damaged one (truncated, bad bytes)
        only the ones that survived the damage are recorded."""
        for group, typ, value in rec.planted:
            if occurs(typ, value, text):
                self.groups[group][typ].add(value)
            elif not damaged:
                raise AssertionError(f"planted {typ} {value!r} not found as a token in {text!r}")

    def as_json(self) -> dict:
        vals = {t: sorted(s) for t, s in sorted(self.groups["values"].items())}
        weak = {t: sorted(s) for t, s in sorted(self.groups["weak_values"].items())}
        return {
            "corpus": CORPUS,
            "description": "telescrub sample_data: made-up Skype-for-Business telemetry, Microsoft 365 "
                           "support cases, a Teams chat roster and log, an Intune billing export, a web "
                           "access log and an sshd/pam syslog, modelled on shared/seeds",
            "inputs": list(INPUTS),
            "approximate": False,
            "method": "planted by sample_data/generate.py",
            "notes": (
                "Exact: every value was planted by the generator and checked to occur as a whole token. "
                "person_name holds full names as written (also 'Last, First' and upper-case surnames) and "
                "first/last names as they stand alone (roster columns, text). email includes the "
                "URL-encoded forms found in query strings (name%40domain). user_id holds client-hashed "
                "SHA-256 ids and user GUIDs; session_id holds session GUIDs, SessID and MUID cookies; "
                "thread_id holds chat thread ids. Not listed on purpose (kept by policy or not "
                "identifying): service server names, app/OS names and versions, error codes, "
                "correlation ids, federation partner domains and e-mail domains alone; tenant GUIDs (OII, kept "
                "by the default policy), card security codes (always dropped; the end-to-end test "
                "checks the column is gone) and postal codes (short numbers that collide with PIDs "
                "and counters as whole tokens). Weak: built-in/generic account names. Damaged "
                "records (a truncated JSON line, a line with invalid UTF-8, a CSV row with an extra "
                "column) list only what survives in their raw bytes (decoded with errors='replace'). "
                "teams_chat_log.jsonl.gz is gzip: leakcheck does not read it."),
            "counts": {"values": {t: len(v) for t, v in vals.items()},
                       "weak_values": {t: len(v) for t, v in weak.items()}},
            "values": vals,
            "weak_values": weak,
            "dropped_unmatched": {},
        }


# ------------------------------------------------------------------ static vocabularies
# (first, last, phone country). First names that are also English words are avoided on purpose.
PEOPLE = [
    ("Anna", "Kowalska", "US"), ("Łukasz", "Wiśniewski", "DE"), ("Priya", "Raghunathan", "US"),
    ("Arjun", "Mehta", "UK"), ("Oluwaseun", "Adeyemi", "UK"), ("Chiamaka", "Okafor", "US"),
    ("Kenji", "Tanaka", "US"), ("Haruka", "Yamamoto", "AU"), ("Seoyeon", "Hwang", "US"),
    ("Weiming", "Chen", "US"), ("Xiaoling", "Huang", "AU"), ("Thanh", "Nguyen", "AU"),
    ("Mateus", "Carvalho", "US"), ("Beatriz", "Albuquerque", "FR"), ("Sofía", "Hernández", "US"),
    ("Alejandro", "Castillo", "US"), ("Valentina", "Rossi", "FR"), ("Giovanni", "Esposito", "DE"),
    ("Søren", "Mikkelsen", "DE"), ("Ingrid", "Halvorsen", "UK"), ("Aino", "Virtanen", "DE"),
    ("Matti", "Korhonen", "DE"), ("Fatima", "Al-Mansouri", "UK"), ("Yusuf", "Demir", "DE"),
    ("Elif", "Yılmaz", "DE"), ("Dmitri", "Volkov", "UK"), ("Svetlana", "Ivanova", "FR"),
    ("Olena", "Shevchenko", "DE"), ("Tomasz", "Nowak", "UK"), ("Zoë", "van Dijk", "FR"),
    ("Pieter", "de Vries", "DE"), ("Lars", "Johansson", "UK"), ("Astrid", "Lindqvist", "DE"),
    ("Siobhán", "O'Connor", "UK"), ("Declan", "Byrne", "UK"), ("Amara", "Nwosu", "US"),
    ("Kwame", "Mensah", "UK"), ("Abena", "Owusu", "US"), ("Tendai", "Moyo", "AU"),
    ("Thandiwe", "Dlamini", "UK"), ("Rahul", "Venkataraman", "US"), ("Deepika", "Chatterjee", "UK"),
    ("Ayesha", "Siddiqui", "UK"), ("Imran", "Qureshi", "US"), ("Farhad", "Karimi", "DE"),
    ("Leila", "Moradi", "FR"), ("Yael", "Ben-David", "US"), ("Camille", "Laurent", "FR"),
    ("Théo", "Marchand", "FR"), ("Élodie", "Moreau", "FR"), ("Jonas", "Schneider", "DE"),
    ("Friederike", "Hoffmann", "DE"), ("Matthias", "Bauer", "DE"), ("Katarzyna", "Zielińska", "DE"),
    ("Ngozi", "Chukwu", "UK"), ("Hiroshi", "Watanabe", "US"), ("Aroha", "Ngata", "AU"),
    ("Keoni", "Kahananui", "US"), ("Bogdan", "Popescu", "DE"), ("Ioana", "Dumitrescu", "FR"),
    ("Nikos", "Papadopoulos", "UK"), ("Eleni", "Georgiou", "UK"), ("Lucía", "Fernández", "FR"),
    ("João", "Pereira", "FR"), ("Inês", "Sousa", "FR"), ("Jamal", "Whitfield", "US"),
    ("Emily", "Hargreaves", "UK"), ("Olivia", "Pemberton", "US"), ("Aditi", "Kulkarni", "US"),
    ("Sipho", "Ndlovu", "AU"), ("Mariam", "Haddad", "FR"), ("Tariq", "Rahman", "UK"),
]
# Microsoft support engineers who sign case notes (names only, not in the roster)
ENGINEERS = [("Ravindra", "Deshpande"), ("Márta", "Kovács"), ("Guillermo", "Ibarra"),
             ("Annika", "Sjöberg"), ("Obinna", "Eze-Okonkwo"), ("Hyejin", "Seong")]

TENANTS = [  # (e-mail domain, short name, display name)
    ("contoso.com", "contoso", "Contoso"), ("fabrikam.com", "fabrikam", "Fabrikam"),
    ("northwind.example", "northwind", "Northwind Traders"), ("adatum.com", "adatum", "Adatum"),
    ("woodgrovebank.com", "woodgrove", "Woodgrove Bank"), ("tailspintoys.com", "tailspin", "Tailspin Toys"),
]
PARTNER_DOMAINS = ["microsoft.com", "fabrikam.com", "litware.com", "proseware.com", "adventure-works.com"]
DEPARTMENTS = ["Engineering", "Finance", "Legal", "Sales", "Marketing", "IT Operations",
               "Customer Success", "Human Resources", "Procurement", "Research"]
UI_LANGUAGES = ["en-US", "en-GB", "fr-FR", "de-DE", "ja-JP", "pl-PL", "pt-BR", "es-MX", "nl-NL", "it-IT"]
DESKTOPS = [("Surface Laptop 6", "Windows", "10.0.26100"), ("Dell Latitude 7450", "Windows", "10.0.22631"),
            ("Lenovo ThinkPad T14s Gen 5", "Windows", "10.0.26100"), ("HP EliteBook 840 G11", "Windows", "10.0.22631"),
            ("MacBook Air 13-inch M3", "macOS", "15.1.1"), ("MacBook Pro 14-inch M4", "macOS", "15.1")]
MOBILES = [("iPhone 16", "iOS", "18.1.1"), ("iPhone 15 Pro", "iOS", "18.0.1"), ("Pixel 9", "Android", "15"),
           ("Galaxy S24", "Android", "14"), ("iPad Air 11-inch", "iPadOS", "18.1")]
APPS = {"Windows": ("Skype for Business", "16.0.18129.20158"), "macOS": ("Skype for Business for Mac", "16.29.37"),
        "iOS": ("Skype for Business for iPhone", "6.33.1"), "iPadOS": ("Skype for Business for iPad", "6.33.1"),
        "Android": ("Skype for Business for Android", "6.32.4")}
SERVERS = ["EXCH-PRD-EU-042.prod.outlook.com", "EXCH-PRD-NA-117.prod.outlook.com", "SPO-PRD-WE-008.sharepoint.com",
           "TEAMS-MT-EUN-03.teams.microsoft.com", "AAD-STS-WUS2-21.login.microsoftonline.com",
           "EXCH-PRD-APAC-009.prod.outlook.com"]
CASE_ISSUES = [
    ("Outlook keeps prompting for credentials after the MFA rollout", "AADSTS50076", "15.20.8158.021"),
    ("Mailbox migration batch stuck at 95 percent", "MigrationTransientException", "15.20.8132.014"),
    ("Shared mailbox not visible in Outlook on the web", "MapiExceptionNotFound", "15.20.8158.021"),
    ("SharePoint site returns 403 for external guests", "0x80070005", "16.0.25402.12007"),
    ("Teams meetings drop audio after 30 minutes", "CallEndReason-1100", "1.7.00.33761"),
    ("Cannot assign E5 licences: usage location missing", "LicenseAssignmentFailed", "2.0.1342"),
    ("Mail flow delayed to partner domain", "550 5.7.708", "15.20.8158.021"),
    ("OneDrive sync client stuck on processing changes", "0x8004de40", "24.226.1110.0004"),
]
ERROR_CODES = ["0x80ee0000", "0x8007274C", "0xC3E93C19", "0x80072EE2", "0x80190193"]
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18129; Pro)",
]
SCANNER_UAS = ["python-requests/2.32.3", "curl/8.5.0", "Mozilla/5.0 zgrab/0.x", "Go-http-client/1.1"]
CITIES = [  # (city, postal code template, country, street style)
    ("Redmond", "980{d2}", "US", "us"), ("Seattle", "981{d2}", "US", "us"), ("Chicago", "606{d2}", "US", "us"),
    ("Austin", "787{d2}", "US", "us"), ("London", "EC{d1}A {d1}XY", "GB", "uk"),
    ("Manchester", "M{d1} {d1}AB", "GB", "uk"), ("Lyon", "6900{d1}", "FR", "fr"),
    ("Bordeaux", "3300{d1}", "FR", "fr"), ("Berlin", "101{d2}", "DE", "de"), ("Hamburg", "203{d2}", "DE", "de"),
    ("Madrid", "280{d2}", "ES", "es"), ("Dublin", "D0{d1} X{d1}Y{d1}", "IE", "uk"),
    ("Toronto", "M5V {d1}K{d1}", "CA", "us"), ("Melbourne", "30{d2}", "AU", "us"),
]
STREETS = {
    "us": ["Lakeview Drive", "NE 36th Street", "Harbor Boulevard", "Cedar Ridge Road", "Old Mill Lane",
           "Pinecrest Avenue", "Westlake Parkway", "Orchard Court"],
    "uk": ["Kingsmead Road", "Holloway Crescent", "Ashbourne Gardens", "Wharfside Street", "Elmstead Close"],
    "fr": ["rue des Acacias", "avenue Jean-Jaurès", "boulevard Voltaire", "rue de la République",
           "quai Saint-Vincent"],
    "de": ["Hauptstraße", "Lindenallee", "Schillerstraße", "Am Mühlenteich", "Bergmannstraße"],
    "es": ["Calle de Alcalá", "Calle de Serrano", "Paseo de la Castellana", "Calle Mayor"],
}
GENERIC_SSH_USERS = ["root", "admin", "test", "oracle", "ubuntu", "postgres", "git", "guest",
                     "ftpuser", "deploy", "pi", "support", "nagios", "jenkins", "ansible", "backup"]
SYSLOG_HOSTS = ["bastion-01", "web-eu-3", "auth-gw-2", "build-ci-7"]
ISP_SUFFIXES = ["dyn.broadband.example.net", "static.fibre.example.org", "cust.dsl.example.com",
                "rev.cloudhost.example.net"]


# ------------------------------------------------------------------ helpers
FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ı": "i", "ß": "ss", "æ": "ae", "á": "a",
                      "é": "e", "í": "i", "ó": "o", "ú": "u", "ë": "e", "ê": "e", "ã": "a", "ç": "c",
                      "ś": "s", "ń": "n", "É": "E", "ö": "o", "Ö": "O"})


def fold(s: str) -> str:
    """ASCII form of a name for e-mail local parts and user names."""
    return "".join(ch for ch in s.translate(FOLD).lower() if ch.isalnum() or ch in ".-")


def rand_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rand_str(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:          # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iso_z(ts: datetime, millis: bool = True) -> str:
    if millis:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def rand_ts(rng: random.Random, start: datetime = START, days: int = DAYS) -> datetime:
    return start + timedelta(seconds=rng.randrange(days * 86400), milliseconds=rng.randrange(1000))


class Person:
    def __init__(self, rng: random.Random, first: str, last: str, country: str,
                 used_ips: set[str], used_phones: set[str]) -> None:
        self.first, self.last, self.country = first, last, country
        self.tenant = rng.choice(TENANTS)
        domain, short, _ = self.tenant
        lf, ll = fold(first), fold(last)
        style = rng.random()
        local = f"{lf}.{ll}" if style < 0.7 else (f"{lf[0]}{ll}" if style < 0.9 else f"{lf}_{ll}")
        self.email = f"{local}@{domain}"
        self.upn = f"{lf}.{ll}@{short}.onmicrosoft.com"
        self.sip = f"sip:{self.email}"
        self.username = re.sub(r"[^a-z]", "", lf[0] + ll)
        self.user_guid = rand_guid(rng)
        self.hashed_id = hashlib.sha256(("skype-client:" + self.upn.lower()).encode()).hexdigest()
        self.devices = [(rand_guid(rng), "desktop", rng.choice(DESKTOPS))]
        if rng.random() < 0.7:
            self.devices.append((rand_guid(rng), "mobile", rng.choice(MOBILES)))
        self.ui_language = rng.choice(UI_LANGUAGES)
        self.ipv4 = new_ipv4(rng, used_ips)
        self.ipv6 = new_ipv6(rng, used_ips) if rng.random() < 0.4 else None
        r = rng.random()
        if r < 0.4:
            self.computer = "DESKTOP-" + rand_str(rng, 7, string.ascii_uppercase + string.digits)
        elif r < 0.7:
            self.computer = "LAPTOP-" + rand_str(rng, 8, string.ascii_uppercase + string.digits)
        else:
            self.computer = f"{short.upper()}-LT-{rng.randrange(1, 9999):04d}"
        self.muid = uuid.UUID(int=rng.getrandbits(128)).hex.upper()
        self.phone_digits = new_phone(rng, country, used_phones)
        self.department = rng.choice(DEPARTMENTS)
        self.joined = date(2019, 1, 1) + timedelta(days=rng.randrange(2100))
        dn = rng.random()
        self.display_style = "full" if dn < 0.75 else ("last_first" if dn < 0.9 else "org")

    # --- name forms, each marked in the record that writes it
    def full(self, rec: Rec) -> str:
        rec.v("person_name", self.first)
        rec.v("person_name", self.last)
        return rec.v("person_name", f"{self.first} {self.last}")

    def display(self, rec: Rec) -> str:
        rec.v("person_name", self.first)
        rec.v("person_name", self.last)
        if self.display_style == "last_first":
            return rec.v("person_name", f"{self.last}, {self.first}")
        name = rec.v("person_name", f"{self.first} {self.last}")
        return f"{name} ({self.tenant[2]})" if self.display_style == "org" else name

    def name_in_text(self, rec: Rec, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.6:
            return self.full(rec)
        if r < 0.75:
            return rec.v("person_name", self.first)
        if r < 0.9:
            rec.v("person_name", self.first)
            rec.v("person_name", self.last)
            return rec.v("person_name", f"{self.last}, {self.first}")
        rec.v("person_name", self.first)
        rec.v("person_name", self.last.upper())
        return rec.v("person_name", f"{self.last.upper()} {self.first}")

    def phone(self, rec: Rec, rng: random.Random) -> str:
        return rec.v("phone", format_phone(self.country, self.phone_digits, rng))

    def ip(self, rec: Rec, rng: random.Random, v6_share: float = 0.5) -> str:
        if self.ipv6 and rng.random() < v6_share:
            return rec.v("ipv6", self.ipv6)
        return rec.v("ipv4", self.ipv4)


DOC_NETS = ["192.0.2", "198.51.100", "203.0.113"]
PUBLIC_FIRST_OCTETS = [31, 37, 46, 62, 77, 81, 84, 89, 91, 94, 109, 128, 141, 145, 151, 176, 178, 185,
                       188, 193, 195, 212, 213, 217, 24, 47, 68, 71, 73, 98, 99, 108, 174]


def new_ipv4(rng: random.Random, used: set[str], public: bool | None = None) -> str:
    while True:
        if public is None:
            pub = rng.random() < 0.5
        else:
            pub = public
        if pub:
            ip = f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randrange(1, 255)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"
        else:
            ip = f"{rng.choice(DOC_NETS)}.{rng.randrange(2, 254)}"
        if ip not in used:
            used.add(ip)
            return ip


def new_ipv6(rng: random.Random, used: set[str]) -> str:
    while True:
        if rng.random() < 0.5:
            net = f"2001:db8:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}"
        else:
            net = f"{rng.choice(['2a02', '2a01', '2600', '2804', '2405'])}:{rng.randrange(0x100, 0x10000):x}:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}"
        iid = ":".join(f"{rng.randrange(0x10000):x}" for _ in range(4)) if rng.random() < 0.6 \
            else f"0:0:0:{rng.randrange(1, 0x100):x}"
        ip = str(ipaddress.IPv6Address(f"{net}:{iid}"))
        if ip not in used:
            used.add(ip)
            return ip


def new_phone(rng: random.Random, country: str, used: set[str]) -> str:
    """National significant digits from ranges reserved for fiction where a country has one."""
    while True:
        if country == "US":
            d = rng.choice(["425", "206", "312", "646", "512", "303"]) + "555" + f"01{rng.randrange(100):02d}"
        elif country == "UK":
            d = "207946" + f"0{rng.randrange(1000):03d}"
        elif country == "FR":
            d = "19900" + f"{rng.randrange(10000):04d}"
        elif country == "DE":
            d = "3023125" + f"{rng.randrange(1000):03d}"
        else:  # AU
            d = "491570" + f"{rng.randrange(150, 160):03d}"
        if d not in used:
            used.add(d)
            return d


def format_phone(country: str, d: str, rng: random.Random) -> str:
    if country == "US":
        a, b, c = d[:3], d[3:6], d[6:]
        fmts = [f"+1 {a} {b} {c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1-{a}-{b}-{c}", f"{a}-{b}-{c}",
                f"+1{a}{b}{c}"]
    elif country == "UK":
        a, b, c = d[:2], d[2:6], d[6:]
        fmts = [f"+44 {a} {b} {c}", f"0{a} {b} {c}", f"+44 (0){a} {b} {c}", f"+44{d}"]
    elif country == "FR":
        p = [d[0], d[1:3], d[3:5], d[5:7], d[7:9]]
        fmts = ["+33 " + " ".join(p), "0" + " ".join(p), "0" + ".".join(p), "+33" + d]
    elif country == "DE":
        a, b, c = d[:2], d[2:7], d[7:]
        fmts = [f"+49 {a} {b} {c}", f"0{a} {b}{c}", f"+49 (0){a} {b} {c}", f"0{a}/{b}{c}"]
    else:
        a, b, c = d[:3], d[3:6], d[6:]
        fmts = [f"+61 {a} {b} {c}", f"0{a} {b} {c}", f"+61{d}"]
    return rng.choice(fmts)


# ------------------------------------------------------------------ world
class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_ips: set[str] = set()
        used_phones: set[str] = set()
        self.tenant_guid = {t[1]: rand_guid(rng) for t in TENANTS}
        self.people = [Person(rng, f, ln, c, self.used_ips, used_phones) for f, ln, c in PEOPLE]
        self.engineers = ENGINEERS
        # shell users: a subset of people who log in to the Linux hosts
        self.shell_users = rng.sample(self.people, 14)
        self.attacker_ips = [new_ipv4(rng, self.used_ips, public=True) for _ in range(18)]

    def person(self) -> Person:
        return self.rng.choice(self.people)

    def tenant_of(self, p: Person) -> str:
        return self.tenant_guid[p.tenant[1]]


def encode_line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


# ------------------------------------------------------------------ 1. Skype telemetry
def skype_error_message(p: Person, rec: Rec, rng: random.Random, partner: str) -> tuple[str, str]:
    """(errorMessage, clientIp) for an error event."""
    ip = p.ip(rec, rng)
    ip_txt = f"[{ip}]" if ":" in ip else ip
    sip = rec.v("sip_uri", p.sip)
    name = p.full(rec)
    k = rng.randrange(7)
    if k == 0:
        msg = f"Registration failed for {sip} from {ip_txt}: 401 Unauthorized (user {name})"
    elif k == 1:
        msg = (f"SIP/2.0 408 Request Timeout: INVITE {sip} from client {ip_txt} timed out after "
               f"32000 ms; caller display name \"{name}\"")
    elif k == 2:
        msg = f"TLS handshake with {ip_txt} failed for {name} <{sip}>: certificate revoked"
    elif k == 3:
        msg = (f"Federated call from {sip} ({name}) to partner {partner} rejected: 403 Forbidden; "
               f"client address {ip_txt}")
    elif k == 4:
        host = rec.v("hostname", p.computer)
        msg = (f"Media relay allocation failed for {name} on {host} ({ip_txt}); {sip}; "
               f"ms-diagnostics: 52001;reason=\"Client side general processing error.\"")
    elif k == 5:
        msg = f"Presence subscription for {sip} dropped: {name} signed in from {ip_txt} on another endpoint"
    else:
        host = rec.v("hostname", p.computer)
        msg = f"Sign-in loop detected for {name} ({sip}) from {ip_txt} [workstation {host}], code {rng.choice(ERROR_CODES)}"
    return msg, ip


def skype_event(w: World, kind: str, ts: datetime) -> tuple[dict, Rec]:
    rng = w.rng
    p = w.person()
    rec = Rec()
    ev: dict = {"eventType": kind, "timestamp": iso_z(ts)}
    if kind == "census":
        dev_id, _, (model, os_name, os_ver) = rng.choice(p.devices)
        app, ver = APPS[os_name]
        ev["app"] = {"name": app, "version": ver}
        ev["device"] = {"model": model, "os": {"name": os_name, "version": os_ver},
                        "id": rec.v("device_id", dev_id)}
        ev["uiLanguage"] = p.ui_language
        ev["user"] = {"id": rec.v("user_id", p.hashed_id)}
        ev["tenant"] = {"id": rec.w("tenant_id", w.tenant_of(p))}
    elif kind == "usage":
        ev["counters"] = {"imsSent": rng.randrange(0, 140), "meetingsJoined": rng.randrange(0, 9),
                          "callMinutes": round(rng.uniform(0, 240), 1)}
        ev["user"] = {"id": rec.v("user_id", p.hashed_id)}
        ev["session"] = {"id": rec.v("session_id", rand_guid(rng))}
    else:
        partner = rng.choice(PARTNER_DOMAINS)
        msg, ip = skype_error_message(p, rec, rng, partner)
        ev["clientIp"] = ip
        ev["sipUri"] = p.sip
        ev["user"] = {"name": f"{p.first} {p.last}"}
        ev["errorMessage"] = msg
        ev["federation"] = {"partnerDomain": partner}
        ev["devices"] = [{"id": rec.v("device_id", d), "kind": k} for d, k, _ in p.devices]
    return ev, rec


def gen_skype(w: World, truth: Truth) -> tuple[bytes, int]:
    rng = w.rng
    kinds = ["census"] * 70 + ["usage"] * 80 + ["error"] * 48
    rng.shuffle(kinds)
    stamps = sorted(rand_ts(rng) for _ in kinds)
    events = [skype_event(w, k, ts) for k, ts in zip(kinds, stamps, strict=True)]
    out = io.BytesIO()
    for i, (ev, rec) in enumerate(events):
        line = encode_line(ev)
        truth.commit(rec, line)
        out.write(line.encode("utf-8") + b"\n")
        if i == 57:
            # a writer that died mid-line: an error event cut inside its errorMessage
            bad_ev, bad_rec = skype_event(w, "error", ev_ts(ev) + timedelta(milliseconds=431))
            full = encode_line(bad_ev)
            cut = full[: full.index("\"errorMessage\"") + 60]
            truth.commit(bad_rec, cut, damaged=True)
            out.write(cut.encode("utf-8") + b"\n")
        if i == 133:
            # a client that wrote its display name in Latin-1: invalid UTF-8 bytes in the line
            theo = next(p for p in w.people if p.first == "Théo")
            bad_rec = Rec()
            msg, ip = skype_error_message(theo, bad_rec, rng, "litware.com")
            bad_ev = {"eventType": "error", "timestamp": iso_z(ev_ts(ev) + timedelta(milliseconds=87)),
                      "clientIp": ip, "sipUri": theo.sip, "user": {"name": f"{theo.first} {theo.last}"},
                      "errorMessage": msg, "federation": {"partnerDomain": "litware.com"},
                      "devices": [{"id": bad_rec.v("device_id", d), "kind": k} for d, k, _ in theo.devices]}
            raw = encode_line(bad_ev).encode("utf-8").replace("Théo".encode(), "Théo".encode("latin-1"))
            truth.commit(bad_rec, raw.decode("utf-8", "replace"), damaged=True)
            out.write(raw + b"\n")
    return out.getvalue(), len(events) + 2


def ev_ts(ev: dict) -> datetime:
    return datetime.strptime(ev["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


# ------------------------------------------------------------------ 2. M365 support cases
def email_in_text(p: Person, rec: Rec, rng: random.Random) -> str:
    e = rec.v("email", p.email)
    return rng.choice([e, f"<{e}>", f"mailto:{e}", f"(email: {e})", e])


def case_notes(w: World, p: Person, issue: str, server: str, rec: Rec) -> str:
    rng = w.rng
    other = w.person()
    while other is p:
        other = w.person()
    eng_first, eng_last = rng.choice(w.engineers)
    parts = []
    opening = rng.randrange(4)
    if opening == 0:
        parts.append(f"Customer {p.full(rec)} called from {p.phone(rec, rng)} reporting: {issue.lower()}.")
    elif opening == 1:
        parts.append(f"Spoke with {p.name_in_text(rec, rng)} ({rec.v('email', p.email)}). Issue: {issue.lower()}.")
    elif opening == 2:
        parts.append(f"{issue}. Contact {p.name_in_text(rec, rng)} - callback number {p.phone(rec, rng)}.")
    else:
        parts.append(f"Ticket opened via the M365 portal by {rec.v('upn', p.upn)}: {issue.lower()}.")
    middle = [  # built lazily: only the sentences actually written plant their values
        lambda: f"Collected logs from {server}; correlation attached to the diagnostics section.",
        lambda: f"Asked {rec.v('person_name', p.first)} to send the HAR trace to {email_in_text(p, rec, rng)}.",
        lambda: (f"Secondary contact is {other.name_in_text(rec, rng)}, reachable at "
                 f"{other.phone(rec, rng)} or {email_in_text(other, rec, rng)}."),
        lambda: f"Left voicemail for {rec.v('person_name', p.last)} at {p.phone(rec, rng)}, will retry tomorrow.",
        lambda: f"User's machine {rec.v('hostname', p.computer)} shows the same error in safe mode.",
        lambda: "Customer consented to diagnostic data access; access expires 30 days after case creation.",
        lambda: f"Repro confirmed from client IP {rec.v('ipv4', p.ipv4)} only, not from the office network.",
        lambda: "Escalated to the service team; waiting for the hotfix rollout to complete.",
        lambda: f"{other.full(rec)} confirmed the issue also affects the finance team.",
    ]
    for make in rng.sample(middle, rng.randrange(1, 4)):
        parts.append(make())
    if rng.random() < 0.06:
        card = rec.v("credit_card", rng.choice(["4111 1111 1111 1111", "5555555555554444", "3782 822463 10005"]))
        parts.append(f"Customer pasted card number {card} into the chat to discuss billing; "
                     "advised not to share payment data.")
    parts.append(f"-- {rec.v('person_name', f'{eng_first} {eng_last}')}, Microsoft Support")
    rec.v("person_name", eng_first)
    rec.v("person_name", eng_last)
    return " ".join(parts)


def gen_cases(w: World, truth: Truth) -> tuple[bytes, int]:
    rng = w.rng
    n = 72
    stamps = sorted(rand_ts(rng) for _ in range(n))
    lines = []
    for i, ts in enumerate(stamps):
        p = w.person()
        rec = Rec()
        issue, err, build = rng.choice(CASE_ISSUES)
        server = rng.choice(SERVERS)
        case = {
            "caseId": f"CAS-{41000 + i * 37 + rng.randrange(30):05d}-{rand_str(rng, 6, string.ascii_uppercase + string.digits)}",
            "tenantId": rec.w("tenant_id", w.tenant_of(p)),
            "createdAt": iso_z(ts, millis=False),
            "upn": rec.v("upn", p.upn),
            "contact": {"displayName": p.display(rec), "phone": p.phone(rec, rng)},
            "caseNotes": case_notes(w, p, issue, server, rec),
            "diagnostics": {"serverName": server, "buildVersion": build, "errorCode": err,
                            "correlationId": rand_guid(rng)},
            "severity": rng.choice(["A", "B", "B", "C", "C", "C"]),
        }
        line = encode_line(case)
        truth.commit(rec, line)
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8"), n


# ------------------------------------------------------------------ 3. Teams roster
def gen_roster(w: World, truth: Truth) -> tuple[bytes, int]:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["userId", "firstName", "lastName", "displayName", "email", "department", "joinedAt"])
    for p in w.people:
        rec = Rec()
        row = [rec.v("user_id", p.user_guid), rec.v("person_name", p.first), rec.v("person_name", p.last),
               p.display(rec), rec.v("email", p.email), p.department, p.joined.isoformat()]
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(row)
        truth.commit(rec, line.getvalue())
        wr.writerow(row)
    return buf.getvalue().encode("utf-8"), len(w.people)


# ------------------------------------------------------------------ 4. Teams chat log (gzip)
PLAIN_MESSAGES = [
    "Can we push the standup to 10:30?", "Deployment to the EU ring finished, no errors.", "lunch?",
    "I'll review the PR after the sync.", "Thanks!", "The build is green again 🎉",
    "Voici le compte rendu de la réunion d'hier.", "Danke, passt!", "Who owns the licence renewal this year?",
    "Heads up: the VPN gateway reboots at 18:00 UTC.", "+1", "Sharing the deck in the channel now.",
    "Can someone check why the nightly export is 20 minutes late?", "¿Alguien tiene acceso al tablero de Power BI?",
    "Retro notes are in the wiki.", "ok, merging", "Let's take this offline.",
]


def chat_message(w: World, sender: Person, members: list[Person], rec: Rec) -> str:
    rng = w.rng
    others = [m for m in members if m is not sender] or [w.person()]
    o = rng.choice(others)
    k = rng.random()
    if k < 0.55:
        return rng.choice(PLAIN_MESSAGES)
    j = rng.randrange(8)
    if j == 0:
        return f"Please loop in {o.full(rec)} on this, their number is {o.phone(rec, rng)}"
    if j == 1:
        return f"You can reach {rec.v('person_name', o.first)} at {rec.v('email', o.email)} or {o.phone(rec, rng)}"
    if j == 2:
        token = rec.v("token", rand_str(rng, 40))
        enc = rec.v("email", quote(o.email, safe=""))
        return f"Join here: https://teams.example.com/join?token={token}&email={enc}"
    if j == 3:
        token = rec.v("token", rand_str(rng, 32))
        tid = rec.w("tenant_id", w.tenant_of(sender))
        return (f"Meeting moved, new link https://teams.example.com/join?token={token}&tid={tid}"
                f"&email={rec.v('email', quote(sender.email, safe=''))} (organiser {sender.full(rec)})")
    if j == 4:
        return f"@{o.full(rec)} can you approve the licence request?"
    if j == 5:
        return f"{rec.v('person_name', o.first)}, I sent the invite to {rec.v('email', o.email)}"
    if j == 6:
        return f"Forwarding from {o.name_in_text(rec, rng)}: \"call me on {o.phone(rec, rng)} after 3pm\""
    return f"My new mobile is {sender.phone(rec, rng)} - the old one is gone."


def gen_chat(w: World, truth: Truth) -> tuple[bytes, int]:
    rng = w.rng
    threads = []
    for i in range(10):
        if i % 3 == 0:
            tid = "19:meeting_" + rand_str(rng, 48) + "@thread.v2"
        else:
            tid = "19:" + uuid.UUID(int=rng.getrandbits(128)).hex + "@thread.v2"
        threads.append((tid, rng.sample(w.people, rng.randrange(3, 7))))
    n = 150
    stamps = sorted(rand_ts(rng) for _ in range(n))
    lines = []
    for ts in stamps:
        tid, members = rng.choice(threads)
        sender = rng.choice(members)
        rec = Rec()
        msg = {
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00",
            "threadId": rec.v("thread_id", tid),
            "senderId": rec.v("user_id", sender.user_guid),
            "senderDisplayName": sender.display(rec),
            "messageText": chat_message(w, sender, members, rec),
        }
        line = encode_line(msg)
        truth.commit(rec, line)
        lines.append(line)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    return gzip.compress(data, compresslevel=9, mtime=0), n


# ------------------------------------------------------------------ 5. Intune billing
CLASSIC_TEST_CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
                      "3530111333300000", "4012888888881881", "5105105105105100", "30569309025904"]
BRANDS = [("4", 16), ("51", 16), ("53", 16), ("2221", 16), ("37", 15), ("34", 15), ("6011", 16),
          ("3528", 16), ("36", 14)]


def format_card(num: str, rng: random.Random) -> str:
    if len(num) in (14, 15):  # Amex 4-6-5, Diners 4-6-4
        groups = [num[:4], num[4:10], num[10:]]
    else:
        groups = [num[i:i + 4] for i in range(0, 16, 4)]
    style = rng.random()
    if style < 0.4:
        return num
    if style < 0.85:
        return " ".join(groups)
    return "-".join(groups)


def street_address(rng: random.Random, style: str) -> str:
    st = rng.choice(STREETS[style])
    n = rng.randrange(1, 2400) if style == "us" else rng.randrange(1, 180)
    if style == "us":
        return f"{n} {st}"
    if style == "uk":
        return f"{n} {st}" if rng.random() < 0.7 else f"{n}{rng.choice('ABC')} {st}"
    if style == "fr":
        return f"{n} {st}" if rng.random() < 0.7 else f"{n} bis {st}"
    return f"{st} {n}"  # de, es


def gen_billing(w: World, truth: Truth) -> tuple[bytes, int]:
    rng = w.rng
    header = ["accountId", "adminName", "adminEmail", "adminPhone", "streetAddress", "city", "postalCode",
              "country", "cardNumber", "cardSecurityCode", "licenseCount", "invoiceDate"]
    rows_out = []
    buf = io.StringIO()
    wr = csv.writer(buf)  # CRLF line ends, as Excel / Windows exports write them
    wr.writerow(header)
    n = 46
    admins = rng.sample(w.people, n)
    classic = list(CLASSIC_TEST_CARDS)
    for i, p in enumerate(admins):
        rec = Rec()
        city, pc_tpl, country, style = rng.choice(CITIES)
        postal = pc_tpl.format(d1=rng.randrange(10), d2=f"{rng.randrange(100):02d}")
        if i % 6 == 0 and classic:
            num = classic.pop(0)
        else:
            prefix, length = rng.choice(BRANDS)
            num = luhn_complete(prefix, length, rng)
        assert luhn_ok(num), num
        card = rec.v("credit_card", format_card(num, rng))
        cvv = rec.w("card_security_code", f"{rng.randrange(1000, 10000)}" if len(num) == 15 else f"{rng.randrange(100, 1000)}")
        addr = street_address(rng, style)
        invoice = date(2026, 11, 1) + timedelta(days=rng.choice([0, 0, 0, 7, 14, 21]))
        if i == 29:
            # an unquoted comma in the address: one column too many
            core = "1200 Harbor Boulevard"
            addr_raw = f"{rec.v('street_address', core)}, Suite 400"
            fields = [f"INT-{7730000 + i * 113}", p.full(rec), rec.v("email", p.email), p.phone(rec, rng),
                      addr_raw, "Redmond", rec.w("postal_code", "98052"), "US", card, cvv,
                      str(rng.randrange(5, 2500)), invoice.isoformat()]
            line = ",".join(fields) + "\r\n"
            truth.commit(rec, line, damaged=False)
            buf.write(line)
            rows_out.append(line)
            continue
        row = [f"INT-{7730000 + i * 113}", p.full(rec), rec.v("email", p.email), p.phone(rec, rng),
               rec.v("street_address", addr), city, rec.w("postal_code", postal), country, card, cvv,
               str(rng.randrange(5, 2500)), invoice.isoformat()]
        one = io.StringIO()
        csv.writer(one).writerow(row)
        truth.commit(rec, one.getvalue())
        wr.writerow(row)
    return buf.getvalue().encode("utf-8"), n


# ------------------------------------------------------------------ 6. web access log
def clf_time(ts: datetime) -> str:
    return ts.strftime("[%d/%b/%Y:%H:%M:%S +0000]")


def gen_web(w: World, truth: Truth) -> tuple[bytes, int]:
    rng = w.rng
    n = 170
    stamps = sorted(rand_ts(rng) for _ in range(n))
    sessions: dict[str, str] = {}
    countries = {"US": "US", "UK": "GB", "FR": "FR", "DE": "DE", "AU": "AU"}
    lines = []
    for ts in stamps:
        rec = Rec()
        if rng.random() < 0.12:
            ip = rec.v("ipv4", rng.choice(w.attacker_ips))
            path = rng.choice(["/wp-login.php", "/.env", "/phpmyadmin/setup.php", "/cgi-bin/luci", "/.git/config"])
            line = (f"{ip} - - {clf_time(ts)} \"GET {path} HTTP/1.1\" 404 {rng.randrange(150, 600)} \"-\" "
                    f"\"{rng.choice(SCANNER_UAS)}\" \"-\"")
            truth.commit(rec, line)
            lines.append(line)
            continue
        p = w.person()
        ip = p.ip(rec, rng, v6_share=0.45)
        user = rec.v("upn", p.upn) if rng.random() < 0.2 else "-"
        r = rng.randrange(9)
        method, status = "GET", rng.choice([200, 200, 200, 304, 302])
        dev = rng.choice(p.devices)[0]
        if r == 0:
            path = f"/portal/devices?page={rng.randrange(1, 6)}"
        elif r == 1:
            path = "/portal/home"
        elif r == 2:
            method, path = "POST", f"/api/v1/devices/{rec.v('device_id', dev)}/sync"
            status = rng.choice([200, 202, 409])
        elif r == 3:
            path = f"/api/v1/users/{rec.v('user_id', p.user_guid)}/photo"
        elif r == 4:
            path = f"/static/js/app.{rand_str(rng, 8, '0123456789abcdef')}.js"
        elif r == 5:
            path = f"/enroll/status?deviceId={rec.v('device_id', dev)}"
        elif r == 6:
            method, path = "POST", "/signin-oidc"
            status = rng.choice([302, 302, 401])
        elif r == 7:
            path = f"/api/v1/reports/compliance?tenant={rec.w('tenant_id', w.tenant_of(p))}"
        else:
            path = "/favicon.ico"
        rr = rng.random()
        if rr < 0.35:
            ref = "-"
        elif rr < 0.8:
            ref = rng.choice(["https://portal.example.com/home", "https://portal.example.com/devices",
                              "https://portal.example.com/reports"])
        else:
            hint = rec.v("email", quote(p.email, safe=""))
            ref = (f"https://login.example.com/common/oauth2/authorize?client_id=00000003-0000-0ff1-ce00-000000000000"
                   f"&login_hint={hint}")
        size = "-" if status in (304, 302) and rng.random() < 0.5 else str(rng.randrange(200, 48000))
        if rng.random() < 0.85:
            sess = sessions.get(p.email)
            if sess is None or rng.random() < 0.3:
                sess = rand_str(rng, 24)
                sessions[p.email] = sess
            cookie = (f"MUID={rec.v('session_id', p.muid)}; TenantId={rec.w('tenant_id', w.tenant_of(p))}; "
                      f"SessID={rec.v('session_id', sess)}; CC={countries[p.country]}")
        else:
            cookie = "-"
        line = (f"{ip} - {user} {clf_time(ts)} \"{method} {path} HTTP/1.1\" {status} {size} \"{ref}\" "
                f"\"{rng.choice(UAS)}\" \"{cookie}\"")
        truth.commit(rec, line)
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8"), n


# ------------------------------------------------------------------ 7. auth syslog
def reverse_host(ip: str, rng: random.Random) -> str:
    a, b, c, d = ip.split(".")
    if rng.random() < 0.5:
        return f"host-{a}-{b}-{c}-{d}.{rng.choice(ISP_SUFFIXES)}"
    return f"{d}-{c}-{b}-{a}.{rng.choice(ISP_SUFFIXES)}"


def gen_syslog(w: World, truth: Truth) -> tuple[bytes, int]:
    rng = w.rng
    events: list[tuple[datetime, str, Rec]] = []
    pid = [24200]

    logind_pid = {h: 700 + 37 * i for i, h in enumerate(SYSLOG_HOSTS)}

    def emit(ts: datetime, host: str, proc: str, msg: str, rec: Rec, with_pid: bool = True) -> None:
        rec.v("hostname", host)
        n = {"systemd-logind": logind_pid[host], "CRON": pid[0] + 1}.get(proc, pid[0])
        tag = f"{proc}[{n}]" if with_pid else proc
        events.append((ts, f"{ts.strftime('%b %d %H:%M:%S')} {host} {tag}: {msg}", rec))

    rev_hosts = {ip: reverse_host(ip, rng) for ip in w.attacker_ips}
    while len(events) < 165:
        ts = rand_ts(rng).replace(microsecond=0)
        host = rng.choice(SYSLOG_HOSTS)
        pid[0] += rng.randrange(1, 400)
        sec = timedelta(seconds=1)
        if rng.random() < 0.45:
            # an attack burst from one address, mostly generic user names
            aip = rng.choice(w.attacker_ips)
            rhost = rev_hosts[aip]
            rec = Rec()
            emit(ts, host, "sshd", f"reverse mapping checking getaddrinfo for {rec.v('hostname', rhost)} "
                 f"[{rec.v('ipv4', aip)}] failed - POSSIBLE BREAK-IN ATTEMPT!", rec)
            for k in range(rng.randrange(1, 4)):
                t = ts + sec * (2 + 3 * k)
                if rng.random() < 0.8:
                    rec = Rec()
                    user = rec.w("username", rng.choice(GENERIC_SSH_USERS))
                else:
                    rec = Rec()
                    user = rec.v("username", rng.choice(w.people).username)
                port = rng.randrange(30000, 65000)
                emit(t, host, "sshd", f"Invalid user {user} from {rec.v('ipv4', aip)} port {port}", rec)
                rec = Rec()
                user_r = rec.w("username", user) if user in GENERIC_SSH_USERS else rec.v("username", user)
                rh = rec.v("hostname", rhost) if rng.random() < 0.5 else rec.v("ipv4", aip)
                emit(t, host, "sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                     f"tty=ssh ruser= rhost={rh}  user={user_r}", rec)
                rec = Rec()
                u = rec.w("username", user) if user in GENERIC_SSH_USERS else rec.v("username", user)
                emit(t + sec * 2, host, "sshd", f"Failed password for invalid user {u} from "
                     f"{rec.v('ipv4', aip)} port {port} ssh2", rec)
            rec = Rec()
            emit(ts + sec * 14, host, "sshd", f"Connection closed by {rec.v('ipv4', aip)} port "
                 f"{rng.randrange(30000, 65000)} [preauth]", rec)
        else:
            # a real user: a failed attempt now and then, a login, sudo, logout
            p = rng.choice(w.shell_users)
            port = rng.randrange(30000, 65000)
            ip = p.ipv4
            if rng.random() < 0.3:
                rec = Rec()
                emit(ts - sec * 9, host, "sshd", f"Failed password for {rec.v('username', p.username)} from "
                     f"{rec.v('ipv4', ip)} port {port - 3} ssh2", rec)
            rec = Rec()
            if rng.random() < 0.7:
                fp = rand_str(rng, 43, string.ascii_letters + string.digits + "+/")
                emit(ts, host, "sshd", f"Accepted publickey for {rec.v('username', p.username)} from "
                     f"{rec.v('ipv4', ip)} port {port} ssh2: ED25519 SHA256:{fp}", rec)
            else:
                emit(ts, host, "sshd", f"Accepted password for {rec.v('username', p.username)} from "
                     f"{rec.v('ipv4', ip)} port {port} ssh2", rec)
            rec = Rec()
            emit(ts, host, "sshd", f"pam_unix(sshd:session): session opened for user "
                 f"{rec.v('username', p.username)}(uid={1000 + w.shell_users.index(p)}) by (uid=0)", rec)
            rec = Rec()
            sid = rng.randrange(100, 9000)
            emit(ts + sec, host, "systemd-logind", f"New session {sid} of user {rec.v('username', p.username)}.", rec)
            if rng.random() < 0.6:
                rec = Rec()
                cmd = rng.choice(["/usr/bin/systemctl restart nginx", "/usr/bin/journalctl -u sshd --since today",
                                  "/usr/bin/apt-get upgrade -y", "/usr/sbin/ufw status"])
                u = rec.v("username", p.username)
                emit(ts + sec * 40, host, "sudo", f"   {u} : TTY=pts/{rng.randrange(0, 4)} ; PWD=/home/{u} ; "
                     f"USER=root ; COMMAND={cmd}", rec, with_pid=False)
                rec = Rec()
                emit(ts + sec * 40, host, "sudo", "pam_unix(sudo:session): session opened for user "
                     f"{rec.w('username', 'root')}(uid=0) by {rec.v('username', p.username)}(uid="
                     f"{1000 + w.shell_users.index(p)})", rec, with_pid=False)
            end = ts + timedelta(minutes=rng.randrange(2, 90))
            rec = Rec()
            emit(end, host, "sshd", f"Received disconnect from {rec.v('ipv4', ip)} port {port}:11: disconnected by user", rec)
            rec = Rec()
            emit(end, host, "sshd", f"pam_unix(sshd:session): session closed for user {rec.v('username', p.username)}", rec)
        if rng.random() < 0.08:
            rec = Rec()
            emit(ts + timedelta(minutes=1), host, "CRON", "pam_unix(cron:session): session opened for user "
                 f"{rec.w('username', 'root')}(uid=0) by (uid=0)", rec)
    events.sort(key=lambda e: e[0])
    lines = []
    for _, line, rec in events:
        truth.commit(rec, line)
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8"), len(lines)


# ------------------------------------------------------------------ main
def generate(out: Path) -> dict[str, int]:
    rng = random.Random(SEED)
    world = World(rng)
    truth = Truth()
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, fn in [("skype_telemetry.jsonl", gen_skype), ("m365_support_cases.jsonl", gen_cases),
                     ("teams_chat_roster.csv", gen_roster), ("teams_chat_log.jsonl.gz", gen_chat),
                     ("intune_billing.csv", gen_billing), ("web_access.log", gen_web),
                     ("auth_syslog.log", gen_syslog)]:
        data, n = fn(world, truth)
        (out / name).write_bytes(data)
        counts[name] = n
    (out / "empty_export.jsonl").write_bytes(b"")
    counts["empty_export.jsonl"] = 0
    doc = truth.as_json()
    (out / "truth.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="output directory (default: the folder of this script)")
    a = ap.parse_args(argv)
    counts = generate(a.out)
    for name, n in counts.items():
        print(f"{n:5d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
