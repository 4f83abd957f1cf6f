"""File access of telescrub, in one place: local paths, ``s3://bucket/key`` and
``gs://bucket/key`` behind one set of functions.

Everything telescrub reads or writes — inputs, Parquet files, manifests, reports, the lock,
streaming state, audit lines — goes through this module, so the output layout, the commit
protocol (``telescrub.store.commit``) and the readers are the same on a local disk and in a
bucket. The operations are the ones an object store offers, and nothing else:

* :func:`read_bytes`, :func:`open_input` (a seekable, buffered binary stream: byte ranges of an
  object are fetched as they are read), :func:`stat`, :func:`exists`, :func:`list_tree`;
* :func:`write`: one whole object, visible whole or not at all, either unconditionally, only
  if nothing exists under the name yet (``if_generation=CREATE``), or only if the object still
  has the generation the caller read (``if_generation=<generation>``): a compare-and-swap;
* :func:`delete` (optionally generation-checked).

There is no rename and no append: the commit protocol does not need them. (Locally a write
goes to a hidden temporary name and is renamed into place — how a single-object PUT is made
atomic on a POSIX file system; create-only uses ``link(2)``, which fails when the name
exists; a generation-checked write holds an ``flock`` on the directory while it compares and
replaces.)

Backends:

* **local**: ``os``. A generation is ``<inode>-<mtime_ns>-<size>`` (every write makes a new
  inode, so a replaced file never has the old generation).
* **s3://**: ``boto3`` (``pip install 'telescrub[aws]'``). Conditional writes are
  ``If-None-Match: *`` and ``If-Match: <etag>`` (S3 and moto honour both); the generation is
  the ETag. Endpoint, region and TLS verification come from Beam's S3 options
  (``--s3_endpoint_url``, ``--s3_region_name``, ``--s3_verify``: on workers Beam hands the job's
  options to ``FileSystems``, which is where they are read) or from the environment
  (``AWS_ENDPOINT_URL``, ``AWS_REGION``/``AWS_DEFAULT_REGION``). Credentials come only from
  boto3's usual chain (environment, profile, instance or task role), never from the command
  line: ``telescrub run`` refuses ``--s3_access_key_id``/``--s3_secret_access_key``/
  ``--s3_session_token`` (see :func:`refuse_credentials_in_args`).
* **gs://**: ``google-cloud-storage`` (``pip install 'telescrub[gcp]'``). Conditional writes
  are ``ifGenerationMatch=0`` (create-only) and ``ifGenerationMatch=<generation>``.
  Credentials: Application Default Credentials; ``STORAGE_EMULATOR_HOST`` points the client at
  an emulator. The project is Beam's ``--project`` or ``GOOGLE_CLOUD_PROJECT``.

Nothing here logs or raises the content of an object; errors name the path and the reason.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import hashlib
import io
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from telescrub.core.errors import OutputError

#: ``if_generation`` for a create-only write: the name must not exist yet
CREATE = ""
#: what marks a temporary file of an interrupted local write
TMP_MARK = ".tmp-"
SCHEMES = ("s3", "gs")
#: bytes fetched per ranged read of an object (the stream buffers this much)
RANGE_BYTES = 4 << 20
_CHUNK = 1 << 20
#: Beam's S3 options that carry credentials: refused on the command line
CREDENTIAL_ARGS = ("--s3_access_key_id", "--s3_secret_access_key", "--s3_session_token")


class PreconditionFailed(OutputError):
    """A conditional write or delete found another generation (or, create-only, an object)."""


class StoreUnavailable(OutputError):
    """The client library of a URL scheme is not installed."""


class StoreAccessError(OutputError):
    """A bucket cannot be used: no credentials, access denied, no such bucket, endpoint
    unreachable. One line naming the bucket and what to check, never a client's traceback."""


_NO_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
                   "DefaultCredentialsError", "RefreshError"}
_DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                 "AllAccessDisabled", "403", "401"}
_UNREACHABLE = {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionError"}
_CREDENTIAL_HINT = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run with an "
          "instance or task role",
    "gs": "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, "
          "or run with a service account",
}


def access_error(exc: BaseException, path: str) -> StoreAccessError | None:
    """The clear error for a client library's exception that says the bucket cannot be used;
    None for any other exception (missing objects, preconditions, bugs)."""
    sch, bucket, _ = split_url(path)
    where = f"{sch}://{bucket}"
    names = {t.__name__ for t in type(exc).__mro__}
    code = _S3._code(exc)
    if names & _NO_CREDENTIALS:
        return StoreAccessError(f"{where}: no credentials for {sch}:// ({_CREDENTIAL_HINT[sch]})")
    if code in _DENIED_CODES or names & {"Forbidden", "Unauthorized"}:
        return StoreAccessError(f"{where}: access denied ({code or type(exc).__name__}); check "
                                "the credentials in use and the bucket's permissions")
    if code == "NoSuchBucket" or "NotFound" in names:
        return StoreAccessError(f"{where}: no such bucket")
    if names & _UNREACHABLE:
        return StoreAccessError(f"{where}: cannot reach the {sch}:// endpoint "
                                f"({type(exc).__name__}); check AWS_ENDPOINT_URL / "
                                "STORAGE_EMULATOR_HOST and the network")
    return None


def _clear_access_errors(cls: type) -> type:
    """Wrap a bucket backend's operations so that :func:`access_error`'s cases surface as a
    :class:`StoreAccessError` (also from a listing's generator)."""
    import functools

    def plain(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapped(self: Any, path: str, *args: Any) -> Any:
            try:
                return fn(self, path, *args)
            except Exception as exc:  # noqa: BLE001 - client libraries' error types vary
                err = access_error(exc, path)
                if err is None:
                    raise
                raise err from None
        return wrapped

    def listing(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapped(self: Any, prefix: str) -> Iterator[Entry]:
            try:
                yield from fn(self, prefix)
            except Exception as exc:  # noqa: BLE001
                err = access_error(exc, prefix)
                if err is None:
                    raise
                raise err from None
        return wrapped

    for name in ("read_bytes", "stat", "write", "delete"):
        setattr(cls, name, plain(cls.__dict__[name]))
    cls.list_tree = listing(cls.__dict__["list_tree"])  # type: ignore[attr-defined]
    return cls


@dataclass(frozen=True)
class Entry:
    """An object (or local file): its full path or URL, size, modification time (ns since
    the epoch; object stores give seconds or microseconds) and generation."""

    path: str
    size: int
    mtime_ns: int
    generation: str


# ============================================================================ paths and URLs


def scheme(path: str) -> str:
    """``s3``, ``gs`` or ``file``."""
    head, sep, _ = path.partition("://")
    if sep and head.lower() in SCHEMES:
        return head.lower()
    return "file"


def is_url(path: str) -> bool:
    return scheme(path) != "file"


def split_url(url: str) -> tuple[str, str, str]:
    """``(scheme, bucket, key)`` of ``s3://bucket/key`` or ``gs://bucket/key``."""
    sch = scheme(url)
    rest = url.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise OutputError(f"{url}: no bucket name")
    return sch, bucket, key


def normpath(path: str) -> str:
    """A local path made absolute; a URL with its scheme lower-cased, duplicate and trailing
    slashes removed. ``..`` and ``.`` components are refused in URLs (object names would keep
    them literally)."""
    if not is_url(path):
        return os.path.abspath(path)
    sch, bucket, key = split_url(path)
    parts = [p for p in key.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise OutputError(f"{path}: '.' and '..' are not allowed in an object URL")
    return f"{sch}://{bucket}" + "".join("/" + p for p in parts)


def join(base: str, *parts: str) -> str:
    """``base/part/...``: ``os.path.join`` for local paths, ``/`` for URLs."""
    if not is_url(base):
        return os.path.join(base, *parts)
    out = base.rstrip("/")
    for p in parts:
        for piece in p.split("/"):
            if piece:
                out += "/" + piece
    return out


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if is_url(path) else os.path.basename(path)


def dirname(path: str) -> str:
    if not is_url(path):
        return os.path.dirname(path)
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head if "://" in head and head.split("://", 1)[1] else path


def relpath(path: str, start: str) -> str:
    """``path`` relative to ``start``, ``/``-separated."""
    if not is_url(path):
        return os.path.relpath(path, start).replace(os.sep, "/")
    prefix = start.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise ValueError(f"{path} is not below {start}")
    return path[len(prefix):]


def display(path: str) -> str:
    """How a path is shown to people (a URL as is, a local path as given)."""
    return path


# ============================================================================ configuration

_config: dict[str, Any] = {}
_lock = threading.Lock()
_clients: dict[tuple[str, int], Any] = {}


def configure(options: Any = None, **settings: Any) -> None:
    """Settings for the object-store clients of this process: Beam ``PipelineOptions``
    (their S3 and GCP options) and/or keywords (``s3_endpoint_url``, ``s3_region_name``,
    ``s3_verify``, ``project``). Called by the launcher; on workers Beam's own options
    (``FileSystems``) are read instead. Drops cached clients."""
    with _lock:
        if options is not None:
            _config["options"] = options
        _config.update({k: v for k, v in settings.items() if v is not None})
        _clients.clear()


def refuse_credentials_in_args(args: Iterable[str]) -> None:
    """Credentials never come from the command line (they would sit in the shell history, the
    process list and the job's options): a Beam S3 credential option is an error."""
    for a in args:
        name = a.split("=", 1)[0]
        if name in CREDENTIAL_ARGS:
            raise OutputError(
                f"{name}: credentials are not accepted on the command line; use the "
                "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE), a "
                "credentials file or the instance/task role")


def _beam_options() -> Any:
    opts = _config.get("options")
    if opts is not None:
        return opts
    try:  # a worker: Beam's SDK harness hands the job's options to FileSystems
        from apache_beam.io.filesystems import FileSystems
    except ImportError:  # pragma: no cover - Beam is a dependency
        return None
    return getattr(FileSystems, "_pipeline_options", None)


def _option(name: str) -> Any:
    if name in _config:
        return _config[name]
    opts = _beam_options()
    if opts is None:
        return None
    try:
        return opts.get_all_options(drop_default=True).get(name)
    except Exception:  # noqa: BLE001 - options of another shape: ignore
        return None


def _client(kind: str, make: Callable[[], Any]) -> Any:
    key = (kind, os.getpid())  # never share a client across a fork
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = make()
        return client


def _s3() -> Any:
    def make() -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise StoreUnavailable("s3:// paths need boto3: pip install 'telescrub[aws]'") \
                from None
        kwargs: dict[str, Any] = {}
        endpoint = _option("s3_endpoint_url")
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        region = _option("s3_region_name")
        if region:
            kwargs["region_name"] = region
        verify = _option("s3_verify")
        if verify is not None:
            kwargs["verify"] = verify
        cfg = Config(retries={"max_attempts": 5, "mode": "standard"},
                     max_pool_connections=32)
        return boto3.session.Session().client("s3", config=cfg, **kwargs)

    return _client("s3", make)


def _gcs() -> Any:
    def make() -> Any:
        try:
            from google.cloud import storage  # type: ignore[attr-defined]
        except ImportError:
            raise StoreUnavailable(
                "gs:// paths need google-cloud-storage: pip install 'telescrub[gcp]'") from None
        project = _option("project") or os.environ.get("GOOGLE_CLOUD_PROJECT")
        return storage.Client(project=project) if project else storage.Client()

    return _client("gs", make)


# ============================================================================ backends


class _Backend:
    def read_bytes(self, path: str, start: int = 0, length: int = -1) -> bytes:
        raise NotImplementedError

    def stat(self, path: str) -> Entry | None:
        raise NotImplementedError

    def write(self, path: str, data: bytes, if_generation: str | None,
              durable: bool) -> str:
        raise NotImplementedError

    def delete(self, path: str, if_generation: str | None) -> bool:
        raise NotImplementedError

    def list_tree(self, prefix: str) -> Iterator[Entry]:
        raise NotImplementedError

    def open_input(self, path: str) -> BinaryIO:
        entry = self.stat(path)
        if entry is None:
            raise FileNotFoundError(2, "no such object", path)
        raw = _RangeReader(self, path, entry.size)
        return io.BufferedReader(raw, buffer_size=RANGE_BYTES)  # type: ignore[return-value]


class _RangeReader(io.RawIOBase):
    """A seekable raw stream over an object: each read fetches one byte range."""

    def __init__(self, backend: _Backend, path: str, size: int) -> None:
        super().__init__()
        self.backend, self.path, self.size, self.pos = backend, path, size, 0
        self.name = path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, b: Any) -> int:
        want = min(len(b), self.size - self.pos)
        if want <= 0:
            return 0
        data = self.backend.read_bytes(self.path, self.pos, want)
        n = len(data)
        b[:n] = data
        self.pos += n
        return n


def _local_generation(st: os.stat_result) -> str:
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


@contextlib.contextmanager
def _dir_lock(directory: str) -> Iterator[None]:
    """An exclusive ``flock`` on a directory (compare-and-swap within it)."""
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def tmp_name(path: str) -> str:
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name.lstrip('.')}{TMP_MARK}{uuid.uuid4().hex}")


def is_tmp_name(name: str) -> bool:
    return name.startswith(".") and TMP_MARK in name


class _Local(_Backend):
    def read_bytes(self, path: str, start: int = 0, length: int = -1) -> bytes:
        with open(path, "rb") as fh:
            if start:
                fh.seek(start)
            return fh.read() if length < 0 else fh.read(length)

    def open_input(self, path: str) -> BinaryIO:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it

    def stat(self, path: str) -> Entry | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not os.path.isfile(path):
            return None
        return Entry(path, st.st_size, st.st_mtime_ns, _local_generation(st))

    def write(self, path: str, data: bytes, if_generation: str | None,
              durable: bool) -> str:
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        tmp = tmp_name(path)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                if durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            if if_generation == CREATE:
                try:
                    os.link(tmp, path)  # atomic, and fails when the name exists
                except FileExistsError:
                    raise PreconditionFailed(f"{path} exists (create-only write)") from None
                except OSError:  # no hard links here: compare and rename under the lock
                    with _dir_lock(directory):
                        if os.path.lexists(path):
                            raise PreconditionFailed(
                                f"{path} exists (create-only write)") from None
                        os.rename(tmp, path)
            elif if_generation is not None:
                with _dir_lock(directory):
                    cur = self.stat(path)
                    if cur is None or cur.generation != if_generation:
                        raise PreconditionFailed(f"{path} changed since it was read")
                    os.replace(tmp, path)
            else:
                os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        if durable:
            fsync_dir(directory)
        st = os.stat(path)
        return _local_generation(st)

    def delete(self, path: str, if_generation: str | None) -> bool:
        try:
            if if_generation is None:
                os.remove(path)
                return True
            with _dir_lock(os.path.dirname(path) or "."):
                cur = self.stat(path)
                if cur is None:
                    return False
                if cur.generation != if_generation:
                    raise PreconditionFailed(f"{path} changed since it was read")
                os.remove(path)
                return True
        except FileNotFoundError:
            return False

    def list_tree(self, prefix: str) -> Iterator[Entry]:
        if not os.path.isdir(prefix):
            return
        for d, dirs, files in os.walk(prefix):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(d, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if os.path.islink(path):
                    try:
                        st = os.stat(path)
                    except OSError:
                        continue
                yield Entry(path, st.st_size, st.st_mtime_ns, _local_generation(st))


@_clear_access_errors
class _S3(_Backend):
    @staticmethod
    def _code(exc: BaseException) -> str:
        """botocore's error code ("" for another library's exception: google's
        ``response`` is an HTTP response, not botocore's dict)."""
        resp = getattr(exc, "response", None)
        return str(resp.get("Error", {}).get("Code", "")) if isinstance(resp, dict) else ""

    @staticmethod
    def _status(exc: Exception) -> int:
        resp = getattr(exc, "response", None) or {}
        return int(resp.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)

    def _missing(self, exc: Exception) -> bool:
        """The object is missing (not the bucket: that is :func:`access_error`'s)."""
        code = self._code(exc)
        return code != "NoSuchBucket" and (code in ("404", "NoSuchKey", "NotFound")
                                           or self._status(exc) == 404)

    def _failed_precondition(self, exc: Exception) -> bool:
        return self._code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict") \
            or self._status(exc) in (409, 412)

    def read_bytes(self, path: str, start: int = 0, length: int = -1) -> bytes:
        _, bucket, key = split_url(path)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or length >= 0:
            end = "" if length < 0 else str(start + length - 1)
            if length == 0:
                return b""
            kwargs["Range"] = f"bytes={start}-{end}"
        try:
            body = _s3().get_object(**kwargs)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()
        except Exception as exc:  # noqa: BLE001 - botocore's error types are dynamic
            if self._missing(exc):
                raise FileNotFoundError(2, "no such object", path) from None
            if self._code(exc) == "InvalidRange":
                return b""
            raise

    def stat(self, path: str) -> Entry | None:
        _, bucket, key = split_url(path)
        if not key:
            return None
        try:
            h = _s3().head_object(Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001
            if self._missing(exc):
                return None
            raise
        return Entry(path, int(h["ContentLength"]), _ns(h["LastModified"]), str(h["ETag"]))

    def write(self, path: str, data: bytes, if_generation: str | None,
              durable: bool) -> str:
        _, bucket, key = split_url(path)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": data}
        if if_generation == CREATE:
            kwargs["IfNoneMatch"] = "*"
        elif if_generation is not None:
            kwargs["IfMatch"] = if_generation
        try:
            return str(_s3().put_object(**kwargs)["ETag"])
        except Exception as exc:  # noqa: BLE001
            if self._failed_precondition(exc):
                raise PreconditionFailed(
                    f"{path} {'exists (create-only write)' if if_generation == CREATE else 'changed since it was read'}"  # noqa: E501
                ) from None
            if if_generation not in (None, CREATE) and self._missing(exc):
                raise PreconditionFailed(f"{path} changed since it was read") from None
            raise

    def delete(self, path: str, if_generation: str | None) -> bool:
        _, bucket, key = split_url(path)
        if self.stat(path) is None:
            return False
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if if_generation is not None:
            kwargs["IfMatch"] = if_generation
        try:
            _s3().delete_object(**kwargs)
        except Exception as exc:  # noqa: BLE001
            if self._failed_precondition(exc):
                raise PreconditionFailed(f"{path} changed since it was read") from None
            if self._missing(exc):
                return False
            raise
        return True

    def list_tree(self, prefix: str) -> Iterator[Entry]:
        sch, bucket, key = split_url(prefix)
        key = key.rstrip("/")
        pages = _s3().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=(key + "/") if key else "")
        for page in pages:
            for o in page.get("Contents", []) or []:
                yield Entry(f"{sch}://{bucket}/{o['Key']}", int(o["Size"]),
                            _ns(o["LastModified"]), str(o["ETag"]))


@_clear_access_errors
class _GCS(_Backend):
    @staticmethod
    def _blob(path: str) -> Any:
        _, bucket, key = split_url(path)
        return _gcs().bucket(bucket).blob(key)

    def read_bytes(self, path: str, start: int = 0, length: int = -1) -> bytes:
        from google.api_core import exceptions as gx

        if length == 0:
            return b""
        kwargs: dict[str, Any] = {}
        if start or length >= 0:
            kwargs["start"] = start
            if length >= 0:
                kwargs["end"] = start + length - 1
        try:
            data = bytes(self._blob(path).download_as_bytes(checksum=None, **kwargs))
        except gx.NotFound:
            raise FileNotFoundError(2, "no such object", path) from None
        except gx.RequestRangeNotSatisfiable:
            return b""
        return data if length < 0 else data[:length]

    def stat(self, path: str) -> Entry | None:
        _, bucket, key = split_url(path)
        if not key:
            return None
        blob = _gcs().bucket(bucket).get_blob(key)
        if blob is None:
            return None
        return Entry(path, int(blob.size or 0), _ns(blob.updated), str(blob.generation))

    def write(self, path: str, data: bytes, if_generation: str | None,
              durable: bool) -> str:
        from google.api_core import exceptions as gx

        blob = self._blob(path)
        kwargs: dict[str, Any] = {}
        if if_generation == CREATE:
            kwargs["if_generation_match"] = 0
        elif if_generation is not None:
            kwargs["if_generation_match"] = int(if_generation)
        try:
            blob.upload_from_string(data, content_type="application/octet-stream", **kwargs)
        except gx.PreconditionFailed:
            raise PreconditionFailed(
                f"{path} {'exists (create-only write)' if if_generation == CREATE else 'changed since it was read'}"  # noqa: E501
            ) from None
        return str(blob.generation)

    def delete(self, path: str, if_generation: str | None) -> bool:
        from google.api_core import exceptions as gx

        kwargs: dict[str, Any] = {}
        if if_generation is not None:
            kwargs["if_generation_match"] = int(if_generation)
        try:
            self._blob(path).delete(**kwargs)
        except gx.NotFound:
            return False
        except gx.PreconditionFailed:
            raise PreconditionFailed(f"{path} changed since it was read") from None
        return True

    def list_tree(self, prefix: str) -> Iterator[Entry]:
        sch, bucket, key = split_url(prefix)
        key = key.rstrip("/")
        for blob in _gcs().list_blobs(bucket, prefix=(key + "/") if key else None):
            yield Entry(f"{sch}://{bucket}/{blob.name}", int(blob.size or 0),
                        _ns(blob.updated), str(blob.generation))


def _ns(when: Any) -> int:
    if when is None:
        return 0
    return int(when.timestamp() * 1_000_000) * 1000


_BACKENDS: dict[str, _Backend] = {"file": _Local(), "s3": _S3(), "gs": _GCS()}


def _backend(path: str) -> _Backend:
    return _BACKENDS[scheme(path)]


# ============================================================================ operations


def read_bytes(path: str, start: int = 0, length: int = -1) -> bytes:
    """The bytes of a file or object (``length`` -1: to the end). FileNotFoundError when
    missing."""
    return _backend(path).read_bytes(path, start, length)


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def open_input(path: str) -> BinaryIO:
    """A seekable binary stream (with ``peek``) over a file or object; the caller closes it.
    Raises OSError (FileNotFoundError when missing)."""
    return _backend(path).open_input(path)


def stat(path: str) -> Entry | None:
    """The entry of a regular file or object, None when there is none."""
    return _backend(path).stat(path)


def exists(path: str) -> bool:
    return stat(path) is not None


def is_dir(path: str) -> bool:
    """A local directory, or a URL prefix with at least one object below it."""
    if not is_url(path):
        return os.path.isdir(path)
    return next(iter(list_tree(path)), None) is not None


def write(path: str, data: bytes | str, if_generation: str | None = None,
          durable: bool = True) -> str:
    """Write ``data`` as the whole of ``path``, visible whole or not at all; returns the new
    generation. ``if_generation``: None writes unconditionally, :data:`CREATE` only if there is
    no object yet, a generation only if the object still has it (else
    :class:`PreconditionFailed`). ``durable`` (local): fsync the file and the directory."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return _backend(path).write(path, raw, if_generation, durable)


def write_json(path: str, obj: Any, if_generation: str | None = None) -> str:
    """Pretty, sorted JSON (durable)."""
    return write(path, dump_json(obj), if_generation)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"


def delete(path: str, if_generation: str | None = None) -> bool:
    """Delete a file or object; False when it did not exist."""
    return _backend(path).delete(path, if_generation)


def list_tree(prefix: str) -> list[Entry]:
    """Every file or object below ``prefix`` (recursive, sorted by path)."""
    return sorted(_backend(prefix).list_tree(prefix), key=lambda e: e.path)


def read_json(path: str) -> dict[str, Any] | None:
    """A JSON object, or None when missing, unreadable or not an object."""
    try:
        data = json.loads(read_bytes(path))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_json_gen(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, generation)``; ``(None, None)`` when missing. A generation with None data
    means the object exists but is not a JSON object."""
    for _ in range(5):
        entry = stat(path)
        if entry is None:
            return None, None
        try:
            raw = read_bytes(path)
        except FileNotFoundError:
            continue
        after = stat(path)
        if after is None or after.generation != entry.generation:
            continue  # replaced while read: read again
        try:
            data = json.loads(raw)
        except ValueError:
            return None, entry.generation
        return (data if isinstance(data, dict) else None), entry.generation
    raise PreconditionFailed(f"{path} keeps changing while it is read")


def read_jsonl(path: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (missing: []); a torn or bad line is skipped."""
    try:
        raw = read_bytes(path)
    except FileNotFoundError:
        return []
    out: list[dict[str, Any]] = []
    for line in raw.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def update(path: str, change: Callable[[bytes | None], bytes | None],
           attempts: int = 50) -> bytes | None:
    """Compare-and-swap: read ``path`` (None when missing), let ``change`` compute the new
    content (None: leave it), write it only if nobody wrote in between; retried on conflict.
    Returns what was written (or None)."""
    delay = 0.02
    for _ in range(attempts):
        entry = stat(path)
        try:
            old = read_bytes(path) if entry is not None else None
        except FileNotFoundError:
            old, entry = None, None
        new = change(old)
        if new is None:
            return None
        try:
            write(path, new, CREATE if entry is None else entry.generation)
            return new
        except PreconditionFailed:
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    raise PreconditionFailed(f"{path}: too many concurrent writers")


def append_lines(path: str, lines: Iterable[dict[str, Any]]) -> None:
    """Append JSON lines (whole lines). Locally an ``O_APPEND`` write, flushed and fsynced;
    in a bucket a compare-and-swap of the whole object (objects cannot be appended to)."""
    text = "".join(json.dumps(line, sort_keys=True, default=str) + "\n" for line in lines)
    if not text:
        return
    raw = text.encode("utf-8")
    if is_url(path):
        def add(old: bytes | None) -> bytes:
            if old and not old.endswith(b"\n"):
                old += b"\n"
            return (old or b"") + raw

        update(path, add)
        return
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:  # a torn last line (crash mid-write) must not swallow this one
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    raw = b"\n" + raw
        os.write(fd, raw)
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: str, start: int = 0, length: int = -1) -> tuple[str, int]:
    """``(hex sha256, bytes hashed)`` of a file or object, or of ``length`` bytes from
    ``start``, read in chunks."""
    h = hashlib.sha256()
    n = 0
    with open_input(path) as fh:
        if start:
            fh.seek(start)
        left = length
        while left != 0:
            chunk = fh.read(_CHUNK if left < 0 else min(_CHUNK, left))
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
            if left > 0:
                left -= len(chunk)
    return h.hexdigest(), n


def expand(pattern: str) -> list[str]:
    """Local paths or object URLs matching a glob (``*``, ``?``, ``[...]``; ``**`` spans
    directories), or the path itself when it has no magic and exists. A URL prefix that is a
    "directory" (objects below it) expands to every object below it, hidden names (a path
    component starting with ``.`` or ``_``) skipped, like a local directory."""
    if not is_url(pattern):
        if os.path.isdir(pattern):
            return sorted(os.path.join(d, f) for d, _, fs in os.walk(pattern) for f in fs
                          if not f.startswith("."))
        if _glob.has_magic(pattern):
            return sorted(_glob.glob(pattern, recursive=True))
        return [pattern] if os.path.lexists(pattern) else []
    sch, bucket, key = split_url(pattern)
    magic = _glob.has_magic(key)
    if not magic:
        if key and stat(pattern) is not None:
            return [pattern]
        base = pattern.rstrip("/")
        return [e.path for e in list_tree(base)
                if not any(p.startswith((".", "_")) for p in relpath(e.path, base).split("/"))]
    parts = key.split("/")
    fixed = []
    for p in parts:
        if _glob.has_magic(p):
            break
        fixed.append(p)
    base = f"{sch}://{bucket}" + "".join("/" + p for p in fixed)
    matcher = glob_regex(key)
    return [e.path for e in list_tree(base) if matcher.fullmatch(split_url(e.path)[2])]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over ``/``-separated names as a regex: ``*`` and ``?`` stay within one name,
    ``**/`` spans any number of directories (none included), ``[...]`` is a character set."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pattern[i + 2:]:
            j = pattern.index("]", i + 2)
            body = pattern[i + 1:j]
            out.append("[" + ("^" + re.escape(body[1:]) if body[:1] == "!" else re.escape(body))
                       + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out))


# ============================================================================ shorthands


def write_atomic(path: str, data: bytes | str, durable: bool = True) -> None:
    """Write ``data`` whole (unconditionally); see :func:`write`."""
    write(path, data, None, durable)


def write_json_atomic(path: str, data: Any) -> None:
    """Pretty, sorted JSON written whole and durably."""
    write_json(path, data)


def sha256_file(path: str) -> str:
    """Hex sha256 of a file or object."""
    return sha256(path)[0]


def delete_tree(prefix: str) -> int:
    """Delete every file or object below ``prefix`` (and, locally, the emptied directories);
    returns how many."""
    n = 0
    for e in list_tree(prefix):
        if delete(e.path):
            n += 1
    if not is_url(prefix) and os.path.isdir(prefix):
        for d, _dirs, _files in os.walk(prefix, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(d)
    return n
