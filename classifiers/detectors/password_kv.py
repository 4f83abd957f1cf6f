"""Secrets as values of key/value pairs (entity ``SECRET``); the span is the value only.

Keys ending in a secret word, with any prefix: ``password``, ``passwd``, ``passphrase``,
``pwd``, ``<x>_pass``, ``secret``, ``client_secret``, ``token``, ``access_token``,
``api_key``/``apikey``/``x-api-key``, ``access_key``, ``secret_key``, ``private_key``,
``credentials`` (so ``DB_PASSWORD``, ``spring.datasource.password``,
``aws_secret_access_key``). Shapes: ``key=value``, ``key: value``, ``"key": "value"``
(also with JSON-escaped quotes), ``key='va lue'``, ``<password>value</password>`` and
``--password value`` command-line flags.

Deliberately not matched: keys that only contain a secret word (``token_type``,
``max_tokens``, ``tokenizer``, ``bypass``), the shell's ``PWD``/``OLDPWD``, prose without a
separator (``Failed password for root``), empty values, placeholders and masks (``null``,
``****``, ``[REDACTED]``, ``${DB_PASSWORD}``, ``<password>``).
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_WORD = (
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|credentials?)"
)
_KEY = rf"(?<![\w./-])(?!(?:OLD)?PWD\b)(?i:(?:[\w.-]*[_.-])?{_WORD}|[\w.-]*[_.-]pass)"
# ':' may have spaces around it; '=' only spaces on both sides ('password= user=x' is empty)
_SEP = r"\\?[\"']?(?:\s*:(?!=)\s*|\s+(?:=>|:=|=)\s*|(?:=>|:=|=))"
# possessive, so that an object repr ('token=Token{a64f992 ...') is not cut short to 'Token'
_BARE = r"[^\s\"',;&<>{}\[\]\\]{1,256}+(?!\s?[{(\[])"
_PLACEHOLDER = re.compile(
    r"(?i)null|nil|none|true|false|undefined|empty|redacted|filtered|hidden|masked|secret|"
    r"password|token|key|credentials?|n/a|[*x#•.?-]+|"
    r"\$\{.*\}|\$\w+|\{\{.*\}\}|%\(.*\)s|<.*>|\[.*\]|"
    r"[\w.$]+@[0-9a-f]{4,16}"  # a Java object's toString(): android.os.BinderProxy@2bd79ce
)


class PasswordKvDetector(Detector):
    ENTITY = entities.SECRET
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("kv_quoted", rf"{_KEY}{_SEP}\\?\"\K[^\"\\\n]{{1,256}}(?=\\?\")", 0.8),
        Pattern("kv_single_quoted", rf"{_KEY}{_SEP}'\K[^'\n]{{1,256}}(?=')", 0.8),
        Pattern("kv_bare", rf"{_KEY}{_SEP}(?![\"'\\]|\$\{{|\{{)\K{_BARE}", 0.7),
        Pattern("xml_element", rf"<({_KEY})>\K[^<\n]{{1,256}}(?=</\1>)", 0.8),
        Pattern("cli_flag", rf"(?<!\S)--(?i:[\w-]*{_WORD})(?:=|\s+)(?!-)\K[^\s\"']{{1,256}}", 0.7),
    ]
    CONTEXT: ClassVar[list[str]] = ["password", "secret", "token", "key", "credential"]
    PREFILTER = r"(?i)pass|pwd|secret|token|key|credential"

    def invalidate_result(self, pattern_text: str) -> bool:
        return _PLACEHOLDER.fullmatch(pattern_text.strip()) is not None
