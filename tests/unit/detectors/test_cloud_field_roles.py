"""Field-name roles of cloud and SaaS audit logs (schemas/rules.yaml): the identity fields of
CloudTrail, Entra ID sign-in and audit, Okta, Microsoft 365, Google Workspace, GitHub, Duo,
Zoom and Windows security events get a role that hashes them, whatever their values look
like; system metadata (event names, operations, regions, result codes, user agents) is kept.
"""

from __future__ import annotations

import pytest

from telescrub.classifiers.decide import decide_field
from telescrub.classifiers.detectors import build_detectors
from telescrub.classifiers.profile import FieldProfile
from telescrub.classifiers.roles import role_for, split_path
from telescrub.core.policy import load_policy

POLICY = load_policy()
DETECTORS = build_detectors()


def _decide(path: str, values: list[object] | None = None):
    profile = None
    if values is not None:
        profile = FieldProfile(path, 256)
        for v in values:
            profile.add(v)
    return decide_field(POLICY, DETECTORS if values is not None else [], "audit", path, profile)


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("username_s", "username"),  # Sentinel custom-log type suffixes
        ("SESSION_ID_d", "session_id"),
        ("isAdmin_b", "is_admin"),
        ("USER_ID_DERIVED", "user_id"),  # Salesforce 18-character id columns
        ("UserIdentityPrincipalid", "user_identity_principalid"),
        ("x_s", "x"),
        ("s", "s"),  # a one-letter name is not a suffix
    ],
)
def test_sentinel_and_salesforce_suffixes_are_dropped(raw: str, normalised: str) -> None:
    assert split_path(raw)[1] == normalised


@pytest.mark.parametrize(
    "path, role",
    [
        # AWS CloudTrail, raw JSON and the Sentinel AWSCloudTrail export
        ("userIdentity.arn", "arn"),
        ("userIdentity.principalId", "user"),
        ("userIdentity.accessKeyId", "credential_id"),
        ("userIdentity.userName", "username"),
        ("userIdentity.accountId", "tenant"),
        ("userIdentity.sessionContext.sessionIssuer.userName", "username"),
        ("userIdentity.sessionContext.sessionIssuer.principalId", "user"),
        ("userIdentity.sessionContext.sessionIssuer.arn", "arn"),
        ("requestParameters.roleSessionName", "username"),
        ("responseElements.credentials.accessKeyId", "credential_id"),
        ("responseElements.assumedRoleUser.assumedRoleId", "user"),
        ("sourceIPAddress", "client"),
        ("UserIdentityArn", "arn"),
        ("UserIdentityPrincipalid", "user"),
        ("UserIdentityAccessKeyId", "credential_id"),
        ("SessionIssuerUserName", "username"),
        ("recipientAccountId", "tenant"),
        # Entra ID sign-in and audit logs
        ("userPrincipalName", "email"),
        ("userDisplayName", "person_name"),
        ("userId", "user"),
        ("ipAddress", "client"),
        ("deviceDetail.displayName", "host"),
        ("deviceDetail.deviceId", "device"),
        ("initiatedBy.user.userPrincipalName", "email"),
        ("initiatedBy.user.displayName", "person_name"),
        ("initiatedBy.user.id", "user"),
        ("initiatedBy.user.ipAddress", "client"),
        ("targetResources[].userPrincipalName", "email"),
        ("targetResources[].displayName", "person_name"),
        ("targetResources[].id", "user"),
        # Okta System Log
        ("actor.id", "user"),
        ("actor.alternateId", "username"),
        ("actor.displayName", "person_name"),
        ("target[].id", "user"),
        ("target[].alternateId", "username"),
        ("client.ipAddress", "client"),
        # Microsoft 365 management activity
        ("UserKey", "user"),
        ("UserId", "user"),
        ("ClientIP", "client"),
        ("Actor[].ID", "user"),
        ("Target[].ID", "user"),
        ("MailboxOwnerUPN", "email"),
        ("LogonUserSid", "user"),
        # Google Workspace, GitHub, Duo, Zoom, Jira, Salesforce, 1Password
        ("actor.email", "email"),
        ("actor.profileId", "user"),
        ("actor", "actor"),
        ("actor_ip", "client"),
        ("access_device_ip_s", "client"),
        ("auth_device_name_s", "host"),
        ("access_device.hostname", "host"),
        ("operator", "actor"),
        ("authorAccountId", "user"),
        ("objectItem.name", "person_name"),
        ("associatedItems[].id", "user"),
        ("delegated_user_id", "user"),
        ("login_key", "session"),
        ("actor_uuid", "user"),
        ("object_uuid", "user"),
        # plain actor fields
        ("createdBy", "actor"),
        ("modifiedBy", "actor"),
        ("lastModifiedBy", "actor"),
        ("assignee", "actor"),
        ("requester", "actor"),
        ("approver", "actor"),
        ("performedBy", "actor"),
        ("invitedBy", "actor"),
        ("record.updated_by_user", "actor"),
        # Windows security events
        ("SubjectUserName", "username"),
        ("TargetUserName", "username"),
        ("SubjectDomainName", "directory_domain"),
        ("TargetDomainName", "directory_domain"),
        ("WorkstationName", "host"),
        ("IpAddress", "client"),
        ("SubjectUserSid", "user"),
        ("TargetLogonId", "session"),
        ("Computer", "server"),
        ("ActorContextId", "tenant"),
    ],
)
def test_identity_fields_of_cloud_logs(path: str, role: str) -> None:
    rule = role_for(POLICY, "audit", path)
    assert rule is not None and rule.role == role, (path, rule and rule.role)


@pytest.mark.parametrize(
    "path",
    [
        "eventName", "eventSource", "awsRegion", "errorCode", "userAgent", "eventType",
        "operationName", "OperationName", "Operation", "outcome.result", "resultType",
        "appDisplayName", "resourceDisplayName", "initiatedBy.app.displayName",
        "targetResources[].modifiedProperties[].displayName", "userIdentity.type",
        "userIdentity.invokedBy", "Workload", "RecordType", "LogonType", "actor.type",
        "target[].type", "tlsDetails.clientProvidedHostHeader", "apiVersion",
    ],
)
def test_system_metadata_of_cloud_logs_is_kept(path: str) -> None:
    d = _decide(path)
    assert (d.category, d.action) == ("system_metadata", "keep"), (path, d.evidence)


@pytest.mark.parametrize(
    "path, value",
    [
        ("SubjectUserName", "jdoe"),
        ("createdBy", "ahmed.doe"),
        ("operator", "mvarga"),
        ("actor", "octocat"),
        ("requester", "svc_build"),
        ("target[].alternateId", "jdoe"),
        ("UserId", "jdoe"),
        ("userIdentity.principalId", "AROAJQABLZS4A3QDU576Q:jdoe"),
    ],
)
def test_an_alias_under_an_identity_field_is_hashed(path: str, value: str) -> None:
    """No value detector knows 'jdoe': the field says what it is."""
    for profile in (None, [value, value + "2", value + "3"]):
        d = _decide(path, profile)
        assert d.action == "hash" and d.category in ("euii", "eupi"), (path, d)
        assert d.output_category == "eupi"


@pytest.mark.parametrize(
    "path, values, entity",
    [
        ("userIdentity.accessKeyId", ["AKIAIOSFODNN7EXAMPL1", "ASIAY34FZKBOKMUTVV7A"], None),
        ("keyId", ["key-0001", "key-0002"], None),
        ("api_key_id", ["a1b2c3", "d4e5f6"], None),
    ],
)
def test_credential_ids_are_never_kept(path: str, values: list[str], entity: str | None) -> None:
    for profile in (None, values):
        d = _decide(path, profile)
        assert d.action in ("hash", "redact"), (path, d)


def test_a_windows_domain_name_is_oii_and_kept() -> None:
    d = _decide("SubjectDomainName", ["CONTOSO", "NT AUTHORITY", "FABRIKAM"])
    assert (d.category, d.action, d.role) == ("oii", "keep", "directory_domain")


def test_a_column_of_domain_users_keeps_the_domain() -> None:
    d = _decide("Account", [r"CONTOSO\jdoe", r"CONTOSO\asmith", r"FABRIKAM\bob"])
    assert (d.entity, d.action, d.output_category) == ("DOMAIN_USER", "scrub_text", "eupi")


def test_a_column_of_user_arns_is_scrubbed_in_place() -> None:
    d = _decide("UserIdentityArn", ["arn:aws:iam::123456789012:user/alice",
                                    "arn:aws:sts::123456789012:assumed-role/Admin/bob"])
    assert (d.entity, d.action, d.output_category) == ("AWS_ARN", "scrub_text", "eupi")


def test_a_flag_named_after_an_identity_is_kept() -> None:
    d = _decide("low_risk_ip_b", ["true", "false"])
    assert (d.category, d.action) == ("system_metadata", "keep")
    d = _decide("known_ip", [True, False])
    assert d.action == "keep"


def test_a_column_of_json_documents_is_scrubbed_by_its_keys() -> None:
    d = _decide("session", ['{"uuid": "JCMNBI2AD5EDRLHKAHCJTU7ZKI", "ip": "178.132.215.33"}'])
    assert d.action == "scrub_text" and "value_shape:json" in d.evidence
