"""The text scrubber's direct detector path gives exactly what Presidio's AnalyzerEngine
gives over the same recognizers (spans, entities, scores), on shipped and shared texts."""

from __future__ import annotations

import gzip
import itertools
import json
import os
from pathlib import Path

import pytest

from telescrub.classifiers.text import TextScrubber
from telescrub.core.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "corpora"


def _texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "sample_data").iterdir()):
        if path.suffix in (".log", ".jsonl", ".gz", ".csv"):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                texts.extend(line.rstrip("\n") for line in fh)
    synth = SHARED / "presidio-synth" / "synth_dataset_v2.texts.jsonl"
    if synth.is_file():  # the input texts only (labels are evaluation data)
        with open(synth, encoding="utf-8") as fh:
            for line in itertools.islice(fh, 600):
                obj = json.loads(line)
                texts.append(obj.get("text") or obj.get("full_text") or "")
    loghub = SHARED / "loghub"
    if loghub.is_dir():
        for path in sorted(loghub.rglob("*.log"))[:16]:
            with open(path, encoding="utf-8", errors="replace") as fh:
                texts.extend(line.rstrip("\n") for line in itertools.islice(fh, 150))
    return texts


def _key(r: object) -> tuple:
    return (r.entity_type, r.start, r.end, round(r.score, 6))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def scrubber(tmp_path_factory: pytest.TempPathFactory) -> TextScrubber:
    from telescrub.core.keys import load_key

    os.environ.setdefault("TELESCRUB_HASH_KEY", "telescrub-test-key-not-secret-0123456789")
    return TextScrubber(load_policy(None), load_key(None, False))


def test_direct_path_equals_presidio_engine(scrubber: TextScrubber) -> None:
    texts = _texts()
    assert len(texts) > 800
    diffs = [i for i, t in enumerate(texts)
             if sorted(map(_key, scrubber.analyze(t)))
             != sorted(map(_key, scrubber.analyze_with_engine(t)))]
    assert not diffs, f"{len(diffs)} of {len(texts)} texts differ (first index {diffs[0]})"


def test_exclusions_apply_on_both_paths(scrubber: TextScrubber) -> None:
    text = "user alice@example.com from 10.1.2.3"
    direct = {r.entity_type for r in scrubber.analyze(text, frozenset({"IPV4"}))}
    engine = {r.entity_type for r in scrubber.analyze_with_engine(text, frozenset({"IPV4"}))}
    assert direct == engine and "IPV4" not in direct and direct
