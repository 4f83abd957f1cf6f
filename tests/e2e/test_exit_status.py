"""Every exit status of ``telescrub run``, end to end through the CLI (README, Command line):

* 0: done, accounting identity holds, post-write verification passed;
* 1: the accounting identity broke (a record lost between reading and writing, injected
  through the ``parquet.rows`` hook point by tests/hooked.py), or the post-write verification
  failed (an identifier left in clear by a policy mistake; a file changed after the commit);
* 2: a user error of each class (policy, key, input, output, a bad option), one line;
* 3: a pipeline failure: the step and the exception type, never its message, which here
  quotes planted sample values, at -q, default, -v and -vv (-vv adds the frames).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import LEAKCHECK, ROOT, SAMPLE, telescrub

from telescrub.core import errors

pytestmark = pytest.mark.slow
ROSTER = "sample_data/teams_chat_roster.csv"
TABLE = "teams_chat_roster"


def _report(out: Path) -> dict:
    return json.loads((out / "_report" / "report.json").read_text())


def _one_error_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("telescrub: error: "), proc.stderr
    return lines[0]


def test_exit_0_when_everything_holds(sample_run):
    out, proc = sample_run
    assert proc.returncode == 0
    assert "verification: PASSED" in proc.stdout and "ERROR" not in proc.stdout
    assert _report(out)["accounting_ok"] is True


def test_exit_1_when_a_record_is_lost_between_reading_and_writing(tmp_path):
    out = tmp_path / "out"
    # --no-verify: the exit status must come from the identity itself, not from the
    # post-write verification (whose accounting check would fail as well)
    proc = telescrub("run", ROSTER, "--output", str(out), "--no-verify", check=False,
                     hooks=("--drop-row", TABLE))
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "verification:" not in proc.stdout
    assert ("ERROR: accounting identity broken (read != written + quarantined + dropped) for: "
            f"{ROSTER}") in proc.stdout
    report = _report(out)
    assert report["accounting_ok"] is False
    [entry] = [i for i in report["inputs"] if i["source"] == ROSTER]
    assert not entry["accounted"] and entry["read"] == entry["written"] + 1
    # and `telescrub verify` sees it too: the report does not add up
    proc = telescrub("verify", str(out), check=False)
    assert proc.returncode == 1 and "accounting       FAILED" in proc.stdout, proc.stdout


def test_exit_1_when_the_post_write_verification_finds_an_identifier(tmp_path):
    """A policy mistake (keep the last 64 characters of an e-mail address: all of it) is
    caught by the residual scan; the run exits 1 and names the check."""
    policy = tmp_path / "policy.yaml"
    text = (ROOT / "schemas" / "policy.yaml").read_text()
    assert "fields: []" in text
    policy.write_text(text.replace("fields: []", "fields:\n  - {match: \"" + TABLE
                                   + '.email", action: mask, keep_last: 64}'))
    shutil.copy(ROOT / "schemas" / "rules.yaml", tmp_path / "rules.yaml")
    out = tmp_path / "out"
    proc = telescrub("run", ROSTER, "--output", str(out), "--policy", str(policy),
                     check=False)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "verification: FAILED (residual); see _report/verify.json" in proc.stdout
    assert _report(out)["accounting_ok"] is True and "accounting identity" not in proc.stdout
    verify = json.loads((out / "_report" / "verify.json").read_text())
    assert [f["field"] for f in verify["residual"]["by_field"]] == ["email"]
    assert "@" not in proc.stdout + proc.stderr  # neither the address nor a masked one


def test_exit_1_when_a_file_changed_after_the_commit(tmp_path):
    out = tmp_path / "out"
    proc = telescrub("run", ROSTER, "--output", str(out), check=False,
                     hooks=("--tamper-after-commit",))
    assert proc.returncode == 1, proc.stderr[-3000:]
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("verification: ")]
    assert line.startswith("verification: FAILED (") and "manifests" in line, line
    verify = json.loads((out / "_report" / "verify.json").read_text())
    assert any("sha256 mismatch" in p for p in verify["checks"]["manifests"]["problems"])


# ---------------------------------------------------------------------------- exit 2


def _bad_policy(tmp_path: Path) -> list[str]:
    path = tmp_path / "policy.yaml"
    text = (ROOT / "schemas" / "policy.yaml").read_text()
    path.write_text(text.replace("implausible: null_partition ", "implausible: discard "))
    shutil.copy(ROOT / "schemas" / "rules.yaml", tmp_path / "rules.yaml")
    return ["--policy", str(path)]


def _key_file(tmp_path: Path) -> list[str]:
    (tmp_path / "short.key").write_text("too-short\n")
    return ["--key-file", str(tmp_path / "short.key")]


def _not_empty(tmp_path: Path) -> list[str]:
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "out" / "notes.txt").write_text("not telescrub's")
    return ["--mode", "error-if-exists"]


def _unrelated(tmp_path: Path) -> list[str]:
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "out" / "notes.txt").write_text("not telescrub's")
    return []


#: (case, error class, extra arguments, key, what the one line says)
USER_ERRORS = [
    ("policy value", errors.PolicyError, _bad_policy, True,
     r"policy\.yaml:\d+: event_time\.implausible: unknown routing 'discard'"),
    ("no key", errors.KeyConfigError, lambda t: [], False, r"no hash key: set \$TELESCRUB_HASH_KEY"),
    ("short key file", errors.KeyConfigError, _key_file, False,
     r"short\.key line 1 is 9 bytes; at least 32 are required"),
    ("glob matches nothing", errors.InputError, lambda t: ["nothing-here-*.jsonl"], True,
     "matches no file"),
    ("rows per file", errors.InputError, lambda t: ["--rows-per-file", "0"], True,
     "--rows-per-file must be at least 1"),
    ("hostile table name", errors.InputError, lambda t: ["--table", "../x"], True,
     r"--table '\.\./x' must not contain '\.\.' or path separators"),
    ("error-if-exists", errors.OutputError, _not_empty, True,
     r"is not empty \(--mode error-if-exists\)"),
    ("unrelated directory", errors.OutputError, _unrelated, True,
     "does not look like a telescrub output"),
    ("streaming option without --streaming", errors.TelescrubError,
     lambda t: ["--watch", str(t)], True, "--watch need --streaming"),
]


def test_every_user_error_class_has_a_case():
    classes = {c for _, c, *_ in USER_ERRORS}
    defined = {c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.TelescrubError)}
    assert classes == defined


@pytest.mark.parametrize(("case", "cls", "extra", "with_key", "message"), USER_ERRORS,
                         ids=[c[0] for c in USER_ERRORS])
def test_exit_2_for_each_user_error_one_line(case, cls, extra, with_key, message, tmp_path,
                                            monkeypatch):
    import re

    from telescrub.app.cli import build_parser

    args = extra(tmp_path)
    inputs = [] if case == "glob matches nothing" else [ROSTER]
    argv = ["run", *inputs, "--output", str(tmp_path / "out"), *args]
    proc = telescrub(*argv, check=False, **({} if with_key else {"key": None}))
    assert proc.returncode == 2, (proc.stdout, proc.stderr[-3000:])
    line = _one_error_line(proc)
    assert re.search(message, line), line
    assert proc.stdout == ""
    # in-process: it is that class the CLI mapped to 2 (it fails before any pipeline runs)
    monkeypatch.chdir(ROOT)
    if with_key:
        monkeypatch.setenv("TELESCRUB_HASH_KEY", "k" * 40)
    else:
        monkeypatch.delenv("TELESCRUB_HASH_KEY", raising=False)
    parsed, rest = build_parser().parse_known_args(argv)
    with pytest.raises(errors.TelescrubError) as exc:
        parsed.func(parsed, rest)
    assert type(exc.value) is cls and f"telescrub: error: {exc.value}" == line


def test_exit_2_for_a_bad_option_with_usage():
    proc = telescrub("run", ROSTER, "--output", "x", "--mode", "replace", check=False)
    assert proc.returncode == 2
    assert "invalid choice: 'replace'" in proc.stderr and "Traceback" not in proc.stderr
    proc = telescrub("verify", check=False)  # a command without its argument
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_exit_2_for_the_other_commands(tmp_path):
    for args in (("verify", str(tmp_path / "missing")), ("purge", str(tmp_path / "missing")),
                 ("report", str(tmp_path))):
        proc = telescrub(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        _one_error_line(proc)


# ---------------------------------------------------------------------------- exit 3


def _planted(n: int = 4) -> list[str]:
    truth = json.loads((SAMPLE / "truth.json").read_text())["values"]
    return [truth[kind][0] for kind in ("email", "person_name", "ipv4", "credit_card")][:n]


@pytest.mark.parametrize("verbosity", ["-q", None, "-v", "-vv"])
def test_exit_3_withholds_the_message_at_every_verbosity(verbosity, tmp_path, sample_run):
    """A failure inside the pipeline whose message quotes sample values (as a bug's could):
    exit 3, the step and the type, and no value in stdout or stderr; the previous output
    stays whole."""
    planted = _planted()
    out = tmp_path / "out"
    shutil.copytree(sample_run[0], out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    message = "could not write row " + " | ".join(planted)
    args = [verbosity] if verbosity else []
    proc = telescrub(*args, "run", ROSTER, "--output", str(out), check=False,
                     hooks=("--fail-at", "parquet.rows", "--message", message))
    assert proc.returncode == 3, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("telescrub: error: pipeline failed in step TelescrubBatch/"
                           "ScrubFiles/ScrubAndWrite"), last
    assert ": RuntimeError (its message is withheld because it may quote data" in last
    for value in planted:
        assert value not in proc.stdout and value not in proc.stderr, value
    assert "could not write row" not in proc.stderr
    if verbosity == "-vv":  # where it failed, never what it said
        assert "Traceback (most recent call last):" in proc.stderr
        assert "builtins.RuntimeError: (message withheld)" in proc.stderr
        assert "tests/hooked.py" in proc.stderr
    else:
        assert "Traceback" not in proc.stderr
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "stdout.log").write_text(proc.stdout)
    (logs / "stderr.log").write_text(proc.stderr)
    if LEAKCHECK.exists():
        import subprocess
        import sys

        res = subprocess.run([sys.executable, str(LEAKCHECK), str(SAMPLE / "truth.json"),
                              str(logs)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout[-3000:]
    # the failed run left the previous output as it was (its staging is gone)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before


# ---------------------------------------------------------------------------- no network


def test_a_run_never_reaches_for_the_network(tmp_path):
    """Every CLI run of the suite goes through tests/hooked.py --block-network (exit 97 after
    a blocked attempt, even one Beam swallowed). The default runner passes; naming Beam's
    DirectRunner, which first looks up github.com to download Prism, is caught."""
    proc = telescrub("run", ROSTER, "--output", str(tmp_path / "a"), check=False)
    assert proc.returncode == 0 and "network access attempted" not in proc.stderr
    proc = telescrub("run", ROSTER, "--output", str(tmp_path / "b"), "--runner=DirectRunner",
                     "--no-verify", check=False)
    assert proc.returncode == 97, (proc.returncode, proc.stderr[-2000:])
    assert "network access attempted (blocked): github.com:443" in proc.stderr
