"""Deterministic synthetic telemetry and syslog for ``tools/bench.py``.

    python tools/bench_gen.py --records 100000 --log-lines 200000 --out bench/data

Writes (and reuses when ``manifest.json`` says they were made with the same parameters):

* ``telemetry.jsonl``       N nested telemetry records, 12 leaf fields; about a fifth carry a
                            free-text ``message`` with embedded identifiers (e-mails, IPv4/IPv6,
                            GUIDs, phone numbers, user names, people's names);
* ``structured.jsonl``      the same records without ``message`` (structured-only workload);
* ``syslog.log``            L syslog (RFC 3164) lines, most with identifiers in the text;
* ``truth.json``            the identifiers planted in the first ``--truth`` lines of each file
                            (``{file: {line: [[type, value], ...]}}``) for the recall check.

Values come from bounded pools with a skewed (Zipf-like) choice, as in real telemetry where
the same users, devices and addresses recur; ``eventId`` is unique per record. Nothing here
is tuned to telescrub's detectors: identifiers use common written shapes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import uuid
from collections.abc import Iterator
from typing import Any

GEN_VERSION = 3
SEED = 20261122

def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words("james mary robert patricia john jennifer michael linda david elizabeth william "
         "barbara richard susan joseph jessica thomas sarah wei mei hiroshi yuki olga ivan "
         "fatima ahmed priya arjun lucia mateo chloe lucas amara kwame ingrid lars sofia "
         "noah emma liam ava ethan mia keoni hyejin obinna eleni imran")
LAST = _words("smith johnson williams brown jones garcia miller davis rodriguez martinez lee "
        "wang chen tanaka sato ivanova petrov khan ali sharma patel rossi moreau mueller "
        "schmidt nakamura kim park nguyen okafor mensah larsen andersson silva santos "
        "kahananui seong eze georgiou qureshi novak horvat")
DOMAINS = ("contoso.com", "fabrikam.com", "northwind.example", "tailspintoys.com",
           "adatum.onmicrosoft.com", "woodgrove.example.org", "litware.net")
EVENT_TYPES = ("signin", "fileAccess", "meetingJoin", "crash", "heartbeat", "policyEval",
               "syncComplete", "appLaunch")
OSES = ("Windows 10.0.22631", "Windows 10.0.19045", "macOS 15.1.1", "iOS 18.1.1",
        "Android 15", "Ubuntu 24.04")
STATUS = ("ok", "ok", "ok", "ok", "ok", "timeout", "denied", "E_FAIL 0x80004005", "retry")
HOSTS = [f"{p}-{i:02d}" for p in ("web", "build-ci", "db", "mail", "vpn", "app") for i in
         range(1, 13)]


def _zipf_index(rng: random.Random, n: int) -> int:
    """Skewed index in [0, n): a few values are very common, most are rare."""
    return min(n - 1, int(n * rng.random() ** 3))


class Pools:
    """Bounded pools of identifiers (sizes scale mildly with the run)."""

    def __init__(self, rng: random.Random, records: int) -> None:
        n_users = max(1000, min(50_000, records // 20))
        self.users = []
        for _ in range(n_users):
            f, last = rng.choice(FIRST), rng.choice(LAST)
            login = f"{f[0]}{last}{rng.randrange(100)}" if rng.random() < 0.5 else f"{f}.{last}"
            self.users.append({
                "first": f.capitalize(), "last": last.capitalize(), "login": login,
                "upn": f"{f}.{last}{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
                "oid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "phone": _phone(rng)})
        self.tenants = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(300)]
        self.devices = [str(uuid.UUID(int=rng.getrandbits(128), version=4))
                        for _ in range(max(2000, min(100_000, records // 10)))]
        self.ips = [_ipv4(rng) for _ in range(max(2000, min(200_000, records // 5)))]
        self.versions = [f"16.0.{rng.randrange(17000, 18500)}.{rng.randrange(20000, 20300)}"
                         for _ in range(40)]


def _ipv4(rng: random.Random) -> str:
    return f"{rng.choice((10, 23, 31, 52, 81, 98, 104, 151, 172, 185, 203))}." \
           f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _ipv6(rng: random.Random) -> str:
    return "2001:db8:" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(6))


#: assigned North American area codes (a random 3-digit code is often unassigned, and
#: validating recognizers such as Presidio's rightly reject those)
AREA_CODES = (206, 212, 213, 303, 305, 312, 404, 415, 425, 503, 512, 602, 617, 702, 713, 718,
              805, 917, 919, 972)


def _phone(rng: random.Random) -> str:
    k = rng.randrange(4)
    a, b, c = rng.choice(AREA_CODES), rng.randrange(200, 999), rng.randrange(10000)
    if k == 0:
        return f"+1-{a}-555-{c:04d}"
    if k == 1:
        return f"({a}) {b}-{c:04d}"
    if k == 2:
        return f"+44 20 {rng.randrange(7000, 8000)} {c:04d}"
    return f"{a}.{b}.{c:04d}"


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _message(rng: random.Random, p: Pools, u: dict[str, str], ip: str,
             ) -> tuple[str, list[list[str]]]:
    """(free text, planted identifiers) for a telemetry record's message."""
    k = rng.randrange(10)
    if k == 0:
        g = _guid(rng)
        return (f"User {u['upn']} signed in from {ip} with correlation id {g}",
                [["email", u["upn"]], ["ipv4", ip], ["guid", g]])
    if k == 1:
        return (f"Sync failed for {u['first']} {u['last']} ({u['upn']}); retry scheduled in "
                f"{rng.randrange(1, 60)} min", [["email", u["upn"]], ["person", f"{u['first']} {u['last']}"]])
    if k == 2:
        return (f"Customer {u['first']} {u['last']} asked for a call back at {u['phone']} "
                f"about case {rng.randrange(100000, 999999)}",
                [["person", f"{u['first']} {u['last']}"], ["phone", u["phone"]]])
    if k == 3:
        return (f"Failed password for {u['login']} from {ip} port {rng.randrange(1024, 65535)}",
                [["username", u["login"]], ["ipv4", ip]])
    if k == 4:
        v6 = _ipv6(rng)
        return (f"Connection reset by peer {v6} while uploading for user {u['login']}",
                [["ipv6", v6], ["username", u["login"]]])
    if k == 5:
        g = _guid(rng)
        return (f"Device {g} enrolled by {u['upn']}, contact {u['phone']} for approval",
                [["guid", g], ["email", u["upn"]], ["phone", u["phone"]]])
    if k == 6:
        return (f"Quota warning: mailbox of {u['upn']} is at {rng.randrange(80, 100)}% "
                f"of its limit", [["email", u["upn"]]])
    if k == 7:
        return (f"Crash in module renderer.dll at offset 0x{rng.getrandbits(24):06x}; "
                f"{rng.randrange(1, 9)} threads dumped", [])
    if k == 8:
        return (f"Heartbeat ok, latency {rng.randrange(5, 900)} ms, "
                f"queue depth {rng.randrange(0, 50)}", [])
    return (f"Policy evaluation denied access to \\\\files01\\share\\{u['login']} from {ip}",
            [["username", u["login"]], ["ipv4", ip]])


def telemetry(records: int, seed: int = SEED, with_message: bool = True,
              ) -> Iterator[tuple[dict[str, Any], list[list[str]]]]:
    """(record, planted identifiers) for ``records`` records, deterministically."""
    rng = random.Random(seed)
    pools = Pools(random.Random(seed + 1), records)
    start = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    span = 3 * 86400  # three days -> three event_date partitions
    for i in range(records):
        u = pools.users[_zipf_index(rng, len(pools.users))]
        ip = pools.ips[_zipf_index(rng, len(pools.ips))]
        dev = pools.devices[_zipf_index(rng, len(pools.devices))]
        ts = start + dt.timedelta(seconds=span * i / max(records, 1) + rng.random())
        rec: dict[str, Any] = {
            "eventId": _guid(rng),
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
            "eventType": EVENT_TYPES[_zipf_index(rng, len(EVENT_TYPES))],
            "tenant": {"id": pools.tenants[_zipf_index(rng, len(pools.tenants))]},
            "user": {"upn": u["upn"], "objectId": u["oid"]},
            "device": {"id": dev, "os": OSES[_zipf_index(rng, len(OSES))], "ip": ip},
            "app": {"version": pools.versions[_zipf_index(rng, len(pools.versions))]},
            "metrics": {"durationMs": int(rng.expovariate(1 / 250)),
                        "bytesSent": rng.randrange(0, 5_000_000)},
            "status": STATUS[rng.randrange(len(STATUS))],
        }
        truth = [["email", u["upn"]], ["guid", u["oid"]], ["guid", dev], ["ipv4", ip]]
        msg_draw = rng.random()
        msg, planted = _message(rng, pools, u, ip)
        if with_message and msg_draw < 0.2:
            rec["message"] = msg
            truth = truth + planted
        yield rec, truth


_MONTHS = _words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec")


def syslog(lines: int, seed: int = SEED) -> Iterator[tuple[str, list[list[str]]]]:
    """(RFC 3164 line, planted identifiers) for ``lines`` lines, deterministically."""
    rng = random.Random(seed + 7)
    pools = Pools(random.Random(seed + 1), lines)
    start = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    for i in range(lines):
        ts = start + dt.timedelta(seconds=3 * 86400 * i / max(lines, 1))
        host = HOSTS[_zipf_index(rng, len(HOSTS))]
        u = pools.users[_zipf_index(rng, len(pools.users))]
        ip = pools.ips[_zipf_index(rng, len(pools.ips))]
        pid = rng.randrange(300, 65000)
        k = rng.randrange(12)
        if k == 0:
            body = f"sshd[{pid}]: Failed password for {u['login']} from {ip} port " \
                   f"{rng.randrange(1024, 65535)} ssh2"
            t = [["username", u["login"]], ["ipv4", ip]]
        elif k == 1:
            body = f"sshd[{pid}]: Accepted publickey for {u['login']} from {ip} port " \
                   f"{rng.randrange(1024, 65535)} ssh2"
            t = [["username", u["login"]], ["ipv4", ip]]
        elif k == 2:
            body = f"sshd[{pid}]: pam_unix(sshd:session): session opened for user " \
                   f"{u['login']}(uid={rng.randrange(1000, 3000)}) by (uid=0)"
            t = [["username", u["login"]]]
        elif k == 3:
            body = f"postfix/smtp[{pid}]: {rng.getrandbits(40):010X}: to=<{u['upn']}>, " \
                   f"relay=mx.{u['upn'].split('@')[1]}[{ip}]:25, delay=0.{rng.randrange(99)}, " \
                   f"status=sent (250 2.0.0 OK)"
            t = [["email", u["upn"]], ["ipv4", ip]]
        elif k == 4:
            mac = ":".join(f"{rng.getrandbits(8):02x}" for _ in range(6))
            body = f"dhcpd[{pid}]: DHCPACK on {ip} to {mac} via eth0"
            t = [["ipv4", ip], ["mac", mac]]
        elif k == 5:
            g = _guid(rng)
            body = f"webapp[{pid}]: request {g} from {ip} by {u['upn']} completed in " \
                   f"{rng.randrange(2, 3000)} ms"
            t = [["guid", g], ["ipv4", ip], ["email", u["upn"]]]
        elif k == 6:
            body = f"support[{pid}]: callback requested by {u['first']} {u['last']} at " \
                   f"{u['phone']}"
            t = [["person", f"{u['first']} {u['last']}"], ["phone", u["phone"]]]
        elif k == 7:
            v6 = _ipv6(rng)
            body = f"vpn[{pid}]: tunnel up for user {u['login']} from {v6}"
            t = [["username", u["login"]], ["ipv6", v6]]
        elif k == 8:
            body = f"sudo[{pid}]:   {u['login']} : TTY=pts/{rng.randrange(9)} ; PWD=/home/" \
                   f"{u['login']} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
            t = [["username", u["login"]]]
        elif k == 9:
            body = f"kernel: [{rng.randrange(10**5, 10**6)}.{rng.randrange(10**6):06d}] " \
                   f"eth0: link up, 1000 Mbps, full duplex"
            t = []
        elif k == 10:
            body = f"CRON[{pid}]: (root) CMD (run-parts /etc/cron.hourly)"
            t = []
        else:
            body = f"systemd[1]: Started session {rng.randrange(1, 9999)} of user " \
                   f"{u['login']}."
            t = [["username", u["login"]]]
        stamp = f"{_MONTHS[ts.month - 1]} {ts.day:2d} {ts:%H:%M:%S}"
        yield f"{stamp} {host} {body}", t


def params_digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def generate(out_dir: str, records: int, log_lines: int, truth_lines: int = 2000,
             quiet: bool = False) -> dict[str, Any]:
    """Write the files unless ``manifest.json`` already records the same parameters."""
    params = {"version": GEN_VERSION, "seed": SEED, "records": records,
              "log_lines": log_lines, "truth_lines": truth_lines}
    digest = params_digest(params)
    manifest_path = os.path.join(out_dir, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as fh:
            manifest: dict[str, Any] = json.load(fh)
        if manifest.get("digest") == digest and all(
                os.path.getsize(os.path.join(out_dir, f)) == n
                for f, n in manifest["files"].items()):
            if not quiet:
                print(f"bench data: reusing {out_dir} ({digest})", file=sys.stderr)
            return manifest
    except (OSError, ValueError, KeyError):
        pass
    os.makedirs(out_dir, exist_ok=True)
    if not quiet:
        print(f"bench data: generating {records:,} records and {log_lines:,} log lines "
              f"into {out_dir} ...", file=sys.stderr)
    truth: dict[str, dict[str, list[list[str]]]] = {"telemetry.jsonl": {},
                                                    "structured.jsonl": {}, "syslog.log": {}}
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    with open(os.path.join(out_dir, "telemetry.jsonl"), "w", encoding="utf-8") as mixed, \
            open(os.path.join(out_dir, "structured.jsonl"), "w", encoding="utf-8") as struct:
        for i, (rec, t) in enumerate(telemetry(records), 1):
            mixed.write(dumps(rec) + "\n")
            msg = rec.pop("message", None)
            struct.write(dumps(rec) + "\n")
            if i <= truth_lines:
                truth["telemetry.jsonl"][str(i)] = t
                truth["structured.jsonl"][str(i)] = t[:4] if msg is not None else t
    with open(os.path.join(out_dir, "syslog.log"), "w", encoding="utf-8") as log:
        for i, (line, t) in enumerate(syslog(log_lines), 1):
            log.write(line + "\n")
            if i <= truth_lines:
                truth["syslog.log"][str(i)] = t
    with open(os.path.join(out_dir, "truth.json"), "w", encoding="utf-8") as fh:
        json.dump(truth, fh)
    files = {f: os.path.getsize(os.path.join(out_dir, f))
             for f in ("telemetry.jsonl", "structured.jsonl", "syslog.log", "truth.json")}
    manifest = {"digest": digest, "params": params, "files": files}
    with open(manifest_path, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest


def head_lines(src: str, dst: str, n: int) -> None:
    """Copy the first ``n`` lines of ``src`` to ``dst`` (unless already there)."""
    marker = f"{dst}.n{n}"
    if os.path.exists(dst) and os.path.exists(marker):
        return
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        for i, line in enumerate(fi):
            if i >= n:
                break
            fo.write(line)
    for old in [f for f in os.listdir(os.path.dirname(dst) or ".")
                if f.startswith(os.path.basename(dst) + ".n")]:
        os.remove(os.path.join(os.path.dirname(dst) or ".", old))
    open(marker, "w").close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--log-lines", type=int, default=200_000)
    ap.add_argument("--truth", type=int, default=2000)
    ap.add_argument("--out", default="bench/data")
    a = ap.parse_args(argv)
    print(json.dumps(generate(a.out, a.records, a.log_lines, a.truth), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
