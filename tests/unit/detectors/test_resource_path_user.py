"""ResourcePathUserDetector: the user segment of a REST path or resource name (users/<id>,
serviceAccounts/<id>, OneDrive /personal/<upn>); never placeholders, verbs or home dirs."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.resource_path_user import ResourcePathUserDetector

DET = ResourcePathUserDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("GET /api/v1/users/00u5ia07pgZLGRBAq697/lifecycle/activate", ["00u5ia07pgZLGRBAq697"]),
        ('"resource": "projects/-/serviceAccounts/113245997248201920622"',
         ["113245997248201920622"]),
        ("https://graph.microsoft.com/v1.0/users/6e7b768e-07e2-4810-8459-485f84f8f204?$select=x",
         ["6e7b768e-07e2-4810-8459-485f84f8f204"]),
        ("https://api.github.com/users/octocat/repos", ["octocat"]),
        ("organizations/123/members/jdoe", ["jdoe"]),
        ("principals/S-1-5-21-1004336348-1177238915-682003330-512",
         ["S-1-5-21-1004336348-1177238915-682003330-512"]),
        ("https://contoso-my.sharepoint.com/personal/jdoe_contoso_com/Documents/a.docx",
         ["jdoe_contoso_com"]),
        ("DELETE /scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
         ["2819c223-7f76-453a-919d-413861904646"]),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/users/{id}/roles",  # route templates
        "GET /api/v1/users/:id",
        "users/me and users/self and users/search and /users/count",
        "users list is empty",  # no path
        "/home/alice/.ssh and /Users/alice/Library and /user/curi/out",  # home directories
        "arn:aws:iam::123456789012:user/alice",  # the ARN detector's
        "https://graph.microsoft.com/v1.0/users/jdoe@contoso.com",  # the e-mail detector's
        "/api/users/ab",  # too short
        "users/h1:8dbe2624:0123456789abcdef0123456789abcdef",  # already scrubbed
        "superusers/admin and ausers/x",  # the collection must be a whole path segment
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_a_path_is_never_a_columns_identifier() -> None:
    assert DET.match_value("users/00u5ia07pgZLGRBAq697") == 0.0
