"""Hash keys and the keyed hash (HMAC-SHA-256) behind the ``hash`` action.

Keys come from the environment (``TELESCRUB_HASH_KEY``) or a key file, never from the policy or
the repository. A key file holds one key per line, optionally ``name=key``; the line starting
with ``*`` (or the first) is the primary used for hashing, the others are kept for rotation
records. The key id is derived from the key (a one-way digest), so reports can name the key
without revealing it. ``--demo-key`` uses a public, well-known key for the quick start; every
output made with it is flagged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from telescrub.core.errors import KeyConfigError

ENV_VAR = "TELESCRUB_HASH_KEY"
MIN_KEY_BYTES = 32
DEMO_KEY = b"telescrub-public-demo-key-do-not-use-in-production!"
TOKEN_PREFIX = "h1"
DIGEST_HEX = 32  # 128 bits of HMAC-SHA-256 in the token


def key_id_for(key: bytes) -> str:
    """Public identifier of a key: 8 hex chars of a domain-separated SHA-256 of it."""
    return hashlib.sha256(b"telescrub-key-id\x00" + key).hexdigest()[:8]


@dataclass(frozen=True)
class HashKey:
    key: bytes = field(repr=False)
    key_id: str
    demo: bool = False
    #: ids of the other (non-primary) keys known from a rotation key file
    other_key_ids: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never show key material
        return f"HashKey(key_id={self.key_id!r}, demo={self.demo})"

    def token(self, value: str) -> str:
        digest = hmac.digest(self.key, value.encode("utf-8", "surrogatepass"), "sha256")
        return f"{TOKEN_PREFIX}:{self.key_id}:{digest.hex()[:DIGEST_HEX]}"


def _check(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise KeyConfigError(
            f"hash key from {where} is {len(key)} bytes; at least {MIN_KEY_BYTES} are required "
            f"(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return key


def _key_file_keys(path: str) -> tuple[list[bytes], bytes]:
    """Every key of a key file, in file order, and the primary (the ``*`` line, else the
    first)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise KeyConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    primary: bytes | None = None
    keys: list[bytes] = []
    for n, line in enumerate(raw.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        is_primary = line.startswith(b"*")
        if is_primary:
            line = line[1:].strip()
        if b"=" in line and not line.endswith(b"="):
            line = line.split(b"=", 1)[1].strip()
        key = _check(line, f"{path} line {n}")
        keys.append(key)
        if is_primary:
            if primary is not None:
                raise KeyConfigError(f"key file {path}: more than one primary key ('*') line")
            primary = key
    if not keys:
        raise KeyConfigError(f"key file {path} holds no key")
    return keys, primary if primary is not None else keys[0]


def parse_key_file(path: str) -> HashKey:
    keys, chosen = _key_file_keys(path)
    others = tuple(key_id_for(k) for k in keys if k != chosen)
    return HashKey(chosen, key_id_for(chosen), demo=False, other_key_ids=others)


def load_key(key_file: str | None = None, demo: bool = False,
             environ: dict[str, str] | None = None) -> HashKey:
    """The key for this run: --key-file, else $TELESCRUB_HASH_KEY, else --demo-key, else error."""
    env = os.environ if environ is None else environ
    if key_file:
        return parse_key_file(key_file)
    if env.get(ENV_VAR):
        key = _check(env[ENV_VAR].encode("utf-8"), f"${ENV_VAR}")
        return HashKey(key, key_id_for(key))
    if demo:
        return HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True)
    raise KeyConfigError(
        f"no hash key: set ${ENV_VAR} (>= {MIN_KEY_BYTES} bytes) or pass --key-file FILE; "
        "--demo-key uses a public key for trying telescrub out (flagged in every output)"
    )


def load_keys(key_file: str | None = None, demo: bool = False,
              environ: dict[str, str] | None = None) -> list[HashKey]:
    """Every key a reviewer supplies, primary first: all keys of ``key_file`` (rotation: the
    old ones too), else ``$TELESCRUB_HASH_KEY``; plus the public demo key with ``demo``. For
    recomputing tokens written under any of them (``telescrub subject``); the run uses
    :func:`load_key`."""
    env = os.environ if environ is None else environ
    found: list[HashKey] = []
    if key_file:
        keys, chosen = _key_file_keys(key_file)
        found = [HashKey(k, key_id_for(k)) for k in [chosen, *(k for k in keys if k != chosen)]]
    elif env.get(ENV_VAR):
        key = _check(env[ENV_VAR].encode("utf-8"), f"${ENV_VAR}")
        found = [HashKey(key, key_id_for(key))]
    if demo:
        found.append(HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True))
    if not found:
        raise KeyConfigError(
            f"no hash key: pass --key-file FILE (every key of a rotation, one per line) or set "
            f"${ENV_VAR}; --demo-key adds the public demo key")
    unique: dict[str, HashKey] = {}
    for k in found:
        unique.setdefault(k.key_id, k)
    return list(unique.values())
