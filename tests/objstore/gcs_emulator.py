"""The GCS emulator as the object-store tests run it: ``gcp-storage-emulator`` (pure Python)
with a threaded HTTP server (the stock one serves one request at a time and deadlocks on
ranged reads) and the ``ifGenerationMatch`` precondition honoured on uploads and deletes (the
stock emulator ignores it, so create-only and compare-and-swap writes could not be tested).

    python gcs_emulator.py start -H 127.0.0.1 --port PORT --in-memory --default-bucket B -q
"""

from __future__ import annotations

import http.server
import sys
from http import HTTPStatus
from typing import Any

http.server.HTTPServer = http.server.ThreadingHTTPServer  # type: ignore[misc]

from gcp_storage_emulator.exceptions import NotFound  # noqa: E402
from gcp_storage_emulator.handlers import objects  # noqa: E402


def _generation(storage: Any, bucket: str, name: str) -> int:
    try:
        return int(storage.get_file_obj(bucket, name)["generation"])
    except NotFound:
        return 0


def _refuse(response: Any) -> None:
    response.status = HTTPStatus.PRECONDITION_FAILED
    response.json({"error": {"code": 412, "message": "conditionNotMet",
                             "errors": [{"reason": "conditionNotMet",
                                         "message": "conditionNotMet"}]}})


def _name(request: Any) -> str | None:
    if request.query.get("name"):
        return str(request.query["name"][0])
    data = request.data
    if isinstance(data, dict):
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else data
        return meta.get("name")
    return None


_insert, _delete = objects.insert, objects.delete


def insert(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
    want = request.query.get("ifGenerationMatch")
    name = _name(request)
    if want and name is not None and \
            _generation(storage, request.params["bucket_name"], name) != int(want[0]):
        return _refuse(response)
    return _insert(request, response, storage, *args, **kwargs)


def delete(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
    want = request.query.get("ifGenerationMatch")
    if want and _generation(storage, request.params["bucket_name"],
                            request.params["object_id"]) != int(want[0]):
        return _refuse(response)
    return _delete(request, response, storage, *args, **kwargs)


objects.insert, objects.delete = insert, delete

from gcp_storage_emulator.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])
