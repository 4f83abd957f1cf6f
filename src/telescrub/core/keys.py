"""Hash keys and the keyed hash (HMAC-SHA-256) behind the ``hash`` action.

Keys come from the environment (``TELESCRUB_HASH_KEY``), a key file, or a secret manager,
never from the policy, the repository or the command line. A key file (or secret) holds one
key per line, optionally ``name=key``; the line starting with ``*`` (or the first) is the
primary used for hashing, the others are kept for rotation records. The key id is derived from
the key (a one-way digest), so reports can name the key without revealing it. ``--demo-key``
uses a public, well-known key for the quick start; every output made with it is flagged.

**Keys never travel in the pipeline.** A key is loaded from a *reference*
(:class:`KeyRef`), and a :class:`HashKey` that has one pickles to that reference only:

* ``env:NAME`` — the environment variable ``NAME`` (``TELESCRUB_HASH_KEY``: ``env:TELESCRUB_HASH_KEY``);
* ``file:PATH`` — a key file, e.g. a mounted secret (``--key-file PATH``);
* ``gcp-secret://projects/P/secrets/S/versions/V`` — Google Secret Manager
  (``pip install 'telescrub[gcp]'``);
* ``aws-secret://arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`` — AWS Secrets Manager
  (``pip install 'telescrub[aws]'``);
* ``demo:`` — the public demo key.

The launcher resolves the reference once (for the key id in the report and to fail early);
the job graph carries only the reference and the key id, and every worker resolves the
reference again in its ``DoFn.setup`` (:func:`resolve_key`), checking that it finds the key
with the same id. So the key is in no job graph, staging bucket or template.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telescrub.core.errors import KeyConfigError

ENV_VAR = "TELESCRUB_HASH_KEY"
#: a key reference in the environment (``env:``, ``file:``, ``gcp-secret://``, ``aws-secret://``)
REF_ENV_VAR = "TELESCRUB_HASH_KEY_REF"
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
    #: where the key came from (:class:`KeyRef`); None: given as bytes (pickles with them)
    ref: str | None = field(default=None, compare=False)

    def __repr__(self) -> str:  # never show key material
        return f"HashKey(key_id={self.key_id!r}, demo={self.demo})"

    def __reduce__(self) -> tuple[Any, ...]:
        """A key with a reference pickles to the reference only (see the module doc)."""
        if self.ref is not None:
            return (KeyRef, (self.ref, self.key_id, self.demo, self.other_key_ids))
        return (HashKey, (self.key, self.key_id, self.demo, self.other_key_ids, None))

    def as_ref(self) -> KeyRef | None:
        if self.ref is None:
            return None
        return KeyRef(self.ref, self.key_id, self.demo, self.other_key_ids)

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


def _read_key_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise KeyConfigError(f"cannot read key file {path}: {exc.strerror}") from None


def _key_file_keys(path: str) -> tuple[list[bytes], bytes]:
    """Every key of a key file, in file order, and the primary (the ``*`` line, else the
    first)."""
    return _text_keys(_read_key_file(path), f"key file {path}", path)


def parse_key_file(path: str) -> HashKey:
    return parse_key_text(_read_key_file(path), f"key file {path}", path,
                          f"file:{os.path.abspath(path)}")


def parse_key_text(raw: bytes, what: str, where: str, ref: str | None) -> HashKey:
    """The key of a key file's content (or a secret's): one key per line, ``name=key``
    allowed, ``*`` marks the primary."""
    keys, chosen = _text_keys(raw, what, where)
    others = tuple(key_id_for(k) for k in keys if k != chosen)
    return HashKey(chosen, key_id_for(chosen), demo=False, other_key_ids=others, ref=ref)


def _text_keys(raw: bytes, what: str, where: str) -> tuple[list[bytes], bytes]:
    path = where
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
                raise KeyConfigError(f"{what}: more than one primary key ('*') line")
            primary = key
    if not keys:
        raise KeyConfigError(f"{what} holds no key")
    return keys, primary if primary is not None else keys[0]


def load_key(key_file: str | None = None, demo: bool = False,
             environ: Mapping[str, str] | None = None, key_ref: str | None = None) -> HashKey:
    """The key for this run: ``--key-ref`` (a reference), else ``--key-file``, else
    ``$TELESCRUB_HASH_KEY_REF``, else ``$TELESCRUB_HASH_KEY``, else ``--demo-key``, else an
    error. The key carries its reference (see the module doc)."""
    env = os.environ if environ is None else environ
    if key_ref:
        return resolve_ref(key_ref)
    if key_file:
        return parse_key_file(key_file)
    if env.get(REF_ENV_VAR):
        return resolve_ref(env[REF_ENV_VAR])
    if env.get(ENV_VAR):
        key = _check(env[ENV_VAR].encode("utf-8"), f"${ENV_VAR}")
        # a key from a dictionary other than the process environment cannot be found again
        # by reference: it stays inline
        ref = f"env:{ENV_VAR}" if environ is None else None
        return HashKey(key, key_id_for(key), ref=ref)
    if demo:
        return HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True, ref="demo:")
    raise KeyConfigError(
        f"no hash key: set ${ENV_VAR} (>= {MIN_KEY_BYTES} bytes), pass --key-file FILE or "
        "--key-ref REF (env:NAME, file:PATH, gcp-secret://..., aws-secret://...); --demo-key "
        "uses a public key for trying telescrub out (flagged in every output)"
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


# ------------------------------------------------------------------------------ references


@dataclass(frozen=True)
class KeyRef:
    """What the pipeline carries instead of a key: its reference and its id."""

    ref: str
    key_id: str
    demo: bool = False
    other_key_ids: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"KeyRef({self.ref!r}, key_id={self.key_id!r})"

    def resolve(self) -> HashKey:
        """The key, found again from the reference (cached per process); its id must be the
        one the run was started with."""
        key = resolve_ref(self.ref)
        if key.key_id != self.key_id:
            raise KeyConfigError(
                f"the hash key reference {self.ref} resolves to key id {key.key_id} here, but "
                f"the run was started with key id {self.key_id}: every worker must see the "
                "same key")
        return key


_cache: dict[str, HashKey] = {}
_cache_lock = threading.Lock()
#: secret-manager clients (tests put fakes here): "gcp" -> a client with
#: ``access_secret_version(name=...)``; "aws" -> a factory ``(region) -> client`` with
#: ``get_secret_value(SecretId=...)``
SECRET_CLIENTS: dict[str, Any] = {}


def resolve_ref(ref: str) -> HashKey:
    """The key a reference names (see the module doc). Errors name the reference, never a
    key."""
    with _cache_lock:
        hit = _cache.get(ref)
    if hit is not None:
        return hit
    kind, sep, rest = ref.partition(":")
    resolver = _RESOLVERS.get(kind) if sep else None
    if resolver is None:
        raise KeyConfigError(f"unknown hash key reference {ref!r}: expected env:NAME, "
                             "file:PATH, gcp-secret://projects/P/secrets/S/versions/V, "
                             "aws-secret://ARN or demo:")
    key = resolver(ref, rest)
    with _cache_lock:
        _cache[ref] = key
    return key


def resolve_key(key: HashKey | KeyRef) -> HashKey:
    """What a ``DoFn.setup`` calls: the key itself, or the key its reference names."""
    return key.resolve() if isinstance(key, KeyRef) else key


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _from_env(ref: str, name: str) -> HashKey:
    value = os.environ.get(name)
    if not value:
        raise KeyConfigError(f"hash key reference {ref}: ${name} is not set here")
    key = _check(value.encode("utf-8"), f"${name}")
    return HashKey(key, key_id_for(key), ref=ref)


def _from_file(ref: str, path: str) -> HashKey:
    key = parse_key_file(path)
    return HashKey(key.key, key.key_id, key.demo, key.other_key_ids, ref=ref)


def _demo(ref: str, rest: str) -> HashKey:
    return HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True, ref=ref)


def _from_gcp(ref: str, rest: str) -> HashKey:
    name = rest[2:] if rest.startswith("//") else rest
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != "projects" or parts[2] != "secrets" \
            or parts[4] != "versions" or not all(parts):
        raise KeyConfigError(f"hash key reference {ref}: expected "
                             "gcp-secret://projects/P/secrets/S/versions/V")
    client = SECRET_CLIENTS.get("gcp")
    if client is None:
        try:
            from google.cloud import secretmanager
        except ImportError:
            raise KeyConfigError(f"hash key reference {ref}: needs google-cloud-secret-manager "
                                 "(pip install 'telescrub[gcp]')") from None
        client = secretmanager.SecretManagerServiceClient()
    try:
        data = bytes(client.access_secret_version(name=name).payload.data)
    except Exception as exc:  # noqa: BLE001 - the client's errors vary; never echo a payload
        raise KeyConfigError(f"hash key reference {ref}: cannot read the secret "
                             f"({type(exc).__name__})") from None
    return parse_key_text(data, f"secret {ref}", ref, ref)


def _from_aws(ref: str, rest: str) -> HashKey:
    arn = rest[2:] if rest.startswith("//") else rest
    fields = arn.split(":")
    if len(fields) < 7 or fields[0] != "arn" or fields[2] != "secretsmanager":
        raise KeyConfigError(f"hash key reference {ref}: expected aws-secret://arn:aws:"
                             "secretsmanager:REGION:ACCOUNT:secret:NAME")
    factory: Callable[[str], Any] | None = SECRET_CLIENTS.get("aws")
    if factory is None:
        try:
            import boto3
        except ImportError:
            raise KeyConfigError(f"hash key reference {ref}: needs boto3 "
                                 "(pip install 'telescrub[aws]')") from None

        def factory(region: str) -> Any:
            return boto3.session.Session().client("secretsmanager", region_name=region)

    try:
        resp = factory(fields[3]).get_secret_value(SecretId=arn)
    except Exception as exc:  # noqa: BLE001
        raise KeyConfigError(f"hash key reference {ref}: cannot read the secret "
                             f"({type(exc).__name__})") from None
    data = resp.get("SecretBinary")
    if data is None:
        data = str(resp.get("SecretString") or "").encode("utf-8")
    return parse_key_text(bytes(data), f"secret {ref}", ref, ref)


_RESOLVERS: dict[str, Callable[[str, str], HashKey]] = {
    "env": _from_env, "file": _from_file, "demo": _demo,
    "gcp-secret": _from_gcp, "aws-secret": _from_aws,
}
