"""IBANs (ISO 13616): country code, two check digits, BBAN; validated by length per
country and the ISO 7064 mod-97 check, so a match scores 1.0 and a non-match is dropped.

Compact form in any case (``GB82WEST12345698765432``, ``gb42nawi04454264788619``) or the
printed form in groups of four split by single spaces or dashes, in any case
(``GB82 WEST 1234 5698 7654 32``, ``DE89-3704-0044-0532-0130-00``, ``gb82 west 1234 ...``):
the whole IBAN is the span, the country and bank-code letters included. The country fixes
the length, so the groups are taken up to exactly that many characters: a word after the
IBAN ("... 7654 32 for the refund") is never taken for a group.

Deliberately not matched: unknown country codes, wrong lengths, failed checksums, IBANs
glued to other letters or digits, groups split by dots or by mixed separators, groups of
other than four characters (the last one aside).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from presidio_analyzer import Pattern, RecognizerResult

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_LENGTHS_TEXT = """AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28
    CZ24 DE22 DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28
    HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27
    MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22
    RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20
    YE30"""
_LENGTHS = {item[:2]: int(item[2:]) for item in _LENGTHS_TEXT.split()}
_B = r"(?<![A-Za-z0-9])"
_E = r"(?![A-Za-z0-9])"
_GROUPED = r"[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?"
#: where an IBAN may start: a country code and two check digits, not glued to a word
_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")


def iban_ok(text: str) -> bool:
    iban = text.replace(" ", "").replace("-", "").upper()
    if _LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


class IbanDetector(Detector):
    ENTITY = entities.IBAN
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("iban_compact", rf"{_B}(?i:[A-Z]{{2}}\d{{2}}[A-Z0-9]{{11,30}}){_E}", 0.5),
        Pattern("iban_grouped", rf"{_B}{_GROUPED}{_E}", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = ["iban", "bank", "account", "transfer", "sepa"]
    PREFILTER = r"[A-Za-z]{2}\d{2}"

    def validate_result(self, pattern_text: str) -> bool:
        return iban_ok(pattern_text)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Candidates from each country code, taken to the country's length (module doc)."""
        if self.ENTITY not in entities:
            return []
        out = []
        for m in _START.finditer(text):
            end = _iban_end(text, m.start(), _LENGTHS.get(m.group(0)[:2].upper(), 0))
            if end is not None and iban_ok(text[m.start():end]):
                out.append(self.result(m.start(), end, 1.0, "iban", "pattern"))
        return out


def _iban_end(text: str, start: int, length: int) -> int | None:
    """End of an IBAN of ``length`` characters starting at ``start``: compact, or in groups of
    four after the country code and check digits split by one kind of separator."""
    if not length:
        return None
    i, n, count, sep, group = start, len(text), 0, "", 0
    while i < n and count < length:
        ch = text[i]
        if ch.isascii() and ch.isalnum():
            count += 1
            group += 1
            i += 1
            continue
        if ch not in " -" or count < 4 or (sep and ch != sep) or group != 4:
            return None  # not a separator, a second kind of one, or a short group
        sep, group = ch, 0
        i += 1
        if i < n and not text[i].isalnum():
            return None
    if count != length or (i < n and text[i].isascii() and text[i].isalnum()):
        return None
    return i
