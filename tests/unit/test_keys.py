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
