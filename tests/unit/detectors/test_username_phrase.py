"""UsernamePhraseDetector: user names inside common log phrases (span = the name)."""

from __future__ import annotations

import pytest

from telescrub.classifiers.detectors.username_phrase import UsernamePhraseDetector

DET = UsernamePhraseDetector()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sshd[1]: Failed password for invalid user admin from 1.2.3.4 port 22 ssh2", ["admin"]),
        ("sshd[1]: Failed password for root from 183.62.140.253 port 34100 ssh2", ["root"]),
        ("Accepted publickey for bob from 10.0.0.1 port 22 ssh2", ["bob"]),
        ("Accepted password for carol.d from 10.0.0.1", ["carol.d"]),
        ("Invalid user oracle from 187.141.143.180", ["oracle"]),
        ("input_userauth_request: invalid user test9 [preauth]", ["test9"]),
        ("Invalid user 123456 from 1.2.3.4", ["123456"]),
        ("su(pam_unix)[21416]: session opened for user cyrus by (uid=0)", ["cyrus"]),
        ("session closed for user news", ["news"]),
        ("pam_unix(sshd:session): session opened for user dave(uid=1000) by (uid=0)", ["dave"]),
        (
            "authentication failure; logname= uid=0 tty=NODEVssh ruser= rhost=1.2.3.4  user=root",
            ["root"],
        ),
        ("ruser=eve rhost=x logname=frank", ["eve", "frank"]),
        ("sudo:    alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/ls", ["alice", "root"]),
        ("   alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/ls", ["alice", "root"]),
        ("at /opt/hdfs/nodemanager/usercache/curi/appcache/application_1", ["curi"]),
        (r"opened C:\Users\jdoe42\AppData\Local\x.log", ["jdoe42"]),
        (r"copied to \\files01\share\jdoe42 ok", ["jdoe42"]),
        ("session opened for user root(uid=0) by alice(uid=1000)", ["root", "alice"]),
        ('type=USER_AUTH msg=audit(1.2:3): acct="bob" exe="/usr/sbin/sshd"', ["bob"]),
        ("Connection closed by authenticating user git 1.2.3.4 port 22 [preauth]", ["git"]),
        ("systemd-logind[1]: New session 42 of user alice.", ["alice"]),
        ("user mallory logged in", ["mallory"]),
        ('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200', ["frank"]),
        ("Account Name:\t\tjsmith", ["jsmith"]),
        ("BLOCK* NameSystem.allocateBlock: /user/root/rand/_temporary/_task_1", ["root"]),
        ("Error loading /home/spelce1/HPCC/x: permission denied", ["spelce1"]),
        ("SecurityManager: Changing view acls to: yarn,curi", ["yarn", "curi"]),
        ("users with view permissions: Set(yarn, curi); ", ["yarn", "curi"]),
        # an account named like the daemon: the user name is found, the service name is not
        ("Failed password for sshd from 103.99.0.122 port 51359 ssh2", ["sshd"]),
        (
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
            "ruser= rhost=103.99.0.122  user=sshd",
            ["sshd"],
        ),
    ],
)
def test_finds(found, text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pam_unix(sshd:auth): check pass; user unknown",
        "Disconnecting: No more user authentication methods available. [preauth]",
        # empty fields
        "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4",
        "Failed none for invalid user  from 1.2.3.4 port 22",  # empty name
        "the user clicked the button",
        "rotationForOrientationLw(orient=1, last=0); user=0 USER_ROTATION_LOCKED",  # numeric id
        "userPrivacy switch is open, start push user data!",
        "error in user parameter list",
        "/Users/Shared/x",
        # daemon and PAM service names are system metadata
        "sshd[24460]: pam_unix(sshd:auth): check pass; user unknown",
        "PAM service(sshd) ignoring max retries; 5 > 3",
    ],
)
def test_ignores(found, text: str) -> None:
    assert found(text) == []


def test_span_is_the_name_only() -> None:
    text = "Failed password for root from 1.2.3.4"
    (r,) = DET.find(text)
    assert (text[r.start : r.end], r.entity_type, r.score) == ("root", "USERNAME", 0.8)


def test_match_value_needs_a_phrase() -> None:
    assert DET.match_value("alice") == 0.0
