"""Street addresses in free text (entity ``STREET_ADDRESS``), international shapes, no model.

A *street core* is found first, then extended over the lines that follow it:

* number + name + street type: ``590 Edington Drive``, ``2450 Crown St``, ``74 Diakou Street``
  (USPS Publication 28 suffixes and abbreviations; rarer suffixes such as *Club*, *View*,
  *Point* need a unit or a following address line);
* type word first (Romance, Slavic, ...): ``Via Roma 131``, ``Rua Diadema 1903``,
  ``20 Rue Hsine Eloued``, ``ul. Narewska 94``, ``Calle Mayor 5``, ``C/ Mayor 5``,
  ``Avenida Paulista 1000``;
* one word with a street morpheme + number (Germanic, Nordic, Finnish, Dutch, ...):
  ``Hauptstraße 5``, ``Koskikatu 25``, ``Nybyvägen 65``, ``Parijsstraat 8``, ``Mellemvej 32``,
  or a separate type word: ``Villacher Strasse 89``, ``Rákóczi út 66.``, ``Stensås terrasse 38``;
* P.O. boxes and US military addresses (``PSC 1234, Box 5678``, ``USNS Vincent``, ``APO AE 12345``);
* ``name + number`` (``Rahu 37``) or ``number + name`` only with evidence: an address cue
  before (``address:``, ``lives at``, ``located at``, ``moved to``, ...), a unit, or a
  following line with a postal code;
* a spelled-out street type after a place preposition, without a number: ``on Cowley Road``,
  ``along Berg Hills Street``.

The span then takes in a leading extra number (``9448 175 Iroon Polytechniou Avenue``), units
(``Apt. 864``, ``Suite 201``, ``Unit 5``, ``#12``, ``Flat 3``), and up to five following
segments separated by a newline, ``, `` or a space that look like address lines: city,
state/province code, postal code (US ZIP, Canadian, UK, 3-6 digits), country; and
``the corner of X and Y``. All-lower-case or all-upper-case texts are matched through a
title-cased copy (same offsets); there a weak shape needs an address cue, or a unit and a
postal-code line together.

Deliberately not matched: bare numbers and postal codes, ``Route 66``-like names without any
other address evidence, product/version strings (``Windows 10``, ``Java 8``), log tokens
(CamelCase, ALLCAPS levels, dotted identifiers), ``St. Louis`` (a saint, not a street).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import regex
from presidio_analyzer import Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _backwards(pattern: str) -> regex.Pattern:
    """Compile an end-anchored pattern (``...$``) to be searched from the end backwards:
    the same matches, an order of magnitude faster on long texts."""
    return regex.compile(pattern, regex.REVERSE)


# --- vocabulary --------------------------------------------------------------------------------

#: common English street types (and abbreviations): enough on their own after number + name
_TYPE_STRONG = (
    r"Street|Str|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Bvd|Lane|Ln|Drive|Dr|Drv|Court|Ct|"
    r"Crt|Way|Wy|Place|Pl|Terrace|Terr|Ter|Plaza|Plz|Square|Sq|Crescent|Cres|Cr|Close|Cl|"
    r"Parkway|Pkwy|Pky|Highway|Hwy|Circle|Cir|Trail|Trl|Alley|Aly|Turnpike|Tpke|Pike|Mews|"
    r"Grove|Grv|Gardens|Gdns|Row|Expressway|Expy|Freeway|Fwy|Causeway|Cswy|Boulevard|Esplanade|"
    r"Promenade|Parade|Pde|Quay|Wharf|Embankment|Wynd|Motorway|Bypass|Byp|Crossroad|Crossing|"
    r"Xing|Loop|Radial|Stravenue|Stra|Throughway|Trafficway|Skyway|Underpass|Overpass|Viaduct|"
    r"Streets|Avenues|Roads|Drives|Lanes|Ways|Courts|Squares|Terraces|Highways|Hwy|Route|Rte"
)
#: rarer USPS suffixes that are also common words: need a unit, address line or cue as well
_TYPE_WEAK = (
    r"Branch|Bridge|Brook|Brooks|Burg|Burgs|Camp|Canyon|Cape|Center|Centre|Centers|Cliff|"
    r"Cliffs|Club|Common|Commons|Corner|Corners|Course|Courts|Cove|Coves|Creek|Crest|Curve|"
    r"Dale|Dam|Divide|Estate|Estates|Extension|Extensions|Ext|Fall|Falls|Ferry|Field|Fields|"
    r"Flat|Flats|Ford|Fords|Forest|Forge|Forges|Fork|Forks|Fort|Garden|Gateway|Glen|Glens|"
    r"Green|Greens|Groves|Harbor|Harbour|Harbors|Haven|Heights|Hts|Hill|Hills|Hollow|Inlet|"
    r"Island|Islands|Isle|Junction|Jct|Junctions|Key|Keys|Knoll|Knolls|Lake|Lakes|Land|"
    r"Landing|Light|Lights|Loaf|Lock|Locks|Lodge|Mall|Manor|Manors|Meadow|Meadows|Mill|Mills|"
    r"Mission|Mount|Mountain|Mountains|Neck|Orchard|Oval|Park|Parks|Parkways|Pass|Passage|Path|"
    r"Pine|Pines|Plain|Plains|Point|Points|Port|Ports|Prairie|Ramp|Ranch|Rapid|Rapids|Rest|"
    r"Ridge|Ridges|River|Run|Shoal|Shoals|Shore|Shores|Spring|Springs|Spur|Spurs|Station|"
    r"Stream|Summit|Trace|Track|Tunnel|Union|Unions|Valley|Valleys|View|Views|Village|"
    r"Villages|Ville|Vista|Walk|Walks|Wall|Well|Wells|Rise|Vale|Green|Chase|Drove|Approach|"
    r"Arcade|Bend|Heath|Gate|Croft|Fold|Garth|Ridgeway"
)
#: type words that come before the name (French, Spanish, Portuguese, Italian, Romanian,
#: Polish, Greek, Malay, Turkish, ...)
_TYPE_BEFORE = (
    r"Rue|Rua|Via|Viale|Vicolo|Piazza|Piazzale|Corso|Largo|Lungomare|Contrada|Borgo|Strada|"
    r"Calle|Carrer|Avenida|Avda\.?|Av\.|Avinguda|Paseo|Passeig|Plaza|Plaça|Praça|Praca|Camino|"
    r"Carretera|Travessa|Travesía|Estrada|Alameda|Rambla|Ronda|Glorieta|Callejón|Calzada|"
    r"Carrera|Diagonal|Transversal|Pasaje|Boulevard|Bd\.?|Bld\.?|Bulevar|Bulevardul|Calea|"
    r"Aleea|Intrarea|Soseaua|Șoseaua|Piața|Piata|Avenue|Allée|Allee|Place|Chemin|Route|"
    r"Impasse|Quai|Cours|Chaussée|Sentier|Ul\.|ul\.|Ulica|ulica|Al\.|al\.|Aleja|aleja|Aleje|"
    r"pl\.|Plac|plac|os\.|Osiedle|Str\.|Ulitsa|ulitsa|Odos|Leoforos|Leof\.|Jalan|Jl\.|Jln\.?|"
    r"Lorong|Soi|Thanon|Sokak|Sokağı|Caddesi|Cad\.|Trg|Utca|Rruga|Bulevardi|Postbox|C/"
)
#: street morphemes ending one word (German, Dutch, Nordic, Finnish, Icelandic, Baltic, ...)
_MORPHEME = (
    r"straße|strasse|straße|str\.|gasse|gässli|weg|wegen|allee|platz|damm|ufer|steig|pfad|"
    r"chaussee|markt|gatan|gata|gaten|vägen|väg|gränd|stigen|torget|vej|vejen|gade|stræde|"
    r"veien|vegen|vei|veg|stien|bakken|straat|laan|plein|gracht|kade|dijk|singel|dreef|steeg|"
    r"baan|katu|tie|kuja|polku|kaari|väylä|raitti|rinne|braut|vegur|stígur|stræti|gata|iela|"
    r"tänav|gatvė|prospekt|bulevardi|utca|körút|ulica|maantee|puiestee"
)
#: separate type words after the name, before a number
_TYPE_AFTER_NUM = (
    r"Straße|Strasse|Str\.|Gasse|Weg|Allee|Platz|Ring|Damm|Ufer|gatan|gata|vägen|väg|vej|"
    r"gade|veien|vei|vegen|straat|laan|weg|terrasse|Terrasse|katu|tie|kuja|út|utca|u\.|"
    r"körút|krt\.|tér|köz|sor|sétány|iela|tänav|gatvė|prospekt|Prospekt|ulitsa|bulvar|"
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Drive|Boulevard|Blvd\.?|Straat|Laan|Vej|Gade|"
    r"Gata|Gatan|Vägen|Veien|Katu|Tie|Allé|allé|alle|Alle|gate|Gate|baan|Baan|str|Str|rkp\.|"
    r"kapu|útja|sugárút|nábřeží|náměstí|třída|ulice|tee|maantee|puiestee"
)

_L = r"\p{Lu}[\p{L}\p{M}'’.-]*[\p{Ll}\p{M}.]"  # a capitalised word ('Rákóczi', 'O'Neil', 'St.')
_NAMEWORD = rf"(?:{_L}|\d{{1,3}}(?:st|nd|rd|th)|(?:de|du|des|da|do|dos|das|del|della|delle|dei|degli|di|la|le|les|von|van|der|den|ter|ten|el|al|y|e|i|of|upon|sur|zum|zur|sankt|pod|nad|na|u)(?=\s\p{{Lu}}))"
_NAME = rf"(?:{_L}|\d{{1,3}}(?:st|nd|rd|th))(?:[ \t]+{_NAMEWORD}){{0,4}}"
_HOUSE = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?){0,2}"
_HOUSE_AFTER = rf"{_HOUSE}\.?(?![\w])"
_B = r"(?<![\w.@/:$#%&=+-])"  # start boundary
_E = r"(?![\w@/])"  # end boundary
_SEP = r"[ \t]+"

_CORES: list[tuple[str, str, float]] = [
    # P.O. boxes and US military addresses
    ("po_box", rf"{_B}(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]office[ \t]box|postfach|apartado(?:[ \t]postal)?|caixa[ \t]postal|bo[iî]te[ \t]postale|b\.?p\.?)[ \t]*\d{{1,6}}{_E}", 0.85),
    ("military", rf"{_B}(?:PSC|CMR|Unit|UNIT|psc|cmr|unit)[ \t]+\d{{3,5}},?[ \t]+(?:Box|BOX|box)[ \t]+\d{{3,5}}(?:[ \t]*[,\n][ \t]*(?i:APO|FPO|DPO)[ \t]+(?i:AA|AE|AP)[ \t]+\d{{5}})?{_E}", 0.85),
    ("ship", rf"{_B}(?i:USS|USNS|USNV|USCGC)[ \t]+\p{{L}}[\p{{L}}'-]+(?:[ \t]+\p{{Lu}}[\p{{L}}'-]+)?[ \t]*[,\n][ \t]*(?i:FPO|APO|DPO)[ \t]+(?i:AA|AE|AP)[ \t]+\d{{5}}{_E}", 0.85),
    ("apo", rf"{_B}(?i:APO|FPO|DPO)[ \t]+(?i:AA|AE|AP)[ \t]+\d{{5}}{_E}", 0.7),
    # 'the corner of Main Street and 5th Avenue', 'corner of 12 Foo str and Bar Union'
    ("corner", rf"(?i:\b(?:the[ \t]+)?(?:corner|intersection)[ \t]+of)[ \t]+[^\s,;]+(?:[ \t]+[^\s,;]+){{0,5}}?[ \t]+(?:[Aa]nd|&)[ \t]+(?:{_HOUSE}[ \t]+)?{_NAME}(?:[ \t]+(?:{_TYPE_STRONG}|{_TYPE_WEAK})\.?)?(?=[\s,;:)!?.]|$)", 0.7),
    # number + name + street type ('590 Edington Drive', '2450 Crown St')
    ("number_name_type", rf"{_B}{_HOUSE},?{_SEP}{_NAME}{_SEP}(?:{_TYPE_STRONG})\.?(?=[\s,;:)!?]|$)", 0.85),
    ("number_name_weak_type", rf"{_B}{_HOUSE},?{_SEP}{_NAME}{_SEP}(?:{_TYPE_WEAK})\.?(?=[\s,;:)!?]|$)", 0.55),
    # type word first: 'Via Roma 131', '20 Rue Hsine Eloued', 'ul. Narewska 94'
    ("type_name_number", rf"(?<![\w.-])(?:{_TYPE_BEFORE}){_SEP}{_NAME}{_SEP}{_HOUSE_AFTER}", 0.85),
    ("number_lower_type_name", rf"{_B}{_HOUSE},?{_SEP}(?:rue|avenue|av\.|boulevard|bd|chemin|allée|impasse|quai|cours|route|via|viale|vicolo|piazza|corso|calle|avenida|rua|travessa|strada|ulica|ul\.){_SEP}(?:(?:de|du|des|la|le|les|da|do|dos|das|del|della|dei|di|d'|l')[ \t]*)*\p{{L}}[\p{{L}}\p{{M}}'’.-]*(?:[ \t]+(?:(?:de|du|des|la|le|les|da|do|dos|del|della|di)[ \t]+)*\p{{Lu}}[\p{{L}}\p{{M}}'’.-]*){{0,3}}(?=[\s,;:)!?.]|$)", 0.85),
    ("number_type_name", rf"{_B}{_HOUSE},?{_SEP}(?:{_TYPE_BEFORE}|Av){_SEP}(?:{_NAME}|\p{{Ll}}[\p{{Ll}}\p{{M}}]+)(?=[\s,;:)!?.]|$)", 0.85),
    # one word with a street morpheme + number: 'Koskikatu 25', 'Hauptstraße 5'
    # (the whole word is taken greedily, then its ending checked: no backtracking)
    ("morpheme_number", rf"(?<![\w.-])\p{{L}}[\p{{L}}\p{{M}}-]{{2,40}}(?<=(?i:{_MORPHEME})){_SEP}{_HOUSE_AFTER}", 0.85),
    # name + separate type + number: 'Villacher Strasse 89', 'Rákóczi út 66.', 'Stensås terrasse 38'
    ("name_type_number", rf"(?<![\w.-]){_NAME}{_SEP}(?i:{_TYPE_AFTER_NUM}){_SEP}{_HOUSE_AFTER}", 0.85),
    # weak shapes, kept only with evidence (cue, unit, following address line)
    ("number_name_number", rf"{_B}{_HOUSE},?{_SEP}{_NAME}{_SEP}{_HOUSE_AFTER}", 0.0),
    ("name_number", rf"(?<![\w.@/:$#%&=+-]){_NAME}{_SEP}{_HOUSE_AFTER}", 0.0),
    ("number_name", rf"{_B}{_HOUSE},?{_SEP}{_NAME}(?=[ \t]*(?:\n|,|$))", 0.0),
    ("name_type", rf"(?<![\w.-]){_NAME}{_SEP}(?:{_TYPE_STRONG})\.?(?=[\s,;:)!?]|$)", 0.0),
    # a spelled-out street type after a place preposition, no number: 'shows on Berg Hills
    # Street', 'a flat along Cowley Road' (abbreviations and 'Drive' are too ambiguous here)
    ("on_name_type", rf"(?<=(?<![\w])(?:on|along|down|up|off|onto|at|near|via)[ \t]+){_NAME}{_SEP}"
     r"(?:Street|Avenue|Road|Boulevard|Lane|Terrace|Crescent|Parkway)(?=[\s,;:)!?.]|$)", 0.6),
]
_CORE_RES = [(name, regex.compile(rx), score) for name, rx, score in _CORES]

#: cheap necessary conditions: a core is only tried on a text whose words pass its gate
def _alternatives(alternation: str) -> frozenset[str]:
    return frozenset(a.replace("\\.", ".").rstrip("?") for a in alternation.split("|"))


_STRONG_SET = _alternatives(_TYPE_STRONG)
_WEAK_SET = _alternatives(_TYPE_WEAK)
_BEFORE_SET = _alternatives(_TYPE_BEFORE) | {"Av", "Avda", "Bd", "Bld", "Jln", "Jl", "Cad", "Leof",
                                              "C"}
_AFTER_SET = frozenset(w.lower() for w in _alternatives(_TYPE_AFTER_NUM))
_LOWER_BEFORE_SET = _words(
    "rue avenue av boulevard bd chemin allée impasse quai cours route via viale vicolo piazza "
    "corso calle avenida rua travessa strada ulica ul"
)
_MORPHEMES = tuple(m.replace("\\.", ".") for m in _MORPHEME.split("|"))
_WEAK_KEYS = (
    "address", "adress", "direcci", "endereço", "indirizzo", "anschrift", "live", "located",
    "moved", "send", "sent", "ship", "deliver", "return", "mail", "meet", "stop", "off at",
    "corner", "intersection", "station", "arrived", "billing", "reside", "apt", "apartment",
    "suite", "unit", "flat", "is at", "is on", "it is", "it's", "its ", "\n",
)
_GATE_WORD = re.compile(r"[^\W\d_]+\.?")
_POBOX_KEYS = ("postfach", "apartado", "caixa", "boite", "boîte", "b.p", "bp ")


def any_gate() -> str:
    """A regex that matches a text whenever some :class:`_Gates` gate is open, in the text or
    in its title-cased copy (it may match more): a text it does not match has no street core
    to try. The candidate scan runs it (``SCAN_REQUIRES``), Python never does."""

    def groups(entries: frozenset[str] | set[str]) -> list[str]:
        """The entries that can equal a word, in groups of 40 alternatives (the scan cuts a
        long expression at its top-level alternatives)."""
        alts = {e.rstrip(".") for e in entries}
        alts = {a for a in alts if re.fullmatch(r"[^\W\d_]+", a)}  # others never equal a word
        ordered = [re.escape(a) for a in sorted(alts, key=lambda a: (-len(a), a))]
        return ["|".join(ordered[i:i + 40]) for i in range(0, len(ordered), 40)]

    def folded(group: str) -> str:
        # i, k, s: their Unicode case partners (İ, K, ſ) title-case to ASCII letters
        return re.sub(r"[iksIKS]", lambda m: f"(?i:{m.group()})", group)

    word = r"(?<![^\W\d_])(?:{})(?![^\W\d_])"
    typed = _STRONG_SET | _WEAK_SET | _BEFORE_SET
    return "|".join([
        # type words as written (a text with both cases) ...
        *(word.format(g) for g in groups(typed)),
        # ... or a one-case text's words of that case (it is title-cased before the gates)
        *(rf"^(?:[^A-Z]*[^A-Za-z])?(?:{folded(g)})(?:[^A-Za-z][^A-Z]*)?$"
          for g in groups({t.lower() for t in typed})),
        *(rf"^(?:[^a-z]*[^A-Za-z])?(?:{folded(g)})(?:[^A-Za-z][^a-z]*)?$"
          for g in groups({t.upper() for t in typed})),
        # the gates that look at the lower-cased text
        *(word.format(f"(?i:{g})") for g in groups(_LOWER_BEFORE_SET | _AFTER_SET)),
        rf"(?i:{'|'.join(re.escape(m.rstrip('.')) for m in _MORPHEMES)})(?![^\W\d_])",
        r"(?i:str\.|box|po |corner|intersection)",
        *(f"(?i:{re.escape(k)})" for k in _POBOX_KEYS + _WEAK_KEYS),
    ])


class _Gates:
    """Which core families can match a text, from its words (computed once per text)."""

    def __init__(self, text: str) -> None:
        self.low = text.lower()
        words = _GATE_WORD.findall(text)
        bare = {w.rstrip(".") for w in words}
        self.strong = not _STRONG_SET.isdisjoint(bare)
        self.weak_type = not _WEAK_SET.isdisjoint(bare)
        self.before = not _BEFORE_SET.isdisjoint(bare) or not _BEFORE_SET.isdisjoint(words)
        lows = {w.lower() for w in bare}
        self.lower_before = not _LOWER_BEFORE_SET.isdisjoint(lows)
        self.after = not _AFTER_SET.isdisjoint(lows) or not _AFTER_SET.isdisjoint(
            {w.lower() for w in words}
        )
        self.morpheme = any(w.endswith(_MORPHEMES) for w in lows) or "str." in self.low
        self.weak = any(k in self.low for k in _WEAK_KEYS)

    def allows(self, name: str) -> bool:
        low = self.low
        if name in ("po_box",):
            return "box" in low or any(k in low for k in _POBOX_KEYS)
        if name == "military":
            return "box" in low
        if name in ("ship", "apo"):
            return "po " in low
        if name == "corner":
            return "corner" in low or "intersection" in low
        if name in ("number_name_type", "name_type", "on_name_type"):
            return self.strong
        if name == "number_name_weak_type":
            return self.weak_type
        if name in ("type_name_number", "number_type_name"):
            return self.before
        if name == "number_lower_type_name":
            return self.lower_before
        if name == "morpheme_number":
            return self.morpheme
        if name == "name_type_number":
            return self.after
        return self.weak

_QUOTE = r"[ \t]*(?:[>|•·*?-]{1,3}[ \t]*)?"  # quoted / bulleted lines: '> ', '??? '
_UNIT = regex.compile(
    rf"\G(?:[ \t]*,?[ \t]*|[ \t]*\n{_QUOTE})"
    r"(?:(?i:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building|dept|door|piso|"
    r"étage|etage|stock|lgh|lokal|app|appt|wohnung|bus)\.?[ \t]*\#?[ \t]*[\w-]{1,6}"
    r"|\#[ \t]*\d{1,5}[A-Za-z]?)(?![\w])"
)
_POSTAL = (
    r"(?:\d{5}(?:-\d{4})?|\d{4}|\d{3}[ \t]?\d{2}|\d{2}-\d{3}|\d{6}|\d{3}"
    r"|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}"
    r"|(?:[A-Z]{1,2}-)?\d{4,5})"
)
_CITY = (
    r"\p{Lu}[\p{L}\p{M}'’.-]*(?:[ \t-](?:\p{Lu}[\p{L}\p{M}'’.-]*|de|do|da|del|la|le|los|las|am|an|"
    r"der|sur|upon|on|of|en|im|bei|ob|nad|pod)){0,3}"
)
_STATE = r"(?:[A-Z]{2,3}|nan)"
_LINE_END = r"(?=[ \t]*(?:\n|$|[.,;?!)\]]|[ \t]+\p{Ll}|[ \t]+(?:I|We|It)\b))"
#: one following address segment: city, state, postal code, country in the usual orders
_SEGMENT = regex.compile(
    rf"\G(?P<sep>(?:[ \t]*\n{_QUOTE})+(?:[ \t]*,[ \t]*)?|[ \t]*,[ \t]*|[ \t]+)"
    r"(?P<seg>"
    rf"(?P<zip1>{_POSTAL})(?:[ \t]+(?P<city1>{_CITY}))?"
    rf"|(?P<city>{_CITY})(?:[ \t]*,?[ \t]+(?P<state>{_STATE}))?(?:[ \t]*,?[ \t]+(?P<zip>{_POSTAL}))?"
    rf"(?:[ \t]+\((?P<paren>\p{{Lu}}[\p{{L}} ]{{1,20}})\))?(?:[ \t]+(?P<zip2>{_POSTAL}))?"
    rf"|(?P<state2>{_STATE})(?:[ \t]+(?P<zip3>{_POSTAL}))?"
    rf"){_LINE_END}"
)
_STRONG_CUE = _backwards(
    r"(?i:\b(?:address(?:es)?(?:[ \t]+on[ \t]+file|[ \t]+of[ \t]+record)?|addr|adresse|"
    r"dirección|direccion|endereço|indirizzo|anschrift|lives?[ \t]+(?:at|on|in)|lived[ \t]+(?:at|on|in)|located[ \t]+(?:at|on|in)|moved[ \t]+to|"
    r"send[ \t]+(?:it[ \t]+)?to|ship[ \t]+(?:it[ \t]+)?to|deliver(?:ed)?[ \t]+(?:it[ \t]+)?to|"
    r"return[ \t]+(?:it[ \t]+)?to|mail[ \t]+(?:it[ \t]+)?to|meet[ \t]+(?:me|us|you)?[ \t]*at|"
    r"stop[ \t]+at|off[ \t]+at|corner[ \t]+of|station[ \t]+is[ \t]+on|is[ \t]+on|is[ \t]+at|"
    r"arrived[ \t]+at|billing|shipping|mailing|reside[s]?[ \t]+at|it[ \t]+is|it'?s[ \t]+(?:at|in|on))"
    r"[ \t]*[:,]?[ \t\n]*(?:is[ \t]+)?(?:at[ \t]+)?(?:the[ \t]+)?)$"
)
_CORNER_BEFORE = _backwards(r"(?i:\b(?:the[ \t]+)?(?:corner|intersection)[ \t]+of[ \t]+)$")
_CORNER_AND = regex.compile(
    rf"\G(?:[ \t]+(?:{_TYPE_STRONG})\.?)?[ \t]+(?:[Aa]nd|&)[ \t]+(?:{_HOUSE}[ \t]+)?{_NAME}(?:[ \t]+(?:{_TYPE_STRONG}|{_TYPE_WEAK})\.?)?(?=[\s,;:)!?.]|$)"
)
_INTERSECTION_BEFORE = _backwards(
    r"(?:^|\b(?:to|at|is|on|of|in)[ \t]+|[:?][ \t]+)"
    r"((?:\p{Lu}[\p{L}\p{M}'’.-]*[ \t]+){1,3}(?:and|&)[ \t]+)$"
)
_WORD_BEFORE = _backwards(r"(?:^|[\s,:;(])(\p{Lu}[\p{Ll}\p{M}'’-]+)[ \t]+$")
_LEAD_NUMBER = _backwards(rf"(?<![\w.@/:$#%&=+-]){_HOUSE}[ \t]+$")
_UNIT_BEFORE = _backwards(
    r"(?<![\w])(?i:apt|apartment|suite|ste|unit|flat)\.?[ \t]*\#?[ \t]*[\w-]{1,6}[ \t]+(?:\d{1,6}[ \t]+)?$"
)

_NOT_NAME = _words(
    """the a an this that my your our his her their its and or but if of for to in on at by
    with from as is are was were be been it i we you he she they there here what when where
    who version release build windows java python android ios linux ubuntu chapter page step
    level stage phase room floor table figure section part item line row column error code
    port pid uid gid thread task job process node core cpu core block"""
)


_NOT_CITY = _words(
    """the a an this that my your our his her their its and or but if of for to in on at by
    with from as is are was were be been it i we you he she they there here what when where
    who phone tel telephone mobile cell fax desk office email e-mail mail web website www
    http https name title date time note notes ref regards thanks best sincerely cheers
    please call contact"""
)


#: a word before a final '.' that makes it a full stop, not an abbreviation ('St.', 'u.', '66.')
_FULL_STOP_AFTER = regex.compile(r"(?<![\p{L}.])\p{L}[\p{Ll}\p{M}]{3,}$|\p{Lu}{3,}$|\)$")


@dataclass
class Cand:
    start: int
    end: int
    score: float
    rule: str
    evidence: int = 0  # units + address lines taken in


_LETTERS = regex.compile(r"\p{L}+")
_LEADING_NUMBER = regex.compile(r"^\d\S*\s+")


def _titled(text: str) -> str:
    """Title-cased copy with the same offsets, for all-lower/all-upper texts."""
    out = _LETTERS.sub(lambda m: m.group()[:1].upper() + m.group()[1:].lower(), text)
    return out if len(out) == len(text) else text


def _name_ok(span_text: str) -> bool:
    words = [w.strip(".,").lower() for w in span_text.split()]
    alpha = [w for w in words if w and w[0].isalpha()]
    return bool(alpha) and not all(w in _NOT_NAME for w in alpha) and alpha[0] not in _NOT_NAME


def _extend(text: str, c: Cand) -> Cand:
    end = c.end
    evidence = 0
    zips = 0
    # units right after the street ('Apt. 864', 'Suite 201 Apt. 5')
    while True:
        m = _UNIT.match(text, end)
        if not m:
            break
        end = m.end()
        evidence += 2
    # following address segments (city / state / postal code / country)
    segments = 0
    while segments < 5:
        m = _SEGMENT.match(text, end)
        if not m:
            m2 = _UNIT.match(text, end)
            if m2:
                end = m2.end()
                evidence += 2
                continue
            break
        sep = m.group("sep")
        has_zip = any(m.group(g) for g in ("zip1", "zip", "zip2", "zip3"))
        has_state = bool(m.group("state") or m.group("state2"))
        if "\n" not in sep and "," not in sep:
            # space-separated continuation: only after a unit, or a postal code / state code
            if not (has_zip or has_state or evidence):
                break
            if m.group("city") and not (has_zip or has_state) and evidence < 2:
                break
        if m.group("city") and m.group("city").split()[0].lower() in _NOT_CITY:
            break
        if "\n" in sep and segments == 0 and not (has_zip or has_state) and not evidence:
            # a bare capitalised line after a street: a city only if an address line follows
            nxt = _SEGMENT.match(text, m.end())
            if not nxt or not (any(nxt.group(g) for g in ("zip1", "zip", "zip2", "zip3"))
                               or nxt.group("state") or nxt.group("state2")
                               or "\n" in nxt.group("sep")):
                break
        end = m.end()
        segments += 1
        zips += has_zip
        evidence += 1 + has_zip + has_state
    # 'the corner of X and Y'
    start = c.start
    corner = _CORNER_BEFORE.search(text, max(0, start - 40), start)
    if corner:
        start = corner.start()
        m = _CORNER_AND.match(text, end)
        if m:
            end = m.end()
        evidence += 3
    elif (inter := _INTERSECTION_BEFORE.search(text, max(0, start - 60), start)) is not None:
        start = inter.start(1)  # 'Please return to Leon and Eyrarodda 66': an intersection
        evidence += 1
    else:
        if c.rule == "morpheme_number":  # 'Brucker Bundesstrasse 31'
            word = _WORD_BEFORE.search(text, max(0, start - 40), start)
            if word and word.group(1).lower() not in _NOT_NAME:
                start = word.start(1)
        lead = _LEAD_NUMBER.search(text, max(0, start - 12), start)
        if lead and c.rule not in ("po_box", "military", "ship", "apo"):
            start = lead.start()
        ub = _UNIT_BEFORE.search(text, max(0, start - 30), start)
        if ub:
            start = ub.start()
            evidence += 2
    return Cand(start, end, c.score, c.rule, evidence + 2 * zips)


def _candidates(text: str, titled: bool = False) -> list[Cand]:
    """Street cores with their extensions; ``titled``: a title-cased copy of a one-case text,
    where a weak shape also needs an address cue (a lower-case log line is no address)."""
    cands: list[Cand] = []
    gates = _Gates(text)
    for name, rx, score in _CORE_RES:
        if not gates.allows(name):
            continue
        for m in rx.finditer(text, overlapped=False):
            s, e = m.span()
            if any(k.start <= s and e <= k.end and k.score >= score for k in cands):
                continue  # already inside a stronger reading
            core = m.group()
            if name not in ("po_box", "military", "ship", "apo", "corner") and not _name_ok(
                _LEADING_NUMBER.sub("", core)
            ):
                continue
            c = _extend(text, Cand(s, e, score, name))
            strong_cue = any(
                _STRONG_CUE.search(text, max(0, at - 80), at) is not None for at in {s, c.start}
            )
            if score == 0.0 or name == "number_name_weak_type":
                # weak shapes: need a unit/address line, or an address cue; in a one-case
                # text (perhaps a log line) a cue, or a unit and a postal-code line together
                if titled and not strong_cue and c.evidence < 5:
                    continue
                if c.evidence >= 3:
                    c.score = 0.7
                elif (
                    strong_cue
                    or (c.evidence >= 2 and name == "number_name_weak_type")
                    or (c.evidence >= 1 and name == "number_name_number")
                ):
                    c.score = 0.6
                else:
                    continue
            cands.append(c)
    return cands


def find_addresses(text: str) -> list[Cand]:
    if text.isascii():  # the same case tests, in C
        one_case = text.lower() == text or text.upper() == text
    else:
        one_case = (not any(ch.isupper() for ch in text)
                    or not any(ch.islower() for ch in text))
    probe = text
    if one_case:
        probe = _titled(text)
    cands = _candidates(probe, titled=probe is not text)
    cands.sort(key=lambda c: (-c.score, -(c.end - c.start), c.start))
    kept: list[Cand] = []
    for c in cands:
        overlapping = [k for k in kept if c.start < k.end and k.start < c.end]
        if not overlapping:
            kept.append(c)
        else:
            # merge into the kept span (a weaker, longer reading extends a stronger one)
            k = overlapping[0]
            k.start, k.end = min(k.start, c.start), max(k.end, c.end)
    kept.sort(key=lambda c: c.start)
    # trim trailing separators, and a sentence's full stop after a word ('... Madrid.')
    for c in kept:
        while c.end > c.start and text[c.end - 1] in " \t\n,;:":
            c.end -= 1
        if text[c.end - 1] == "." and _FULL_STOP_AFTER.search(text, c.start, c.end - 1):
            c.end -= 1
    return kept


class StreetAddressDetector(Detector):
    ENTITY = entities.STREET_ADDRESS
    # The pattern only satisfies PatternRecognizer; detection is done by analyze() below.
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("number_name_street", rf"\b\d{{1,5}} {_L} (?:{_TYPE_STRONG})\b", 0.01),
    ]
    CONTEXT: ClassVar[list[str]] = ["address", "street", "lives", "located", "ship", "deliver"]
    SCAN_REQUIRES = (any_gate(),)
    PREFILTER = (r"\d[^\n\d]{0,80}[^\W\d_]{2}|[^\W\d_]{2}[^\n\d]{0,80}\d"
                 r"|(?i:\b(?:street|avenue|road|boulevard|lane|terrace|crescent|parkway|corner"
                 r"|intersection)\b)")

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        return [self.result(c.start, c.end, c.score, c.rule, "street address")
                for c in find_addresses(text)]
