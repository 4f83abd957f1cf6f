"""The hash key never travels in the pipeline (issue #13, item 3): the job's transforms are
serialized as a runner would receive them (``Pipeline.to_runner_api()``: every DoFn,
CombineFn and side input pickled by Beam), decoded, and searched for the key's bytes; the
unpickled DoFns hold a ``KeyRef`` (reference and key id), which their ``setup`` resolves."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from apache_beam.internal import pickler

from telescrub.app.batch import build_batch_pipeline, plan_batch
from telescrub.app.graph_check import decoded_blobs
from telescrub.app.settings import Settings
from telescrub.core.keys import ENV_VAR, HashKey, KeyRef, clear_cache

ROOT = Path(__file__).resolve().parents[2]
SECRET = "do-not-ship-me-" + "5ec7e7" * 8


def _payloads(proto) -> list[bytes]:
    """Every serialized function of the pipeline proto (ParDo, Combine, window, coders)."""
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2 as rapi

    found = []
    for t in proto.components.transforms.values():
        spec = t.spec
        if spec.urn == common_urns.primitives.PAR_DO.urn:
            found.append(rapi.ParDoPayload.FromString(spec.payload).do_fn.payload)
        elif spec.urn == common_urns.composites.COMBINE_PER_KEY.urn:
            found.append(rapi.CombinePayload.FromString(spec.payload).combine_fn.payload)
        found.append(spec.payload)
    for c in proto.components.coders.values():
        found.append(c.spec.payload)
    return found


def assert_no_key(pipeline, secret: bytes) -> int:
    """No trace of ``secret`` anywhere in the serialized job; returns the DoFns checked."""
    proto = pipeline.to_runner_api()
    whole = proto.SerializeToString()
    needles = (secret, secret.hex().encode(), base64.b64encode(secret))
    for blob in [whole, *(d for p in _payloads(proto) for d in decoded_blobs(p))]:
        for needle in needles:
            assert needle not in blob
    checked = 0
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2 as rapi

    for t in proto.components.transforms.values():
        if t.spec.urn != common_urns.primitives.PAR_DO.urn:
            continue
        payload = rapi.ParDoPayload.FromString(t.spec.payload).do_fn.payload
        try:
            fn = pickler.loads(payload)
        except Exception:  # noqa: BLE001 - not a pickled DoFn (a runner-native one)
            continue
        checked += 1
        for holder in (fn, *(v for v in getattr(fn, "__dict__", {}).values())):
            for value in getattr(holder, "__dict__", {}).values():
                assert not (isinstance(value, HashKey) and value.key == secret), t.unique_name
    return checked


def test_the_batch_job_carries_the_reference_not_the_key(monkeypatch, tmp_path):
    clear_cache()
    monkeypatch.setenv(ENV_VAR, SECRET)
    cfg = Settings(output=str(tmp_path / "out"), inputs=[str(ROOT / "sample_data")],
                   beam_args=["--runner=FnApiRunner"])
    job = plan_batch(cfg)
    assert job.key.key == SECRET.encode() and job.key.ref == f"env:{ENV_VAR}"
    p = build_batch_pipeline(job)
    assert assert_no_key(p, SECRET.encode()) >= 5
    # and what a worker unpickles is the reference, resolved in setup
    from telescrub.pipelines.scrub_files import ScrubFileFn

    fn = pickler.loads(pickler.dumps(ScrubFileFn(job.policy, job.key, job.out, job.run_info,
                                                 None, None, 10)))
    assert isinstance(fn.key, KeyRef) and fn.key.key_id == job.key.key_id
    fn.setup()
    assert isinstance(fn.key, HashKey) and fn.key.key == SECRET.encode()


def test_the_streaming_job_carries_the_reference_not_the_key(monkeypatch, tmp_path):
    pytest.importorskip("google.cloud.pubsub")
    clear_cache()
    secret_file = tmp_path / "mounted" / "key"
    secret_file.parent.mkdir()
    secret_file.write_text(SECRET + "\n")
    from telescrub.app.streaming import build_streaming_pipeline

    cfg = Settings(output="gs://bucket/out", key_ref=f"file:{secret_file}",
                   input_subscription="projects/my-project/subscriptions/telemetry-sub",
                   beam_args=["--runner=FnApiRunner"])
    p = build_streaming_pipeline(cfg)
    assert assert_no_key(p, SECRET.encode()) >= 5


def test_the_check_finds_a_key_that_travels_inline(monkeypatch, tmp_path):
    """The search can fail: a key given as bytes (no reference) is found in the job."""
    import dataclasses

    clear_cache()
    monkeypatch.setenv(ENV_VAR, SECRET)
    job = plan_batch(Settings(output=str(tmp_path / "out"), inputs=[str(ROOT / "sample_data")],
                              beam_args=["--runner=FnApiRunner"]))
    job = dataclasses.replace(job, key=HashKey(job.key.key, job.key.key_id))  # no ref
    with pytest.raises(AssertionError):
        assert_no_key(build_batch_pipeline(job), SECRET.encode())
