"""Phone numbers in the usual written shapes; a bare digit run is never a phone on its own.

* ``+CC`` international: ``+447700677662``, ``+41 (0)38 549 02 90``, ``+1-604-696-5272x565``;
* North American: ``(579)888-3058``, ``201-948-1927``, ``930.167.3943``, ``001-253-366-9781``;
* a parenthesised area code: ``(08) 8747 6301``, ``(37) 788-063``, ``(11) 91234-5678``;
* without a country prefix, from large countries: Chinese mobiles (``13812345678``,
  ``138 1234 5678``: 11 digits, ``1`` then ``3``-``9``), Indian mobiles after the country code
  without ``+`` (``91-9876543210``, ``0091 98765 43210``);
* dashed pairs ``28-64-66-98`` and French dotted pairs ``01.84.17.61.18``;
* a trunk ``0`` then spaced/dashed groups: ``024 971 50 30``, ``0961-7596216``;
* anything number-like right after a phone word (``Mobile: 723 813 266``, ``tel 5403926876``)
  or right before one (``3660170548-Fax``).

Every candidate must hold 7-15 digits (an ``x123`` extension aside). Deliberately not
matched: timestamps (``081109 203615``, ``18:01:47``), dates (``2015-10-18``), IPs and
versions, SSN-shaped ``123-45-6789``, counters and bare digit runs without a phone word.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_B = r"(?<![\w.+:/=-])"
_E = r"(?![\w]|[.:/-]\w)"
_EXT = r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?"
_WORDS = r"(?i:phone|tel|telephone|mobile|cell|cellphone|fax|call|desk|ph|mob|sms|whatsapp)"
_REACH = (r"(?i:answering|answer|reach|reached|reachable|ring|dial|dialed|dialled|text|texted|"
          r"texts|message|messages|messaged|sms|registered|callback)")
_FILLER = r"(?i:me|us|him|her|them|on|at|to|is|was|no|nr|number|num|#)"
_AFTER_WORDS = r"(?i:fax|office|mobile|cell|home|work|tel|phone)"
_LOOSE = r"\+?\(?\d[\d ().-]{4,22}\d"
_INTL = r"\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){1,6}"
_NANP = r"(?:(?:1|001)[ .-])?(?:\(\d{3}\) ?\d{3}[ .-]?|\d{3}([.-])\d{3}\1)\d{4}"
_PAREN_AREA = r"\(\d{2,4}\) ?\d{2,5}(?:[ .-]\d{2,4}){1,3}"
_CN_MOBILE = r"1[3-9]\d(?:([ -])\d{4}\1\d{4}|\d{8})"
_IN_MOBILE = r"(?:0091|91)[ -]?[6-9]\d{4}[ -]?\d{5}"
_PAIRS = r"\d{2}(?:-\d{2}){3,4}|0\d(?:\.\d{2}){4}"
_TRUNK = r"(?:0\d{1,4}(?:[ -]\d{2,8}){1,4}|0\d{1,4}/\d{5,10})"
_EXT_RE = re.compile(r"\s?(?:x|ext\.?)\s?\d{1,6}$")
_DATE_RE = re.compile(r"(?:19|20)\d\d[.-]\d\d?[.-]\d\d?|\d\d?[.-]\d\d?[.-](?:19|20)\d\d")
_IP_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_SSN_RE = re.compile(r"\d{3}-\d{2}-\d{4}")


class PhoneDetector(Detector):
    ENTITY = entities.PHONE
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("phone_intl", rf"(?<![\w+]){_INTL}{_EXT}{_E}", 0.7),
        Pattern("phone_nanp", rf"{_B}{_NANP}{_EXT}{_E}", 0.6),
        Pattern("phone_paren_area", rf"(?<![\w(]){_PAREN_AREA}{_E}", 0.5),
        Pattern("phone_pairs", rf"{_B}(?:{_PAIRS}){_E}", 0.5),
        Pattern("phone_cn_mobile", rf"{_B}{_CN_MOBILE}{_E}", 0.55),
        Pattern("phone_in_mobile", rf"(?<![\w+.:/=-]){_IN_MOBILE}{_E}", 0.6),
        Pattern("phone_trunk", rf"{_B}{_TRUNK}{_E}", 0.5),
        Pattern(
            "phone_after_word",
            rf"\b{_WORDS}\b(?:[^\w\n]{{1,3}}{_FILLER}\b){{0,3}}[^\w]{{0,5}}\K{_LOOSE}{_EXT}{_E}",
            0.7,
        ),
        Pattern(  # 'not answering at 374 780 163', 'messages to 699 956 915'
            "phone_after_verb",
            rf"\b{_REACH}(?:[ \t]+{_FILLER}){{0,2}}[ \t]+\K{_LOOSE}{_EXT}{_E}",
            0.6,
        ),
        Pattern(
            "phone_before_word",
            rf"{_B}{_LOOSE}(?=[ \t]?[-/(]?[ \t]?{_AFTER_WORDS}\b)",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["phone", "tel", "call", "mobile", "cell", "fax", "contact"]
    PREFILTER = r"\d[ ().-]{0,3}\d{2}"

    def invalidate_result(self, pattern_text: str) -> bool:
        number = _EXT_RE.sub("", pattern_text).strip()
        digits = [c for c in number if c.isdigit()]
        if not 7 <= len(digits) <= 15 or len(set(digits)) == 1:
            return True
        return any(r.fullmatch(number) for r in (_DATE_RE, _IP_RE, _SSN_RE))
