"""GUIDs / UUIDs: ``8-4-4-4-12`` hex digits, bare or in braces (``{...}``, registry style).

Either case is accepted. A GUID may follow a word prefix such as ``req-`` (OpenStack
request ids ``req-<uuid>``); the span is then the GUID alone. The nil UUID (all zeros)
is rejected.

Deliberately not matched: hex runs without dashes (see ``hex_id``), GUIDs missing a digit,
or embedded in a longer dashed hex chain (``0000-<uuid>``, ``<uuid>-1a2b``).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_H = "[0-9A-Fa-f]"
_UUID = rf"{_H}{{8}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}}"
# not inside a word, but a non-hex word prefix ending in '-' (req-, instance-) is fine
_BEFORE = r"(?:(?<![\w-])|(?<=[G-Zg-z_]\w*-))"
_AFTER = r"(?!\w|-[0-9A-Fa-f])"


class GuidDetector(Detector):
    ENTITY = entities.GUID
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("guid_braced", rf"(?<![\w-])\{{{_UUID}\}}", 0.8),
        Pattern("guid", rf"{_BEFORE}{_UUID}{_AFTER}", 0.7),
    ]
    CONTEXT: ClassVar[list[str]] = ["guid", "uuid", "id", "device", "instance", "session"]
    PREFILTER = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-"
    EXACT = rf"^{_UUID}$"
    EXACT_SCORE = 0.7
    EXACT_EXCLUDE = ("00000000-0000-0000-0000-000000000000",)

    def invalidate_result(self, pattern_text: str) -> bool:
        return set(pattern_text.strip("{}").replace("-", "")) == {"0"}
