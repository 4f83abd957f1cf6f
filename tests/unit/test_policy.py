"""Policy and rules loading: the bundled files load; every kind of mistake gives one clear
line naming the file, the line and the key."""

from __future__ import annotations

import os
import shutil

import pytest

from telescrub.core.errors import PolicyError
from telescrub.core.policy import ACTIONS, CATEGORIES, default_policy_path, load_policy


@pytest.fixture()
def policy_dir(tmp_path):
    src = os.path.dirname(default_policy_path())
    for name in ("policy.yaml", "rules.yaml"):
        shutil.copy(os.path.join(src, name), tmp_path / name)
    return tmp_path


def test_bundled_policy_loads():
    p = load_policy()
    assert set(p.category_actions) == set(CATEGORIES)
    assert p.retention_days["euii"] == 1
    assert p.retention_days["eupi"] == 28
    assert p.retention_days["customer_content"] == 30
    assert p.entity_actions["CREDIT_CARD"].action == "mask"
    assert all(a.action in ACTIONS for a in p.category_actions.values())
    assert len(p.digest) == 16


def test_digest_changes_with_content(policy_dir):
    a = load_policy(str(policy_dir / "policy.yaml")).digest
    path = policy_dir / "policy.yaml"
    path.write_text(path.read_text().replace("retention_days: 30", "retention_days: 31"))
    assert load_policy(str(path)).digest != a


def _edit(policy_dir, old, new, name="policy.yaml"):
    path = policy_dir / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return str(policy_dir / "policy.yaml")


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("{action: hash,       retention_days: 1}", "{action: hsh, retention_days: 1}",
         r"policy\.yaml:\d+: categories\.euii\.action: unknown action 'hsh'"),
        ("{action: hash,       retention_days: 1}", "{action: hash, retention_days: -3}",
         r"categories\.euii\.retention_days: bad value -3"),
        ("{action: hash,       retention_days: 1}", "{action: hash}",
         r"categories\.euii: missing required key 'retention_days'"),
        ("entity_share: 0.6", "entity_share: 7",
         r"policy\.yaml:\d+: thresholds\.entity_share: bad value 7"),
        ("entity_share: 0.6", "entity_shar: 0.6", r"thresholds\.entity_shar: unknown key"),
        ("CREDIT_CARD:    {action: mask, keep_last: 4}", "CREDITCARD: {action: mask}",
         r"entities\.CREDITCARD: unknown entity 'CREDITCARD'"),
        ("default: hash ", "default: keep ", r"text\.default: unknown text action 'keep'"),
        ("fields: []", "fields: {a: b}", r"fields: expected a list"),
        ("action: scrub_text       # scrub_text | drop", "action: keep",
         r"drift\.action: unknown drift action 'keep'"),
        ("rules: rules.yaml", "rules: missing.yaml", r"missing\.yaml: cannot read"),
        ('earliest: "2000-01-01"', 'earliest: "2000-13-01"',
         r"policy\.yaml:\d+: event_time\.earliest: bad value '2000-13-01': expected a date"),
        ('earliest: "2000-01-01"', "earliest: 2000", r"event_time\.earliest: bad value 2000"),
        ('earliest: "2000-01-01"', "earliest: 2000-01-01T00:00:00Z",
         r"event_time\.earliest: bad value"),
        ("future_tolerance_days: 1 ", "future_tolerance_days: -1 ",
         r"policy\.yaml:\d+: event_time\.future_tolerance_days: bad value -1: expected an "
         r"integer in \[0, 36500\]"),
        ("future_tolerance_days: 1 ", "future_tolerance_days: 1.5 ",
         r"event_time\.future_tolerance_days: bad value 1\.5"),
        ("implausible: null_partition ", "implausible: drop ",
         r"policy\.yaml:\d+: event_time\.implausible: unknown routing 'drop' \(expected one "
         r"of null_partition, quarantine\)"),
        ("implausible: null_partition ", "implausibel: quarantine ",
         r"event_time\.implausibel: unknown key 'implausibel'"),
    ],
)
def test_bad_policy_one_clear_line(policy_dir, old, new, expected):
    path = _edit(policy_dir, old, new)
    with pytest.raises(PolicyError, match=expected) as exc:
        load_policy(path)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("category: account_data, action: drop}", "category: acount_data, action: drop}",
         r"rules\.yaml:\d+: roles\.0\.category: unknown category 'acount_data'"),
        ("name: '(card_?)?(cvv2?", "name: '((card_?)?(cvv2?", r"roles\.0\.name: invalid regex"),
        ("IPV4:           {default: euii,", "IPV4:           {default: eui,",
         r"entity_categories\.IPV4\.default: unknown category 'eui'"),
    ],
)
def test_bad_rules_one_clear_line(policy_dir, old, new, expected):
    _edit(policy_dir, old, new, name="rules.yaml")
    with pytest.raises(PolicyError, match=expected):
        load_policy(str(policy_dir / "policy.yaml"))


def test_invalid_yaml_names_line(policy_dir):
    path = policy_dir / "policy.yaml"
    path.write_text("version: 1\ncategories: [unclosed\n")
    with pytest.raises(PolicyError, match=r"policy\.yaml:\d+: invalid YAML"):
        load_policy(str(path))


def test_duplicate_key_rejected(policy_dir):
    path = policy_dir / "policy.yaml"
    path.write_text(path.read_text() + "\nversion: '2'\n")
    with pytest.raises(PolicyError, match="duplicate key 'version'"):
        load_policy(str(path))


def test_missing_file():
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy("/nonexistent/policy.yaml")


def test_field_override_beats_entity_and_category(policy_dir):
    path = _edit(policy_dir, "fields: []",
                 'fields:\n  - {match: "web_access.client_ip", action: truncate_ip}')
    p = load_policy(path)
    assert p.action_for("web_access", "client_ip", "euii", "IPV4").action == "truncate_ip"
    assert p.action_for("other", "client_ip", "euii", "IPV4").action == "hash"
    assert p.action_for("t", "card", "account_data", "CREDIT_CARD").action == "mask"
    assert p.action_for("t", "x", "system_metadata", None).action == "keep"


def test_entity_role_category():
    p = load_policy()
    assert p.category_for("IPV4", "client") == "euii"
    assert p.category_for("IPV4", "tenant") == "oii"
    assert p.category_for("IPV4", "server") == "system_metadata"
    assert p.category_for("GUID", "device") == "eupi"
    assert p.category_for("GUID", "tenant") == "oii"
    assert p.category_for("GUID", "request") == "system_metadata"
    assert p.category_for("EMAIL_ADDRESS", None) == "euii"
    assert p.category_for("CREDIT_CARD", None) == "account_data"


@pytest.mark.parametrize(
    "path, entity",
    [
        ("ssn", "US_SSN"),
        ("customer.socialSecurityNumber", "US_SSN"),
        ("driversLicenseNumber", "US_DRIVER_LICENSE"),
        ("dl_number", "US_DRIVER_LICENSE"),
        ("nino", "UK_NINO"),
        ("niNumber", "UK_NINO"),
        ("nationalInsuranceNumber", "UK_NINO"),
        ("sin", "CA_SIN"),
        ("social_insurance_number", "CA_SIN"),
        ("nir", "FR_NIR"),
        ("numeroSecuriteSociale", "FR_NIR"),
        ("dni", "ES_NIF"),
        ("nie", "ES_NIE"),
        ("codiceFiscale", "IT_FISCAL_CODE"),
        ("aadhaarNumber", "IN_AADHAAR"),
        ("steuerId", "DE_TAX_ID"),
        ("national_id", "NATIONAL_ID"),
        ("taxId", "NATIONAL_ID"),
        ("tin", "NATIONAL_ID"),
        ("passportNumber", "NATIONAL_ID"),
    ],
)
def test_national_id_roles(path, entity):
    from telescrub.classifiers.decide import decide_field
    from telescrub.classifiers.roles import role_for

    p = load_policy()
    rule = role_for(p, "people", path)
    assert rule is not None and rule.role == "national_id"
    assert (rule.entity, rule.category) == (entity, "euii")
    # without a sample (streaming) the field name alone decides: national ids are redacted
    d = decide_field(p, [], "people", path, None)
    assert (d.category, d.action, d.output_category) == ("euii", "redact", None)


@pytest.mark.parametrize("path", ["since", "sinceTime", "license", "licenseType", "nickname",
                                  "tint", "niece", "nirvana", "dining", "session"])
def test_national_id_roles_need_the_whole_name(path):
    from telescrub.classifiers.roles import role_for

    rule = role_for(load_policy(), "t", path)
    assert rule is None or rule.role != "national_id"


def test_national_id_entities_are_euii_and_redacted():
    from telescrub.core import entities

    p = load_policy()
    for ent in entities.NATIONAL_IDS:
        assert p.category_for(ent, None) == "euii", ent
        assert p.action_for("t", "x", "euii", ent).action == "redact", ent
        assert p.text_action(ent) == "redact", ent


@pytest.mark.parametrize(
    "path, values, entity, action",
    [
        ("ssn", ["023-01-0866", "772-11-2233"], "US_SSN", "redact"),
        ("sin", [130692544, 130692545], "CA_SIN", "redact"),  # ints, no SIN word: the name decides
        ("id_doc", ["AB123456C", "JG103749D"], "UK_NINO", "redact"),  # the values decide
        # these values also pass the card Luhn check: the field name breaks the tie
        ("nir", ["255081416802538"], "FR_NIR", "redact"),
        ("ref", ["255081416802538"], "CREDIT_CARD", "mask"),
    ],
)
def test_national_id_columns(path, values, entity, action):
    from telescrub.classifiers.decide import decide_field
    from telescrub.classifiers.detectors import build_detectors
    from telescrub.classifiers.profile import FieldProfile

    profile = FieldProfile(path, 256)
    for v in values:
        profile.add(v)
    d = decide_field(load_policy(), build_detectors(), "people", path, profile)
    assert (d.entity, d.action) == (entity, action)


def test_national_ids_in_free_text_are_redacted():
    from telescrub.classifiers.text import TextScrubber
    from telescrub.core.keys import DEMO_KEY, HashKey, key_id_for

    scrubber = TextScrubber(load_policy(), HashKey(DEMO_KEY, key_id_for(DEMO_KEY), demo=True))
    text = ("NI number AB 12 34 56 C, SIN: 130 692 544, NIR 2 55 08 14 168 025 38, "
            "DNI 12345678Z, NIE X1234567L, CF RSSMRA85T10A562S, Aadhaar 2345 6789 0124, "
            "Steuer-ID 86095742719, driver's license number is F162823540116.")
    out, counts = scrubber.scrub(text)
    assert out == ("NI number <EUII:UK_NINO>, SIN: <EUII:CA_SIN>, NIR <EUII:FR_NIR>, "
                   "DNI <EUII:ES_NIF>, NIE <EUII:ES_NIE>, CF <EUII:IT_FISCAL_CODE>, "
                   "Aadhaar <EUII:IN_AADHAAR>, Steuer-ID <EUII:DE_TAX_ID>, "
                   "driver's license number is <EUII:US_DRIVER_LICENSE>.")
    assert dict(counts) == {e: 1 for e in ("UK_NINO", "CA_SIN", "FR_NIR", "ES_NIF", "ES_NIE",
                                           "IT_FISCAL_CODE", "IN_AADHAAR", "DE_TAX_ID",
                                           "US_DRIVER_LICENSE")}


def test_event_time_rule_defaults_and_overrides(policy_dir):
    from datetime import date

    from telescrub.core.timeparse import EventTimeRule

    bundled = load_policy().event_time
    assert bundled == EventTimeRule(date(2000, 1, 1), 1, "null_partition")
    path = _edit(policy_dir, 'earliest: "2000-01-01"', "earliest: null")
    _edit(policy_dir, "future_tolerance_days: 1 ", "future_tolerance_days: null ")
    _edit(policy_dir, "implausible: null_partition ", "implausible: quarantine ")
    assert load_policy(path).event_time == EventTimeRule(None, None, "quarantine")
    text = (policy_dir / "policy.yaml").read_text()
    (policy_dir / "policy.yaml").write_text(text[:text.index("event_time:")])
    assert load_policy(path).event_time == EventTimeRule()  # absent: the defaults
