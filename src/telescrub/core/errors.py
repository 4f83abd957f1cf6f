"""Exceptions a user sees as one clear line (the CLI prints ``str(exc)``, never a traceback).

They are plain picklable classes so that Beam workers can raise and ship them.
"""

from __future__ import annotations


class TelescrubError(Exception):
    """Base class: a problem the user can fix; the message names what and where."""


class PolicyError(TelescrubError):
    """A policy / rules / source-schema YAML file is invalid."""


class KeyConfigError(TelescrubError):
    """No usable hash key (missing, too short, unreadable key file)."""


class InputError(TelescrubError):
    """Inputs missing or unusable as a whole (a glob matching nothing, ...)."""


class OutputError(TelescrubError):
    """The output directory cannot be used (locked, not empty in error-if-exists mode, ...)."""
