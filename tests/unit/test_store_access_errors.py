"""store.fs.access_error: the client libraries' exceptions that say a bucket cannot be used
become one clear StoreAccessError naming the bucket; everything else passes through."""

from __future__ import annotations

import pytest

from telescrub.store.fs import StoreAccessError, access_error

botocore = pytest.importorskip("botocore.exceptions")
gx = pytest.importorskip("google.api_core.exceptions")
gauth = pytest.importorskip("google.auth.exceptions")


def _client_error(code: str, status: int = 400) -> Exception:
    return botocore.ClientError({"Error": {"Code": code, "Message": "m"},
                                 "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize("exc,path,expected", [
    (botocore.NoCredentialsError(), "s3://b/out/x", "s3://b: no credentials for s3:// (set AWS_"),
    (botocore.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
     "s3://b/x", "s3://b: no credentials"),
    (_client_error("AccessDenied", 403), "s3://b/x", "s3://b: access denied (AccessDenied)"),
    (_client_error("InvalidAccessKeyId", 403), "s3://b/x", "s3://b: access denied"),
    (_client_error("NoSuchBucket", 404), "s3://b/x", "s3://b: no such bucket"),
    (botocore.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "s3://b/x",
     "s3://b: cannot reach the s3:// endpoint"),
    (gauth.DefaultCredentialsError("none"), "gs://g/p", "gs://g: no credentials for gs:// (run"),
    (gx.Forbidden("no"), "gs://g/p", "gs://g: access denied (Forbidden)"),
    (gx.Unauthorized("no"), "gs://g/p", "gs://g: access denied"),
    (gx.NotFound("bucket"), "gs://g/p", "gs://g: no such bucket"),
])
def test_a_bucket_that_cannot_be_used(exc, path, expected):
    err = access_error(exc, path)
    assert isinstance(err, StoreAccessError)
    assert str(err).startswith(expected)
    assert "/out" not in str(err) and "/p" not in str(err)  # the bucket, not the object


@pytest.mark.parametrize("exc", [
    _client_error("NoSuchKey", 404), _client_error("PreconditionFailed", 412),
    _client_error("InternalError", 500), gx.PreconditionFailed("gen"), ValueError("x"),
    FileNotFoundError(2, "no such object"),
])
def test_other_errors_pass_through(exc):
    assert access_error(exc, "s3://b/x") is None
