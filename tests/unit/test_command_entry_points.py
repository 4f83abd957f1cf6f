"""``python -m telescrub.app.purge`` and ``python -m telescrub.app.subject`` run one command
without loading the others, with the same errors and exit statuses as ``telescrub``: a
TelescrubError is one line and exit 2, anything unexpected exit 3 with its message withheld
(it may quote data)."""

from __future__ import annotations

import pytest

from telescrub.app import purge, subject
from telescrub.core.errors import TelescrubError

VALUE = "jane.roe@example.com"


@pytest.mark.parametrize("module,argv", [(purge, ["OUT"]), (subject, ["find", "OUT",
                                                                       "--email", VALUE])])
@pytest.mark.parametrize("raised,status", [(TelescrubError("no such output"), 2),
                                           (ValueError(f"bad value {VALUE}"), 3),
                                           (KeyboardInterrupt(), 130)])
def test_a_standalone_command_fails_like_the_cli(module, argv, raised, status, monkeypatch,
                                                  capsys):
    def fail(*_args):
        raise raised

    monkeypatch.setattr(module, "register", _registering(module.register, fail))
    assert module.main(argv) == status
    err = capsys.readouterr().err
    assert err.startswith("telescrub: ")
    assert VALUE not in err
    if status == 2:
        assert "no such output" in err
    if status == 3:
        assert "ValueError" in err and "withheld" in err


def _registering(register, func):
    """The module's own parser, with its command's function replaced by ``func``."""
    def wrapped(subparsers):
        register(subparsers)
        for parser in subparsers.choices.values():
            _replace(parser, func)
    return wrapped


def _replace(parser, func):
    if parser.get_default("func") is not None:
        parser.set_defaults(func=func)
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for sub in action.choices.values():
            _replace(sub, func)
