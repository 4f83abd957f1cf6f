from __future__ import annotations

import pytest

from telescrub.core.errors import KeyConfigError
from telescrub.core.keys import DEMO_KEY, ENV_VAR, MIN_KEY_BYTES, key_id_for, load_key

K1 = "k" * 40
K2 = "z" * 40


def test_env_key_and_token_shape():
    k = load_key(environ={ENV_VAR: K1})
    t = k.token("joe@contoso.com")
    prefix, kid, digest = t.split(":")
    assert prefix == "h1" and kid == k.key_id and len(digest) == 32
    assert t == load_key(environ={ENV_VAR: K1}).token("joe@contoso.com")  # deterministic
    assert t != load_key(environ={ENV_VAR: K2}).token("joe@contoso.com")  # keyed
    assert K1 not in repr(k) and K1 not in k.key_id


def test_short_key_rejected():
    with pytest.raises(KeyConfigError, match=f"at least {MIN_KEY_BYTES}"):
        load_key(environ={ENV_VAR: "short"})


def test_no_key_is_an_error_unless_demo():
    with pytest.raises(KeyConfigError, match="no hash key"):
        load_key(environ={})
    demo = load_key(demo=True, environ={})
    assert demo.demo and demo.key_id == key_id_for(DEMO_KEY)


def test_env_beats_demo():
    assert not load_key(demo=True, environ={ENV_VAR: K1}).demo


def test_key_file_rotation(tmp_path):
    f = tmp_path / "keys"
    f.write_text(f"# rotation\nold={K2}\n*new={K1}\n")
    k = load_key(str(f), environ={})
    assert k.key_id == key_id_for(K1.encode())
    assert k.other_key_ids == (key_id_for(K2.encode()),)


def test_key_file_errors(tmp_path):
    with pytest.raises(KeyConfigError, match="cannot read key file"):
        load_key(str(tmp_path / "missing"), environ={})
    f = tmp_path / "keys"
    f.write_text("tooshort\n")
    with pytest.raises(KeyConfigError, match="line 1"):
        load_key(str(f), environ={})
    f.write_text(f"*{K1}\n*{K2}\n")
    with pytest.raises(KeyConfigError, match="more than one primary"):
        load_key(str(f), environ={})
    f.write_text("\n# nothing\n")
    with pytest.raises(KeyConfigError, match="holds no key"):
        load_key(str(f), environ={})


# ------------------------------------------------------------------ references (issue #13)

import pickle  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import cloudpickle  # noqa: E402

from telescrub.core import keys as keymod  # noqa: E402
from telescrub.core.keys import (  # noqa: E402
    REF_ENV_VAR,
    HashKey,
    KeyRef,
    resolve_key,
    resolve_ref,
)


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    keymod.clear_cache()
    monkeypatch.setattr(keymod, "SECRET_CLIENTS", {})
    yield
    keymod.clear_cache()


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_a_key_pickles_to_its_reference_only(monkeypatch, dumps):
    monkeypatch.setenv(ENV_VAR, K1)
    k = load_key()
    assert k.ref == f"env:{ENV_VAR}"
    blob = dumps(k)
    assert K1.encode() not in blob and b"kkkk" not in blob
    back = pickle.loads(blob)
    assert isinstance(back, KeyRef) and back.key_id == k.key_id
    assert resolve_key(back).token("x") == k.token("x")  # what DoFn.setup does
    assert resolve_key(k) is k


def test_env_reference_on_a_worker_without_the_variable_or_with_another_key(monkeypatch):
    monkeypatch.setenv(ENV_VAR, K1)
    ref = load_key().as_ref()
    assert ref is not None
    keymod.clear_cache()
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(KeyConfigError, match="is not set here") as err:
        ref.resolve()
    assert K1 not in str(err.value)
    monkeypatch.setenv(ENV_VAR, K2)
    with pytest.raises(KeyConfigError, match="resolves to key id .* started with key id"):
        ref.resolve()


def test_file_reference_is_a_mounted_secret(tmp_path):
    f = tmp_path / "key"
    f.write_text(f"old={K2}\n*new={K1}\n")
    k = load_key(key_ref=f"file:{f}")
    assert k.key_id == key_id_for(K1.encode()) and k.other_key_ids == (key_id_for(K2.encode()),)
    assert load_key(str(f)).ref == f"file:{f}"  # --key-file is the same reference
    assert K1.encode() not in pickle.dumps(k)


def test_demo_and_reference_from_the_environment(monkeypatch):
    demo = load_key(demo=True, environ={})
    assert demo.ref == "demo:" and pickle.loads(pickle.dumps(demo)).resolve() == demo
    monkeypatch.setenv(REF_ENV_VAR, "env:SOME_SECRET")
    monkeypatch.setenv("SOME_SECRET", K2)
    assert load_key().key_id == key_id_for(K2.encode())


class _FakeGcp:
    def __init__(self, payload: bytes) -> None:
        self.payload, self.names = payload, []

    def access_secret_version(self, name: str):
        self.names.append(name)
        return SimpleNamespace(payload=SimpleNamespace(data=self.payload))


class _FakeAws:
    def __init__(self, resp: dict) -> None:
        self.resp, self.calls = resp, []

    def __call__(self, region: str):
        self.calls.append(region)
        return self

    def get_secret_value(self, SecretId: str):  # noqa: N803 - boto3's name
        self.calls.append(SecretId)
        return self.resp


def test_gcp_secret_manager_reference_with_a_fake_client():
    fake = _FakeGcp(f"{K1}\n".encode())
    keymod.SECRET_CLIENTS["gcp"] = fake
    ref = "gcp-secret://projects/p1/secrets/telescrub-key/versions/3"
    k = resolve_ref(ref)
    assert k.key_id == key_id_for(K1.encode()) and k.ref == ref
    assert fake.names == ["projects/p1/secrets/telescrub-key/versions/3"]
    resolve_ref(ref)
    assert len(fake.names) == 1  # cached per process: once per worker, not per DoFn
    blob = cloudpickle.dumps(k)
    assert K1.encode() not in blob and ref.encode() in blob
    with pytest.raises(KeyConfigError, match="expected gcp-secret://projects/P"):
        resolve_ref("gcp-secret://projects/p1/secrets/s")


def test_aws_secrets_manager_reference_with_a_fake_client():
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:telescrub-key-AbCdEf"
    fake = _FakeAws({"SecretString": f"*{K2}\n"})
    keymod.SECRET_CLIENTS["aws"] = fake
    k = resolve_ref(f"aws-secret://{arn}")
    assert k.key_id == key_id_for(K2.encode())
    assert fake.calls == ["eu-west-1", arn]
    keymod.clear_cache()
    keymod.SECRET_CLIENTS["aws"] = _FakeAws({"SecretBinary": K1.encode()})
    assert resolve_ref(f"aws-secret://{arn}").key_id == key_id_for(K1.encode())


def test_a_failing_secret_manager_names_the_reference_not_the_secret():
    class Broken:
        def access_secret_version(self, name):
            raise PermissionError("denied " + K1)

    keymod.SECRET_CLIENTS["gcp"] = Broken()
    with pytest.raises(KeyConfigError, match="cannot read the secret") as err:
        resolve_ref("gcp-secret://projects/p/secrets/s/versions/latest")
    assert K1 not in str(err.value)
    with pytest.raises(KeyConfigError, match="unknown hash key reference"):
        resolve_ref("vault://x")


def test_an_inline_key_still_pickles_for_in_process_use():
    k = HashKey(K1.encode(), key_id_for(K1.encode()))
    back = pickle.loads(pickle.dumps(k))
    assert isinstance(back, HashKey) and back.token("a") == k.token("a")
