"""The multi-pattern candidate scan (classifiers/scan.py) never changes a detection.

* every superset expression matches wherever its detector pattern / prefilter matches (on
  corpus texts and on Unicode-hostile ones: Kelvin sign, long s, dotted I, non-ASCII digits and
  spaces, lone surrogates);
* ``TextScrubber.analyze`` through the scan equals running every detector on the text as before
  (same spans, entities, scores, rules) on the sample data and the shared corpora.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
from pathlib import Path

import pytest
import regex
from presidio_analyzer import EntityRecognizer

from telescrub.classifiers import scan
from telescrub.classifiers.detectors import build_detectors
from telescrub.classifiers.text import TextScrubber
from telescrub.core.keys import HashKey
from telescrub.core.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TELESCRUB_SHARED", ROOT.parent / "shared")) / "corpora"

UNICODE_HOSTILE = [
    "SSN\u212a 123-45-6789",  # Kelvin sign
    "my \u017fsn is 123-45-6789 and pa\u017f\u017fword=hunter2",  # long s
    "\u0130nvalid user bob from 10.1.2.3",  # dotted capital I
    "card \uff14\uff15\uff13\uff12 0151 1283 0366",  # fullwidth digits
    "tel \u0661\u0662\u0663-\u0664\u0665\u0666-\u0667\u0668\u0669\u0660 or 555-123-4567",
    "Kowalska,\u00a0Anna lives at 12\u00a0Main\u00a0Street",  # no-break spaces
    "user=\ud800bad\udfff 10.0.0.1 \ud83d",  # lone surrogates
    "ǅ Dz ǈ Lj ǋ Nj: Ⓐnna Ⓢmith \u1e9e STRASSE 5",
    "Müller-Lüdenscheidt, Jörg wohnt in der Hauptstraße 5, 10115 Berlin",
    "Ms. Zoë Ødegård, København, ÆØÅ æøå, email zoë@exämple.dk",
    "Dr. Ἀλέξανδρος Παπαδόπουλος, οδός Αθηνάς 12, 10551 Αθήνα",
    "mr. иван петров, ул. Ленина 5; IBAN DE89 3704 0044 0532 0130 00",
    "١٢٣٤٥٦٧٨٩٠ १२३४ ४५६७ ८९०१ aadhaar २३४५ ६७८९ ०१२३",
    "\u200bAKIA\u200bIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLF host\u2028name: srv01.contoso.com",
]


def _corpus_texts(limit_per_file: int) -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "sample_data").iterdir()):
        if path.suffix not in (".log", ".jsonl", ".gz", ".csv"):
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                texts.append(line.rstrip("\n"))
                if path.suffix in (".jsonl", ".gz"):
                    try:
                        stack = [json.loads(line)]
                    except ValueError:
                        continue
                    while stack:  # the record's string values, as columns hold them
                        x = stack.pop()
                        if isinstance(x, dict):
                            stack.extend(x.values())
                        elif isinstance(x, list):
                            stack.extend(x)
                        elif isinstance(x, str):
                            texts.append(x)
    synth = SHARED / "presidio-synth" / "synth_dataset_v2.texts.jsonl"
    if synth.is_file():
        with open(synth, encoding="utf-8") as fh:
            sentences = [json.loads(ln)["text"] for ln in fh]
        texts += sentences + [s.lower() for s in sentences[:300]] + [
            s.upper() for s in sentences[:300]]
    loghub = SHARED / "loghub"
    if loghub.is_dir():
        for path in sorted(loghub.rglob("*.log")):
            with open(path, encoding="utf-8", errors="replace") as fh:
                texts.extend(ln.rstrip("\n") for ln in itertools.islice(fh, limit_per_file))
    cloud = SHARED / "cloud"
    if cloud.is_dir():
        for path in sorted(cloud.glob("*.jsonl")) + sorted(cloud.glob("*.csv")):
            with open(path, encoding="utf-8", errors="replace") as fh:
                texts.extend(ln.rstrip("\n") for ln in itertools.islice(fh, limit_per_file))
    return texts + UNICODE_HOSTILE


@pytest.fixture(scope="module")
def scrubber() -> TextScrubber:
    return TextScrubber(load_policy(None), HashKey(b"scan-test-key-0123456789abcdef!!", "t"))


def _every_detector(ts: TextScrubber, text: str) -> list[tuple]:
    """The path before the scan: each detector whose prefilter passes runs all its patterns."""
    results = []
    for d in ts.detectors:
        if d.might_contain(text):
            results.extend(r for r in d.find(text) if r.score >= ts.policy.min_score)
    if ts.key_values is not None and ts.key_values.might_contain(text):  # not scanned
        results.extend(r for r in ts.key_values.find(text) if r.score >= ts.policy.min_score)
    if len(results) > 1:
        results = EntityRecognizer.remove_duplicates(results)
    return sorted(_key(r) for r in results)


def _key(r: object) -> tuple:
    expl = getattr(r, "analysis_explanation", None)
    return (r.entity_type, r.start, r.end, round(r.score, 6),  # type: ignore[attr-defined]
            getattr(expl, "pattern_name", None))


def test_every_expression_is_a_superset_of_its_pattern() -> None:
    dets = build_detectors()
    exprs = scan.expressions(dets)
    assert exprs and all(e.source is not None for e in exprs), "untranslatable expression"
    texts = _corpus_texts(60)
    # one slot per pattern / necessary condition; a long one is cut into parts (any matches)
    slots: dict[tuple[int, int], list[regex.Pattern]] = {}
    for e in exprs:
        slots.setdefault((e.detector, e.pattern), []).append(regex.compile(e.source, regex.DOTALL))
    missed = []
    for (di, pi), parts in slots.items():
        d = dets[di]
        if pi >= 0:
            orig = regex.compile(d.patterns[pi].regex, d.global_regex_flags)
        else:
            needs = ([d.PREFILTER] if d.PREFILTER else []) + list(d.SCAN_REQUIRES)
            # the prefilter as might_contain compiles it (re); the scan-only ones with regex
            orig = d._prefilter if d.PREFILTER and pi == -1 else regex.compile(needs[-1 - pi])
        for t in texts:
            data = t.encode("utf-8", "surrogatepass")
            if orig.search(t) and not any(sup.search(data) for sup in parts):
                missed.append((type(d).__name__, pi, t[:80]))
                break
    assert not missed, missed


@pytest.mark.parametrize("pattern, yes, no", [
    (r"(?<![\w-])AKIA[A-Z0-9]{16}(?![A-Za-z0-9])", ["id AKIAIOSFODNN7EXAMPLE.", "AKIA" + "7" * 16],
     ["AKIA123", "xAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLEX"]),
    (r"(?<![^\W\d_])(?:St|Rd)(?![^\W\d_])", ["12 Main St.", "Rd", "\u00e9St"], ["Start", "1st"]),
    (r"(?i:ssn)\s*\K\d{3}-\d{2}-\d{4}", ["S\u212aN 123-45-6789", "ssn\u00a0123-45-6789"],
     ["ssn 12-345-6789"]),
    (r"(\d{3})([ -]?)\d{3}\2\d{4}", ["555 123 4567", "555-123 4567"], ["555 12 4567"]),
    (r"\p{Lu}[\p{Ll}\p{M}]+(?= said)", ["Zoë said", "Ødegård said"], ["zoë says"]),
    (r"(?<=user=)[\w.]{2,}", ["user=\u0430\u0431"], ["user=a"]),
    (r"[^\W\d_]{2}\d", ["\u00e9\u00e91", "ab1"], ["__1", "a 1"]),
])
def test_superset_translation(pattern: str, yes: list[str], no: list[str]) -> None:
    sup = regex.compile(scan.superset(pattern), regex.DOTALL)
    for t in yes:
        assert sup.search(t.encode("utf-8", "surrogatepass")), (pattern, t)
    for t in no:  # not required for correctness, but the translation should stay selective
        assert not sup.search(t.encode("utf-8", "surrogatepass")), (pattern, t)


def test_scan_path_equals_every_detector_path(scrubber: TextScrubber) -> None:
    assert scrubber.scanner.available, "hyperscan missing: the scan path is not exercised"
    texts = _corpus_texts(200)
    assert len(texts) > (5000 if SHARED.is_dir() else 800)
    diffs = [i for i, t in enumerate(texts)
             if sorted(map(_key, scrubber.analyze(t))) != _every_detector(scrubber, t)]
    assert not diffs, f"{len(diffs)} of {len(texts)} texts differ (first: index {diffs[0]})"


def test_scan_plans_skip_most_detectors(scrubber: TextScrubber) -> None:
    plans = scrubber.scanner.plans("Failed password for wei.silva from 52.217.89.20 port 2 ssh2")
    names = {type(d).__name__: p for d, p in zip(scrubber.detectors, plans, strict=True)}
    assert names["Ipv4Detector"] == (0,)
    assert names["EmailDetector"] is None and names["CreditCardDetector"] is None
    assert sum(p is not None for p in plans) <= 8


def test_without_hyperscan_every_detector_runs(scrubber: TextScrubber,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scan.Scanner.__new__(scan.Scanner)
    sc.__dict__.update(scrubber.scanner.__dict__)
    sc.available = False
    monkeypatch.setattr(scrubber, "_scanner", sc)
    for t in UNICODE_HOSTILE + ["anna.smith@example.com 10.1.2.3 John Smith"]:
        assert sorted(map(_key, scrubber.analyze(t))) == _every_detector(scrubber, t)
