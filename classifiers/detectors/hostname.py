"""Fully qualified host names: two or more dot-separated labels ending in a known TLD.

``proxy.cse.cuhk.edu.hk``, ``ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn``,
``host.corp.internal``. The whole dotted token must be a host name: the last label must be
an ISO country code or a common generic TLD from the embedded list (lowercase, or the whole
name uppercase). Names of three or more labels score higher than ``example.de`` (0.5), unless
that is the value of a host key (``rhost=example.de``, ``"hostname": "example.de"``).

Deliberately not matched: single-label names (``combo``, ``LabSZ`` — they need field
context), file names (``foo.log``, ``setup.py``, ``lib.so``, ``Makefile.in``), Java/Android
names (``java.lang.Exception``, ``com.apple.cts``, ``org.apache.hadoop.ipc.Client``),
method calls (``log.info(``), version strings, path segments (``/usr/share/x.de``; after
``//`` a name is a URL host and does match), mixed-case words (``done.It``), config keys
whose last word is also a TLD (``mapred.task.id``, ``timeout.ms``: see ``_AMBIGUOUS``).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from telescrub.classifiers.detectors.base import Detector
from telescrub.core import entities

_COUNTRY = """ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn
bo br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do
dz ec ee eg er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw
gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz
la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my
mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs
ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl
tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"""
_GENERIC = """com net org edu gov mil arpa info biz mobi asia tel travel jobs aero coop museum xyz
online tech site cloud live blog local lan internal localdomain"""
TLDS = frozenset((_COUNTRY + " " + _GENERIC).split())
#: TLDs that double as file extensions, words or units in config keys (``setup.py``,
#: ``mapred.task.id``, ``timeout.ms``): never with two labels; with more, some label must hold
#: a digit or hyphen, or the name must look like one (``www.``, ``.co.``/``.edu.`` before it)
_AMBIGUOUS_TEXT = """py sh pl pm md so rs cc ps ml mk mo am ai as in tf bz cf nc sv cl gd st ls
sc tk ma id is it to me at be do no us my by ms gb im ie re io tv"""
_SLD_TEXT = "co com net org ac edu gov gob gouv or go ne mil sch web nic"
#: labels that betray a file name when they appear before the last one (``x.tar.gz``, ``a.h.in``)
_FILE_LABELS_TEXT = "h c cpp tar txt log conf cfg ini min bak old orig tmp json xml yaml"
_JAVA_ROOTS_TEXT = "java javax android androidx kotlin sun jdk scala"
_AMBIGUOUS = frozenset(_AMBIGUOUS_TEXT.split())
_SLD = frozenset(_SLD_TEXT.split())
_FILE_LABELS = frozenset(_FILE_LABELS_TEXT.split())
_JAVA_ROOTS = frozenset(_JAVA_ROOTS_TEXT.split())
_REVERSED_ROOTS = frozenset({"com", "org", "net"})

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# not mid-token, not a path segment ('/x.de') unless a URL authority ('//x.de')
_BEFORE = r"(?<![\w.$#%-])(?<!(?<!/)/)"
_HOST_KEY = r"(?i:\b(?:r?host(?:name)?|server|domain|fqdn|peer|sni)[\"']?\s*[=:]\s*[\"']?)"
_AFTER = r"(?![\w(-]|\.[\w-])"


class HostnameDetector(Detector):
    ENTITY = entities.HOSTNAME
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("fqdn_3_labels", rf"{_BEFORE}(?:{_LABEL}\.){{2,}}[A-Za-z]{{2,24}}{_AFTER}", 0.6),
        Pattern("fqdn_2_labels", rf"{_BEFORE}{_LABEL}\.[A-Za-z]{{2,24}}{_AFTER}", 0.5),
        Pattern("fqdn_keyed", rf"{_HOST_KEY}\K(?:{_LABEL}\.)+[A-Za-z]{{2,24}}{_AFTER}", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["host", "hostname", "rhost", "server", "domain", "dns", "fqdn"]
    PREFILTER = r"[A-Za-z0-9]\.[A-Za-z]{2}"

    def invalidate_result(self, pattern_text: str) -> bool:
        labels = pattern_text.split(".")
        tld = labels[-1]
        if not (tld.islower() or pattern_text.isupper()) or tld.lower() not in TLDS:
            return True
        first = labels[0].lower()
        if first in _JAVA_ROOTS or (first in _REVERSED_ROOTS and len(labels) > 2):
            return True
        if any(label.lower() in _FILE_LABELS for label in labels[1:-1]):
            return True
        if tld.lower() in _AMBIGUOUS:
            host_like = (
                first == "www"
                or labels[-2].lower() in _SLD
                or any(c.isdigit() or c == "-" for c in pattern_text)
            )
            return len(labels) == 2 or not host_like
        return False
