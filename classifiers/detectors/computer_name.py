"""A user's computer name (entity ``COMPUTER_NAME``): single-label Windows/NetBIOS-style names.

A workstation's name is EUII (the taxonomy: "the user's computer name") wherever it appears,
also in a column kept as a service host (the ``Computer`` of a Windows event): its own entity,
so the keep guard, which leaves a host column's ``HOSTNAME`` values alone, still scrubs it.

DNS names with dots are the hostname detector's; this one covers what it cannot see:

* Windows' generated defaults: ``DESKTOP-1DUTFWV``, ``LAPTOP-NY59ABV6``, ``WIN-3K2J9QX1``;
* asset-tag names that start with a device-type prefix and hold two more groups:
  ``LT-NLD-RDK`` (laptop, country, user initials), ``WS-FIN-042``, ``NB-BER-7731``;
* asset-tag names with a digit: ``NORTHWIND-LT-7050``, ``PC-0042``, ``WS12-FIN`` — only right
  after a cue word (``machine``, ``computer``, ``workstation``, ``host``, ``device``,
  ``hostname``, ``ComputerName=``, ``Workstation Name:``).

Deliberately not matched: upper-case words without a digit (``ERROR``, ``HTTP-GET``), error
codes such as ``AADSTS50076`` outside a cue, and anything with a dot.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_END = r"(?![\w.-]*\w)"
_ASSET = r"(?=[A-Z0-9-]*\d)[A-Z][A-Z0-9]{1,14}(?:-[A-Z0-9]{1,15}){0,3}"
_CUE = (r"(?i:machine|computer|workstation|host|device|hostname|pc|laptop|desktop)"
        r"(?i:\s*name)?")


class ComputerNameDetector(Detector):
    ENTITY = entities.COMPUTER_NAME
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("windows_default",
                rf"(?<![\w.-])(?:DESKTOP|LAPTOP|WIN|MININT)-[A-Z0-9]{{5,15}}{_END}", 0.8),
        Pattern("asset_tag",  # ORG-LT-1234: enterprise asset naming (laptop, desktop, VM...)
                r"(?<![\w.-])[A-Z][A-Z0-9]{1,14}-(?:LT|DT|PC|WS|NB|LAP|DSK|VM|MBP|MAC)-?\d{2,6}"
                + _END, 0.6),
        Pattern("asset_prefix",  # LT-NLD-RDK: device type, site/country, user or number
                r"(?<![\w.-])(?:LT|DT|PC|WS|NB|LAP|DSK|WKS|MBP|MBA)-[A-Z0-9]{2,8}-[A-Z0-9]{2,8}"
                + _END, 0.6),
        Pattern("cue_asset", rf"\b{_CUE}(?:\s*[:=]\s*|\s+)[\"']?\K{_ASSET}{_END}", 0.65),
    ]
    CONTEXT: ClassVar[list[str]] = ["machine", "computer", "workstation", "host", "device"]
    PREFILTER = r"(?:DESKTOP|LAPTOP|WIN|MININT)-|(?:LT|DT|PC|WS|NB|LAP|DSK|WKS|MBP|MBA)-[A-Z0-9]{2,8}-|-(?:LT|DT|PC|WS|NB|LAP|DSK|VM|MBP|MAC)-?\d|(?i:machine|computer|workstation|host|device|pc|laptop)"
