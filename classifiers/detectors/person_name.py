"""Person names in free text (entity ``PERSON``) without an NER model: gazetteer + context.

Name lists (``schemas/data/first_names.txt``, ``last_names.txt``: ~150k names of many
cultures, see ``schemas/data/README.md``) and a list of plain English words
(``english_words.txt``) are loaded once per process. A name that is also an English word
carries a mark (``~`` common: *Will*, *May*, *Grant*; ``?`` rarer: *Smith*, *Server*) and
needs stronger evidence.

The text is cut into word tokens; runs of name-shaped tokens (``Anna``, ``KOWALSKA``, ``J.``,
``van``/``de``/... in the middle) separated by single spaces are candidates, scored by what
their parts are:

* 0.85 first name + surname from the lists (or a surname-shaped word: *-ová*, *-sson*,
  *-enko*, ...), also ``KOWALSKA Anna`` and ``Kowalska, Anna``;
* 0.7 first name + a capitalised word that is no English word, surname + first name
  (family name first), ``Faina D. Yefremova`` (capitalised, initial, capitalised),
  ``J. Smith``, ``Will Smith`` (an English-word first name + a listed surname);
* 0.75 / 0.6 a listed / unlisted (non-English) capitalised word after a context cue:
  honorifics (Mr/Mrs/Ms/Dr/Prof ...), ``my name is``, ``calls me``, ``name:``,
  ``Dear``/``Hi``/``Hello``, ``spoke with``, ``follow up with``, ``smiled at``, ``signed by``,
  ``contact:``, ``@`` mentions, ``(user X Y)``, or before a verb of speech/action (``X said``,
  ``X lives``), ``his/her address``, ``as a beneficiary``; ``the X novel``; weak cues
  (``from``, ``by``, ``X is a``) only for listed names; chat speaker labels (``Anna: hello``);
  lists of names (``Gaetane, Hannah, Anthony and Derek``; three surnames only after a people
  noun such as ``founders:``, else they name a firm);
* 0.55 a single listed name that is no English word (``Christiansen``).

Deliberately not matched: capitalised English words and English-word names without more
evidence (``Will``, ``May``, ``Grant``, ``Summer``), month and day names, countries and
nationalities, technical words even when they are also names (``Java``, ``Apache``,
``Server``, ``Spark``), names followed by a company word (``Berkshire Hathaway Inc``,
``Russell Investments``), words inside a detected street address (``Victor Hugo u. 49``),
CamelCase or dotted identifiers (``PowerManagerService``, ``org.apache.Hadoop``), all-caps
runs (``INFO WARN``), and in all-lower-case text anything but a listed first + last name pair,
a name after ``my name is``/``name:``/``mr.``, a listed name before a verb of speech/action,
a speaker label that is a listed first name, or a list of four names (or three after a colon).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import ClassVar

import regex
from presidio_analyzer import Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.detectors.street_address import find_addresses
from telescrub.core import entities


def _backwards(pattern: str) -> regex.Pattern:
    """Compile an end-anchored pattern (``...$``) to be searched from the end backwards:
    the same matches, an order of magnitude faster on long texts."""
    return regex.compile(pattern, regex.REVERSE)


# ---------------------------------------------------------------------------------------------
# word lists

#: mark levels in the name files: 0 plain name, 1 '?' dictionary word, 2 '~' common word
PLAIN, DICT, COMMON = 0, 1, 2
ABSENT = -1


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _read(name: str) -> list[str]:
    text = resources.files("telescrub.schemas").joinpath("data", name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _load_names(name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read(name):
        level = COMMON if line[0] == "~" else DICT if line[0] == "?" else PLAIN
        key = unicodedata.normalize("NFC", line.lstrip("~?")).casefold()
        out[key] = min(level, out.get(key, level))
    return out


@lru_cache(maxsize=1)
def gazetteers() -> tuple[dict[str, int], dict[str, int]]:
    """(first names, last names): casefolded name -> mark level; loaded once per process."""
    return _load_names("first_names.txt"), _load_names("last_names.txt")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case English words that are no names (names carry marks in the name lists)."""
    return frozenset(_read("english_words.txt"))


#: never a name, even when a list holds them: function words, greetings, titles, months and
#: days, places, organisation words, log and technical vocabulary
STOP: frozenset[str] = _words("""
a an the this that these those it its he she we they you i me my your his her our their
there here what when where who whom why how which if in on at by for from to with of and or
but not no yes ok okay please also then so as all any some each every both either neither
new old other another same such only just very more most less least many much few
hi hello hey dear thanks thank regards cheers best sincerely yours kind warm welcome good
morning afternoon evening night bye goodbye congratulations sorry greetings attn cc
january february march july september october november december feb mar apr jun jul aug
sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue tues
wed thu thur thurs fri sat sun today tomorrow yesterday week weekend month year day time
date christmas easter fall
mr mrs ms miss mx dr prof sir madam mme mlle herr frau sr sra srta dott ing jr snr esq phd
md dds rev fr hon
captain general colonel major sergeant lieutenant officer agent doctor professor president
minister senator governor judge king queen prince princess lord lady duke saint st mount
father mother brother sister uncle aunt son daughter baby grandma grandpa mom dad mum
producer director manager engineer developer customer client user admin administrator
support team staff member owner author editor reporter requester assignee approver patient
name names first last middle full surname given family contact address street road avenue
apt apartment suite unit flat floor room box po bldg building dept caller callee sender
recipient reviewer submitter operator dispatcher subscriber account holder
city state country zip postal code phone email mobile fax office home work
north south east west central upper lower great little big grand
inc ltd llc corp co gmbh bv sa ag plc pty llp
service services server servers error errors exception warning warn info information debug
trace fatal critical notice verbose log logs logger logging java javascript apache linux
unix windows macos ios android spark hadoop hdfs yarn hive hbase pig storm flink kafka
zookeeper cassandra mongo mongodb redis mysql postgres postgresql oracle sql sqlite jenkins
docker kubernetes helm python ruby perl rust swift scala kotlin golang node nodejs react
angular vue django flask rails spring hibernate maven gradle jetty tomcat netty nginx
ubuntu debian fedora centos redhat suse chrome chromium firefox safari edge opera outlook
excel word teams skype zoom slack azure aws amazon google microsoft apple ibm intel
amd nvidia dell lenovo samsung huawei xiaomi sony cisco juniper vmware citrix adobe sap
salesforce github gitlab bitbucket jira confluence atlassian openstack nova neutron keystone
glance cinder horizon heat ceph mesos marathon consul vault terraform ansible puppet
chef salt travis circle bamboo hudson sonar nexus artifactory elastic elasticsearch kibana
logstash grafana prometheus splunk datadog nagios zabbix uber lyft
task tasks job jobs node nodes block blocks container containers memory thread threads
process session sessions client clients host hosts port ports master worker workers driver
executor executors storage shuffle broadcast handler listener activity window screen sensor
sensors power battery display kernel boot startup config configuration install update updates
upgrade package packages module modules version build release stack core cores state status
start started stop stopped wait ram cpu gpu disk network net wifi bluetooth call message
media audio video camera light alarm step steps health ident token key keys cache login
logout root system default local global remote public private internal external main test
tests demo sample example unknown guest mode level type value count size total max min avg
sum null none true false undefined nan ack nack request response reply result success
failure failed fail pass passed ready running done complete completed pending active
inactive enabled disabled online offline idle busy open closed close connected disconnected
received sent send sending receiving created deleted removed added changed modified updated
read write reading writing loading loaded saving saved starting stopping restarting
shutting shutdown registered unregistered initialized initializing finished finishing
allocated assigned launched killed exited timeout retry retrying data file files folder
directory path url uri link web site page app apps application applications api sdk cli gui
ui ux http https tcp udp ip dns ssl tls ssh ftp smtp imap pop json xml yaml csv html css pdf
attempt appattempt appid ok cancel abort accept reject allow deny grant revoke
""")
#: countries, nationalities, continents and big cities (a name only after an honorific)
_PLACES: frozenset[str] = _words("""
africa america americas asia europe oceania antarctica arctic atlantic pacific caribbean
afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan
bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia
botswana brazil brunei bulgaria burkina burundi cambodia cameroon canada chile china
colombia comoros congo croatia cuba cyprus czech czechia denmark djibouti dominica ecuador
egypt eritrea estonia eswatini ethiopia fiji finland france gabon gambia germany ghana greece
greenland grenada guatemala guinea guyana haiti honduras hungary iceland india indonesia iran
iraq ireland israel italy jamaica japan jordan kazakhstan kenya kiribati korea kosovo kuwait
kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania luxembourg
madagascar malawi malaysia maldives mali malta mauritania mauritius mexico micronesia moldova
monaco mongolia montenegro morocco mozambique myanmar namibia nauru nepal netherlands holland
nicaragua niger nigeria norway oman pakistan palau palestine panama paraguay peru philippines
poland portugal qatar romania russia rwanda samoa senegal serbia seychelles singapore slovakia
slovenia somalia spain sri lanka sudan suriname sweden switzerland syria taiwan tajikistan
tanzania thailand togo tonga trinidad tunisia turkey turkmenistan tuvalu uganda ukraine
emirates uruguay uzbekistan vanuatu vatican venezuela vietnam yemen zambia zimbabwe
scotland wales england britain kingdom republic islands island states union federation
american african asian european australian austrian belgian brazilian british canadian
chinese croatian czech danish dutch egyptian english estonian finnish french german greek
hungarian icelandic indian indonesian irish israeli italian japanese korean latvian
lithuanian mexican norwegian polish portuguese romanian russian scottish serbian slovak
slovenian spanish swedish swiss thai turkish ukrainian vietnamese welsh arab arabic persian
hebrew latin nordic scandinavian slavic balkan baltic celtic african
london paris berlin madrid rome vienna prague warsaw budapest amsterdam brussels lisbon
dublin oslo stockholm copenhagen helsinki reykjavik athens moscow kyiv kiev tokyo beijing
shanghai seoul delhi mumbai cairo lagos nairobi sydney melbourne toronto montreal vancouver
chicago boston seattle houston dallas austin denver phoenix atlanta miami detroit
san santa los las
""")
STOP = STOP | _PLACES
#: month, day and season words that are also names: a name only next to a listed surname
_AS_COMMON = _words("jan april may june august spring summer autumn winter")
#: a word right after a name run that makes it an organisation (``Russell Investments``)
_ORG_WORDS = _words("""
inc incorporated corp corporation co company companies ltd limited llc llp plc gmbh ag sa bv
nv ab as oy spa srl kg pty group holdings holding partners associates associated
technologies technology tech solutions systems software labs laboratories consulting
consultants services capital investments investment ventures fund funds trust bank banking
insurance financial finance securities realty properties estates industries international
global enterprises enterprise agency agencies media studios studio records productions
entertainment publishing press networks network communications telecom energy electric
motors airlines airways logistics pharmaceuticals pharma health healthcare medical clinic
hospital university college school academy institute foundation society association council
committee club orchestra band choir ensemble church restaurant cafe hotel brewery farms
lines data analytics research brands foods apparel design designs law legal
""")
_SPEECH_AFTER = (
    r"said|says|wrote|writes|asked|asks|replied|replies|answered|commented|explained|added|"
    r"noted|told|called|emailed|mentioned|reported|confirmed|agreed|shouted|yelled|smiled|"
    r"laughed|cried|nodded|spent|visited|bought|sold|moved|went|came|arrived|decided|wanted|"
    r"wants|likes|liked|loves|loved|hates|knows|knew|thinks|thought|believes|believed|met|"
    r"began|begins|wrote|writes|sang|sings|stars|starred|"
    r"married|studied|graduated|lives|lived|works|worked|died|joined|left|was[ \t]+born|"
    r"grew[ \t]+up|had[ \t]+given|has[ \t]+given|will[ \t]+be[ \t]+talking|is[ \t]+very|"
    r"would[ \t]+like|is[ \t]+from"
)

_HONORIFICS = (
    r"mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|madam|madame|mme|mlle|herr|frau|sr|sra|"
    r"srta|señor|señora|dott|sig|sig\.ra|rev|capt|sgt"
)
#: cue before the name (matched against the text before the candidate, case-insensitively)
_STRONG_BEFORE = _backwards(
    r"(?i:"
    rf"\b(?:{_HONORIFICS})\.?[ \t]+"
    r"|\bname(?:[ \t]+is|[ \t]+was|[ \t]*[:=]|[ \t]+on[ \t]+the[ \t]+\w+[ \t]+is|\?)[ \t]*"
    r"|\b(?:i[ \t]+am|i'm|this[ \t]+is|calls?[ \t]+me|called|named|known[ \t]+as|"
    r"aka|a\.k\.a\.)[ \t]+(?:(?:him|her|them|me|us|it)[ \t]+)?"
    r"|\b(?:spoke|speaking|spoken|talked|talking|chatted|met|meeting|emailed|e-mailed|"
    r"called|phoned|contacted|reached|escalated|forwarded|assigned|transferred|handed|"
    r"sent|passed|reassigned|replied|wrote|writing|introduced|follow|followed|following|"
    r"check|checked|catch|caught)[ \t]+(?:\w+[ \t]+)?(?:with|to)[ \t]+"
    r"|\b(?:shouted|yelled|screamed|smiled|waved|stared|glared|winked|nodded|pointed)[ \t]+at[ \t]+"
    r"|\b(?:contact|attn|attention|cc|bcc|owner|assignee|reporter|author|customer|caller|"
    r"requester|requestor|agent|technician|engineer|approver|manager|user|signed|signatory|"
    r"employee|patient|applicant|guardian|beneficiary|recipient|sender|from|to|by|"
    r"directed[ \t]+by|written[ \t]+by|name|full[ \t]+name|display[ \t]+name)[ \t]*:[ \t]*"
    r"|\b(?:signed|approved|reviewed|reported|requested|created|submitted|opened|closed|"
    r"authored|written|directed|produced|composed|performed|sung|edited|handled|resolved|"
    r"raised|logged|filed|updated|modified|owned|managed|led|founded|painted|photographed|"
    r"narrated|hosted|presented|translated|illustrated|played|voiced|starring)[ \t]+by[ \t]+"
    r"|\b(?:hi|hello|hey|dear|thanks|thank[ \t]+you|regards|cheers|greetings|welcome|"
    r"congratulations|congrats|sincerely|bye|ciao|hallo|hej|hola|bonjour|moin)[ \t]*,?[ \t]+"
    r"|\((?:user|customer|agent|contact|employee|owner|caller|patient|by)[ \t]+"
    r"|\b(?:voicemail|voice[ \t]+mail|message|callback|call[ \t]+back|note|reminder|"
    r"ticket)[ \t]+(?:left[ \t]+)?(?:for|to)[ \t]+"
    r"|\b(?:reach|contact|ping|email|e-mail|notify|inform|cc)[ \t]+"
    r"|(?:^|[ \t])(?:--|\u2014)[ \t]*"
    r"|\b(?:said|says|asked|asks|replied|wrote|added|explained|starring|featuring|"
    r"co-starring)[ \t]+"
    r"|\b(?:mister|missus|uncle|aunt|auntie|cousin|grandma|grandpa|nurse|coach|officer|"
    r"detective|inspector|producer|singer|songwriter|guitarist|drummer|bassist|"
    r"writer|poet|actor|actress|director|artist|painter|composer|conductor|president|"
    r"ceo|cto|cfo|founder|chairman|senator|governor|mayor|minister|professor|judge|"
    r"colleague|coworker|co-worker|friend|neighbour|neighbor|husband|wife|son|daughter|"
    r"brother|sister|mother|father|mom|dad|kid|child|boss|partner|fiancee?|boyfriend|"
    r"girlfriend|assistant|ex-\w+)[ \t]+"
    r")$"
)
#: weaker cue before: counts only for a listed name
_WEAK_BEFORE = _backwards(
    r"(?i:\b(?:from|by|with|and|to|for|of|about|ask|tell|thank|let|behalf[ \t]+of|"
    r"add|added|remove|removed|invite|invited|include|included|tribute[ \t]+to|under|"
    r"given|gave|told|asked|thanked|meet|called|including|"
    r"novel|song|album|book|film|movie|at|on|see|is|was|as|like|than)[ \t]+)$"
)
_STRONG_AFTER = regex.compile(
    rf"[ \t]+(?i:{_SPEECH_AFTER})\b"
    r"|'s[ \t]+(?i:account|address|phone|email|e-mail|name|number|card|wife|husband|"
    r"son|daughter|mother|father|brother|sister|boss|manager|birthday|kid|child)\b"
    r"|[ \t]*,[ \t]*(?i:the|our|my|who|aged?|phd|md|jr|sr|can[ \t]+i|could[ \t]+you)\b"
    # 'gave Hakuba his address', 'add Irenke Sörös as a beneficiary'
    r"|[ \t]+(?i:his|her|their)[ \t]+(?i:address|phone|number|e-?mail|details|keys?|card)\b"
    r"|[ \t]+as[ \t]+(?:a|an|the|my|our|his|her)[ \t]+(?i:beneficiary|co-?owner|owner|"
    r"signatory|dependent|dependant|guarantor|trustee|nominee|authori[sz]ed[ \t]+user|"
    r"emergency[ \t]+contact|next[ \t]+of[ \t]+kin|contact|member|approver|delegate)\b"
)
_WEAK_AFTER = regex.compile(
    r"[ \t]+(?i:is|was|were|are|has|had|will|would|can|could|and|or|novel|song|album|book|"
    r"film|movie|version|biography|family|household)\b|'s\b|[ \t]*[,?!]"
)
_VOCATIVE = regex.compile(r"[ \t]*[?!]")
#: a work named after its author: 'the Ronner novel', 'the Tolstoy biography'
_WORK_AFTER = regex.compile(
    r"[ \t]+(?i:novels?|memoirs?|biography|poems?|essays|trilogy|sonatas?|symphony|paintings?)\b"
)
#: people named in a list after a plural noun and a colon ('our 3 founders: A, B and C')
_PEOPLE_BEFORE = _backwards(
    r"(?i:\b(?:founders|co-?founders|members|owners|authors|speakers|guests|winners|finalists|"
    r"participants|attendees|children|kids|siblings|sons|daughters|friends|colleagues|"
    r"employees|candidates|students|players|judges|witnesses|heirs)[ \t]*:[ \t]*)$"
)
#: a verb before the name: enough for a listed name that is also a rarer English word
_VERB_BEFORE = _backwards(
    r"(?i:\b(?:given|gave|told|asked|thanked|meet|met|called|add|added|remove|removed|"
    r"invite|invited|include|included|including|ask|tell|thank|let|leave|love|miss|marry|"
    r"married|hired|fired|promoted|paid|pay|phoned|visited|visit)[ \t]+)$"
)
_MENTION_BEFORE = _backwards(r"(?:^|[\s(\[,;:])@$")
_SPEAKER = regex.compile(
    r"(?m)^[ \t>*•-]*(\p{Lu}[\p{Ll}\p{M}'’-]+(?:[ \t]\p{Lu}[\p{Ll}\p{M}'’-]+)?)[ \t]*:[ \t]*(?=\S)"
)

# ---------------------------------------------------------------------------------------------
# tokens

_WORD = regex.compile(r"[\p{L}\p{M}]+(?:['’\-][\p{L}\p{M}]+)*")
_CAP = regex.compile(
    r"(?:(?:Mc|Mac|O['’]|D['’]|De|Di|Da|Du|La|Le|Van|Von|Fitz|Ó|Ní|Nic|Mhic)?\p{Lu}[\p{Ll}\p{M}]+)"
    r"(?:[\-'’](?:\p{Lu}|\p{Ll})[\p{Ll}\p{M}]+)*"
)
_UPPER = regex.compile(r"\p{Lu}[\p{Lu}\p{M}]+(?:[\-'’]\p{Lu}[\p{Lu}\p{M}]+)*")
_LOWER = regex.compile(r"\p{Ll}[\p{Ll}\p{M}]+(?:[\-'’]\p{Ll}[\p{Ll}\p{M}]+)*")
_PARTICLES = _words(
    "van von der den de del della dei di da das dos du la le les ten ter bin binti ibn al el "
    "af av zu y e abu bint ben ould ag do"
)
#: surname endings of many languages (never alone: they only back a first name or a cue)
_SURNAME_SHAPE = regex.compile(
    r"(?:sson|dóttir|dottir|ová|ovà|ова|ева|ovič|ović|ević|vić|vič|ić|ič|ova|eva|yeva|"
    r"ovich|evich|ovna|evna|ov|ev|yev|ski|ska|sky|skiy|skaya|skyi|cki|cka|dzki|dzka|wicz|czyk|"
    r"enko|chuk|czuk|nen|escu|eanu|opoulos|opoulou|akis|idis|iadis|oglu|oğlu|yan|shvili|"
    r"dze|aitė|ienė|ytė|auskas|evičius|avičius|ák|ský|ská|ný|ná|mann|stein|ström|strom|"
    r"qvist|kvist|gaard|gård|moto|mura|yama|kawa|saki|gawa|zawa|uchi|ez|ães|eiro|eira|"
    r"ucci|sen|borg|berg)$"
)
_BAD_LEFT = frozenset("_@#$%&*/\\.=:+<>[{|~^`0123456789")
_BAD_RIGHT = frozenset("_@#$%&*/\\=+<>[{(|~^`0123456789")
_CORE_KINDS = ("cap", "upper", "lower")


@dataclass
class Tok:
    start: int
    end: int
    text: str
    kind: str  # 'cap' | 'upper' | 'initial' | 'particle' | 'lower' | 'other'
    first: int = ABSENT  # mark level in the first-name list
    last: int = ABSENT  # mark level in the last-name list
    stop: bool = True
    shape: bool = False  # surname-shaped ending
    eng: bool = False  # an English word that is no name
    org: bool = False  # an organisation word (Inc, Investments, Orchestra, ...)


def _level(d: dict[str, int], word: str) -> int:
    key = word.casefold()
    lv = d.get(key)
    if lv is not None:
        return lv
    if "-" in key:  # Anne-Lotte, Garcia-Lopez: every part listed
        parts = [d.get(p) for p in key.split("-") if p]
        if parts and all(p is not None for p in parts):
            return max(p for p in parts if p is not None)
    return ABSENT


@lru_cache(maxsize=50_000)
def _features(w: str) -> tuple[int, int, bool, bool, bool, bool]:
    """(first level, last level, stop, surname shape, English word, organisation word)."""
    first, last = gazetteers()
    english = english_words()
    low = w.casefold()
    fl, ll = _level(first, w), _level(last, w)
    if low in _AS_COMMON:
        fl = COMMON if fl >= 0 else fl
        ll = COMMON if ll >= 0 else ll
    eng = fl == ABSENT and ll == ABSENT and (
        low in english or any(p in english for p in low.split("-"))
    )
    shape = len(w) >= 5 and ll != COMMON and not eng and _SURNAME_SHAPE.search(low) is not None
    return fl, ll, low in STOP, shape, eng, low in _ORG_WORDS


def _token(text: str, s: int, e: int, w: str, kind: str) -> Tok:
    return Tok(s, e, w, kind, *_features(w))


def _tokens(text: str, lower_ok: bool = False) -> list[Tok]:
    """The name-shaped word tokens of ``text``. Other words are left out: they only ever broke
    a chain, and the gap they leave between two tokens (never one space) breaks it too."""
    out: list[Tok] = []
    n = len(text)
    for m in _WORD.finditer(text):
        w = m.group()
        if not lower_ok and w[0].islower() and w not in _PARTICLES:
            continue
        s, e = m.span()
        if w.endswith(("'s", "’s")) and len(w) > 3:
            e -= 2
            w = w[:-2]
        left = text[s - 1] if s > 0 else " "
        right = text[e] if e < n else " "
        bad = left in _BAD_LEFT or right in _BAD_RIGHT or (
            right == "." and e + 1 < n and text[e + 1].isalnum()
        )
        if left == "@" and _MENTION_BEFORE.search(text, 0, s):
            bad = False
        if bad:
            continue
        if len(w) == 1 and w.isupper():
            if right == ".":
                e += 1
            out.append(Tok(s, e, text[s:e], "initial", stop=False))
        elif w.islower() and w.casefold() in _PARTICLES:
            out.append(Tok(s, e, w, "particle", stop=False))
        elif _CAP.fullmatch(w):
            out.append(_token(text, s, e, w, "cap"))
        elif _UPPER.fullmatch(w):
            out.append(_token(text, s, e, w, "upper"))
        elif lower_ok and _LOWER.fullmatch(w):
            out.append(_token(text, s, e, w, "lower"))
    return out


def _chains(text: str, toks: list[Tok]) -> list[list[Tok]]:
    """Runs of name-shaped tokens separated by one space; particles never at an end."""
    chains: list[list[Tok]] = []
    cur: list[Tok] = []
    for t in toks:
        if t.kind == "other":
            if cur:
                chains.append(cur)
            cur = []
            continue
        if cur:
            gap = text[cur[-1].end : t.start]
            if gap != " " and not (cur[-1].kind == "initial" and gap == ""):
                chains.append(cur)
                cur = []
        cur.append(t)
    if cur:
        chains.append(cur)
    out = []
    for c in chains:
        while c and c[0].kind == "particle":
            c = c[1:]
        while c and c[-1].kind == "particle":
            c = c[:-1]
        if c:
            out.append(c)
    return out


def _is_first(t: Tok, max_level: int = DICT) -> bool:
    return 0 <= t.first <= max_level and not t.stop


def _is_last(t: Tok, max_level: int = DICT) -> bool:
    return (0 <= t.last <= max_level or t.shape) and not t.stop


def _listed(t: Tok, max_level: int = DICT) -> bool:
    return _is_first(t, max_level) or _is_last(t, max_level)


def _unknown(t: Tok) -> bool:
    """Capitalised, in no list and no English word: perhaps a name from elsewhere."""
    return t.first == ABSENT and t.last == ABSENT and not t.eng and not t.stop and len(t.text) >= 3


def _score_window(w: list[Tok]) -> tuple[float, str]:
    """Score of a window of name tokens (ends are name words; initials/particles inside)."""
    core = [t for t in w if t.kind in _CORE_KINDS]
    if not core or any(t.stop or t.org for t in core):
        return 0.0, ""
    if len(core) == 1:
        t, ini = core[0], w[0]
        if (ini.kind == "initial" and t is w[-1] and t.kind == "cap" and _is_last(t)
                and (ini.text.endswith(".") or ini.text not in ("A", "I"))):
            return 0.7, "initial_surname"
        return 0.0, ""
    if all(t.kind == "upper" for t in core) or sum(t.kind == "upper" for t in core) > 1:
        return 0.0, ""
    f, lt = core[0], core[-1]
    if any(t.eng for t in core[1:-1]):
        return 0.0, ""
    if f.kind == "upper" or lt.kind == "upper":  # 'KOWALSKA Anna', 'Anna KOWALSKA'
        up, other = (f, lt) if f.kind == "upper" else (lt, f)
        if len(core) == 2 and _is_last(up) and _is_first(other):
            return 0.85, "caps_surname"
        return 0.0, ""
    if _is_first(f) and _is_last(lt):
        return 0.85, "first_last"
    if _is_first(f, COMMON) and 0 <= lt.last <= DICT:
        return 0.7, "common_first_last"
    if _is_first(f, PLAIN) and (_unknown(lt) or lt.last == COMMON or _is_first(lt)):
        return 0.7, "first_capitalised"
    if _is_last(f, PLAIN) and _is_first(lt, PLAIN) and len(core) == 2:
        return 0.7, "last_first"
    has_initial = any(t.kind == "initial" for t in w[1:-1])
    if has_initial and not f.eng and not lt.eng and COMMON not in (f.first, f.last, lt.last):
        return 0.7, "initial_in_middle"
    if len(core) == 2 and _unknown(f) and (lt.last == PLAIN or lt.shape) and len(lt.text) >= 4:
        return 0.6, "unknown_surname"
    return 0.0, ""


@dataclass
class Hit:
    start: int
    end: int
    score: float
    rule: str


_HONORIFIC_BEFORE = _backwards(rf"(?i:\b(?:{_HONORIFICS})\.?[ \t]+)$")


def _surname_pair(t: Tok) -> bool:
    """'Ramsey-Johnson' alone: two surnames joined, no first name - usually a firm's name."""
    parts = t.text.split("-")
    first, last = gazetteers()
    return len(parts) == 2 and all(
        _level(last, p) >= 0 and not 0 <= _level(first, p) <= DICT for p in parts
    )


def _cue_score(text: str, w: list[Tok]) -> tuple[float, str]:
    start, end = w[0].start, w[-1].end
    core = [t for t in w if t.kind in _CORE_KINDS]
    before = text[max(0, start - 60) : start]
    # 'Ms. Austin', 'Dr Jordan': after an honorific, place names may be names
    if (_HONORIFIC_BEFORE.search(before)
            and all(_listed(t) or t.text.casefold() in _PLACES for t in core)
            and not any(t.org or t.kind == "upper" for t in core)):
        return 0.75, "honorific_listed"
    if any(t.stop or t.org or t.eng or t.kind == "upper" for t in core):
        return 0.0, ""
    strong = (
        _STRONG_BEFORE.search(before) is not None
        or _MENTION_BEFORE.search(before) is not None
        or _STRONG_AFTER.match(text, end) is not None
    )
    # 'Follow up with Jan Jílek': a first name that is also a common word, then a surname no
    # list holds, right after a strong cue
    if (strong and len(core) == 2 and core[0].first == COMMON and _unknown(core[1])
            and core[0].kind == core[1].kind == "cap"):
        return 0.6, "cue_first_unknown"
    if any(t.first == COMMON or t.last == COMMON for t in core) and not all(
        _listed(t) for t in core
    ):
        return 0.0, ""
    listed = [_listed(t) for t in core]
    if len(core) == 1 and _surname_pair(core[0]) and not _HONORIFIC_BEFORE.search(before):
        return 0.0, ""
    if strong:
        if all(listed):
            return 0.75, "cue_listed"
        if all(listed[i] or _unknown(t) for i, t in enumerate(core)):
            return 0.6, "cue"
        return 0.0, ""
    if (before.endswith(("the ", "The ")) and _WORK_AFTER.match(text, end)
            and all(listed[i] or _unknown(t) for i, t in enumerate(core))):
        return 0.6, "work_of"
    if all(listed) and before.endswith(", ") and _VOCATIVE.match(text, end):
        return 0.75, "vocative"  # 'Remember me, Mary?'
    if all(listed) and _VERB_BEFORE.search(before):
        return 0.6, "verb_cue_listed"
    if (all(listed) and any(_listed(t, PLAIN) for t in core)
            and (_WEAK_BEFORE.search(before) or _WEAK_AFTER.match(text, end))):
        return 0.6, "weak_cue_listed"
    return 0.0, ""


def _org_follows(text: str, chain: list[Tok], j: int) -> bool:
    """A company word or acronym right after the window: 'Russell Investments', 'Fuse TV'."""
    if j < len(chain) and (chain[j].org or (chain[j].kind == "upper" and len(chain[j].text) <= 4
                                             and chain[j].last == ABSENT)):
        return True
    m = _NEXT_WORD.match(text, chain[j - 1].end)
    return bool(m and m.group(1).casefold() in _ORG_WORDS and m.group(1)[0].isupper())


_NEXT_WORD = regex.compile(r"[ \t]*,?[ \t]+(\p{L}+)")


def _best_in_chain(text: str, chain: list[Tok]) -> list[Hit]:
    """Every scored window of the chain; overlaps resolved best-first, where a longer window
    gets a small bonus per word ('Thandiwe Mokoena' 0.7 beats 'Thandiwe' 0.75 after a cue)."""
    cands: list[tuple[float, int, int, float, str]] = []
    n = len(chain)
    for i in range(n):
        if chain[i].kind not in ("cap", "upper", "lower", "initial"):
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            w = chain[i:j]
            if w[-1].kind not in _CORE_KINDS:
                continue
            ncore = sum(t.kind in _CORE_KINDS for t in w)
            if ncore > 4 or _org_follows(text, chain, j):
                continue
            score, rule = _score_window(w)
            if ncore <= 3 and score < 0.75:
                cs, crule = _cue_score(text, w)
                if cs > score:
                    score, rule = cs, crule
            if ncore == 1 and not score:
                t = next(t for t in w if t.kind in _CORE_KINDS)
                if (t.kind == "cap" and len(t.text) >= 4 and not t.stop
                        and t.first in (ABSENT, PLAIN) and t.last in (ABSENT, PLAIN)
                        and PLAIN in (t.first, t.last) and not _surname_pair(t)):
                    score, rule = 0.55, "single_listed"
            if score:
                cands.append((score + 0.05 * (ncore - 1), i, j, score, rule))
    cands.sort(key=lambda c: (-c[0], -(c[2] - c[1]), c[1]))
    taken = [False] * n
    hits: list[Hit] = []
    for _, i, j, score, rule in cands:
        if not any(taken[i:j]):
            taken[i:j] = [True] * (j - i)
            hits.append(Hit(chain[i].start, chain[j - 1].end, score, rule))
    return hits


def _last_comma_first(text: str, chains: list[list[Tok]]) -> list[Hit]:
    """'Kowalska, Anna' / 'KOWALSKA, Anna M.': a listed surname, comma, a listed first name."""
    hits = []
    for a, b in zip(chains, chains[1:], strict=False):
        if len(a) != 1 or a[0].kind not in ("cap", "upper") or text[a[0].end : b[0].start] != ", ":
            continue
        core_b = [t for t in b if t.kind == "cap"]
        if not core_b or b[0] is not core_b[0] or len(core_b) > 2 or len(b) > 3:
            continue
        if _is_last(a[0], PLAIN) and _is_first(core_b[0]) and core_b[0].last != PLAIN:
            hits.append(Hit(a[0].start, b[-1].end, 0.85, "last_comma_first"))
    return hits


_CAPITAL_NEXT = regex.compile(r"[ \t]+\p{Lu}")
_LIST_SEP = regex.compile(r"(?:[ \t]*,[ \t]*(?:and[ \t]+|&[ \t]+)?|[ \t]+(?:and|&)[ \t]+)")


def _name_lists(text: str, chains: list[list[Tok]]) -> tuple[list[Hit], list[tuple[int, int]]]:
    """'Gaetane, Hannah, Anthony and Derek': single words in a list, most of them listed.

    Also returns the spans of lists that name a firm ('Hawkins, Richardson and Santana',
    'The Davis, Reynolds and Williamson Orchestra'): no name is found inside them.
    """
    hits: list[Hit] = []
    firms: list[tuple[int, int]] = []
    k = 0
    while k < len(chains):
        run = [chains[k]]
        while (k + len(run) < len(chains) and len(run[-1]) == 1
               and _LIST_SEP.fullmatch(text[run[-1][-1].end : chains[k + len(run)][0].start])):
            run.append(chains[k + len(run)])
        k += len(run)
        items = [c[0] for c in run if len(c) == 1 and c[0].kind == "cap"]
        if len(items) < 2 or len(items) != len(run):
            continue
        last_end = items[-1].end
        span = (items[0].start, last_end)
        if _CAPITAL_NEXT.match(text[last_end : last_end + 3]) or _org_follows(
            text, [items[-1]], 1
        ):
            firms.append(span)  # 'The Davis, Reynolds and Williamson Orchestra'
            continue
        surnames = sum(_is_last(t) and not _is_first(t, PLAIN) for t in items)
        first_only = any(_is_first(t) and t.last == ABSENT for t in items)
        people = _PEOPLE_BEFORE.search(text, max(0, span[0] - 40), span[0]) is not None
        if len(items) == 3 and surnames >= 2 and not first_only and not people and ", " in text[
            span[0] : span[1]
        ]:
            firms.append(span)  # 'Hawkins, Richardson and Santana': three surnames name a firm
            continue
        listed = sum(_listed(t) and t.first != COMMON and t.last != COMMON for t in items)
        if listed * 2 < len(items) or any(t.stop or t.eng or t.org for t in items):
            continue
        if any(_surname_pair(t) for t in items):
            continue
        for t in items:
            if _listed(t) or _unknown(t):
                hits.append(Hit(t.start, t.end, 0.6, "name_list"))
    return hits, firms


def _speakers(text: str) -> list[Hit]:
    """Chat / dialogue speaker labels at line start: 'Anna: are you there?'."""
    found = []
    for m in _SPEAKER.finditer(text):
        words = [_token(text, 0, 0, w, "cap") for w in m.group(1).split()]
        if any(t.stop or t.eng or t.org for t in words):
            continue
        listed = all(_listed(t) and COMMON not in (t.first, t.last) for t in words)
        found.append((m.start(1), m.end(1), listed, all(_listed(t) or _unknown(t) for t in words)))
    if not any(f[2] for f in found):
        return []
    return [Hit(s, e, 0.6, "speaker") for s, e, listed, plausible in found if plausible]


_NAME_LINE = regex.compile(
    r"(?m)^[ \t>*•-]*(\p{Lu}[\p{Ll}\p{M}'’-]+(?:[ \t]+(?:\p{Lu}\.?|\p{Lu}[\p{Ll}\p{M}'’-]+|"
    r"van|von|de|der|den|da|di|del|dos|du|la|le|ten|ter|bin|al)){1,3})[ \t]*$"
)


def _name_lines(text: str) -> list[Hit]:
    """A line that is only a name ('Gyala Antall' heading a signature or address block).

    With a listed word anywhere; with unlisted (non-English) words only on the first line of
    a block or on a line that repeats (signature blocks name the person first, often twice).
    """
    hits = []
    lines = [m.group(1) for m in _NAME_LINE.finditer(text)]
    first_line = text.lstrip(" \t\n>*•-").split("\n", 1)[0].strip()
    for m in _NAME_LINE.finditer(text):
        toks = [t for t in _tokens(m.group(1)) if t.kind in _CORE_KINDS]
        if len(toks) < 2 or any(t.stop or t.eng or t.org for t in toks):
            continue
        if any(COMMON in (t.first, t.last) for t in toks):
            continue
        if not all(_listed(t) or _unknown(t) for t in toks):
            continue
        if any(_listed(t) for t in toks) or m.group(1) == first_line or lines.count(m.group(1)) > 1:
            hits.append(Hit(m.start(1), m.end(1), 0.6, "name_line"))
    return hits


_LOWER_CUE = regex.compile(
    r"(?i:\b(?:my|his|her|the|full|customer'?s?|user'?s?)?[ \t]*name(?:[ \t]+is|[ \t]*:)[ \t]*"
    r"|\b(?:i[ \t]+am|i'm|this[ \t]+is|calls?[ \t]+me|called|named)[ \t]+"
    r"|\b(?:mr|mrs|ms|dr|prof)\.[ \t]*)"
    r"\K\p{Ll}[\p{Ll}\p{M}'’-]+(?:[ \t]+\p{Ll}[\p{Ll}\p{M}'’-]+)?"
)


_LOWER_INITIAL_GAP = regex.compile(r" \p{Ll}\.? ")
_LOWER_SPEAKER = regex.compile(r"(?m)^[ \t>*•-]*(\p{Ll}[\p{Ll}\p{M}'’-]+)[ \t]*:[ \t]*(?=\S)")


def _lower_case_names(text: str) -> list[Hit]:
    """All-lower-case text: 'eva kleist' (listed first + last), 'my name is naomi ...'."""
    first, last = gazetteers()
    hits = []
    for m in _LOWER_CUE.finditer(text):
        words = m.group().split()
        w0 = words[0]
        known = 0 <= _level(first, w0) <= DICT or _level(last, w0) == PLAIN
        unknown = (_level(first, w0) == ABSENT and _level(last, w0) == ABSENT
                   and w0 not in english_words() and len(w0) >= 3)
        if w0 in STOP or not (known or unknown):
            continue
        end = m.start() + len(w0)
        if len(words) > 1 and words[1] not in STOP and 0 <= _level(last, words[1]) <= DICT:
            end = m.end()
        hits.append(Hit(m.start(), end, 0.6, "lower_cue"))
    toks = [t for t in _tokens(text, lower_ok=True) if t.kind != "other"]
    # 'they had 3: silvana, adam and caleb' - a list of mostly listed first names
    run: list[Tok] = []
    for t in [*[t for t in toks if t.text not in ("and", "or")], None]:
        if t is not None and t.kind == "lower" and (
            not run or _LIST_SEP.fullmatch(text[run[-1].end : t.start])
        ):
            run.append(t)
            continue
        # three words alone may be a firm ('owens, duran and oneal'): four, or a colon before
        if (len(run) >= 3 and sum(r.first == PLAIN for r in run) * 3 >= 2 * len(run)
                and (len(run) >= 4 or text[: run[0].start].rstrip().endswith(":"))):
            hits.extend(Hit(r.start, r.end, 0.6, "lower_name_list") for r in run
                        if not r.stop and (0 <= r.first <= DICT or 0 <= r.last <= DICT))
        run = [t] if t is not None and t.kind == "lower" else []
    for a in toks:
        # 'selma is from ...', 'bártová began writing', 'gave cormac his address'
        if (a.kind == "lower" and not a.stop
                and (a.first == PLAIN or a.last == PLAIN or (a.shape and a.first == ABSENT))
                and _STRONG_AFTER.match(text, a.end)):
            hits.append(Hit(a.start, a.end, 0.6, "lower_cue_after"))
    for m in _LOWER_SPEAKER.finditer(text):
        # chat speaker labels: 'mika: "who are you?"'
        fl, ll, stop, _, eng, _ = _features(m.group(1))
        if fl == PLAIN and ll in (ABSENT, PLAIN) and not stop and not eng:
            hits.append(Hit(m.start(1), m.end(1), 0.6, "lower_speaker"))
    for k, a in enumerate(toks[:-1]):
        b = toks[k + 1]
        if a.kind != "lower" or a.stop or a.first == ABSENT or a.first == COMMON:
            continue
        if b.kind == "lower" and text[a.end : b.start] == " ":
            if (not b.stop and a.first == PLAIN
                    and (b.last == PLAIN or (b.shape and b.first == ABSENT))):
                hits.append(Hit(a.start, b.end, 0.7, "lower_first_last"))
        elif (b.kind == "lower" and not b.stop and 0 <= b.last <= DICT
              and _LOWER_INITIAL_GAP.fullmatch(text, a.end, b.start)):
            # 'benjamin a seiler', 'eric g. samoylova'
            hits.append(Hit(a.start, b.end, 0.7, "lower_first_initial_last"))
    return hits


def _resolve(hits: list[Hit]) -> list[Hit]:
    hits.sort(key=lambda h: (-h.score, -(h.end - h.start), h.start))
    kept: list[Hit] = []
    for h in hits:
        if all(h.end <= k.start or h.start >= k.end for k in kept):
            kept.append(h)
    kept.sort(key=lambda h: h.start)
    return kept


def find_names(text: str) -> list[Hit]:
    """Name spans in ``text``, without overlaps."""
    toks = _tokens(text)
    chains = _chains(text, toks)
    hits: list[Hit] = []
    for chain in chains:
        hits.extend(_best_in_chain(text, chain))
    hits.extend(_last_comma_first(text, chains))
    list_hits, firms = _name_lists(text, chains)
    hits.extend(list_hits)
    if ":" in text:
        hits.extend(_speakers(text))
    if "\n" in text:
        hits.extend(_name_lines(text))
    if not any(c.isupper() for c in text):
        hits.extend(_lower_case_names(text))
    hits = _resolve(hits)
    if firms:
        hits = [h for h in hits if not any(h.start < e and s < h.end for s, e in firms)]
    if hits and any(c.isdigit() for c in text):
        # words inside a street address are street, city and country names
        addresses = [(a.start, a.end) for a in find_addresses(text)]
        hits = [h for h in hits if not any(h.start < e and s < h.end for s, e in addresses)]
    return hits


class PersonNameDetector(Detector):
    ENTITY = entities.PERSON
    # The pattern only satisfies PatternRecognizer; detection is done by analyze() below.
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("capitalised_words", r"\p{Lu}[\p{Ll}\p{M}]+(?: \p{Lu}[\p{Ll}\p{M}]+)+", 0.01),
    ]
    CONTEXT: ClassVar[list[str]] = ["name", "mr", "mrs", "ms", "dr", "dear", "contact"]
    PREFILTER = r"[^\W\d_][^\W\d_]"

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_language)
        gazetteers()  # load the lists now, not on the first text
        english_words()

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        return [self.result(h.start, h.end, h.score, h.rule, "person name")
                for h in find_names(text)]

    def match_value(self, value: str) -> float:
        """A structured value that is a name: a display name, or one listed first/last name.

        One token counts when it is in either list and no common English word (``Will``):
        0.7 for a first name, 0.6 for a surname, 0.5 for a dictionary word (``Smith``) or an
        unlisted surname-shaped word (``Kowalska``); an all-lower-case first name 0.55. Longer values must be one name as a whole
        (``Anna Kowalska``, ``Kowalska, Anna``, ``KOWALSKA Anna``, ``J. Smith``).
        """
        v = value.strip()
        if not v or len(v) > 80:
            return 0.0
        if _WORD.fullmatch(v):
            return _single_value_score(v)
        probe = v.title() if v.isupper() or v.islower() else v
        best = 0.0
        for h in find_names(probe):
            if h.start == 0 and h.end == len(probe):
                best = max(best, h.score if probe == v else min(h.score, 0.7))
        if not best:
            # two or more listed words make a display name ('Maria Green', 'Li Wei')
            words = [w.rstrip(".") for w in probe.replace(",", " ").split()]
            if 2 <= len(words) <= 4 and all(_WORD.fullmatch(w) for w in words):
                first, last = gazetteers()
                toks = [w for w in words if len(w) > 1]
                if toks and all(
                    w.casefold() not in STOP
                    and (0 <= _level(first, w) <= DICT or 0 <= _level(last, w) <= DICT)
                    for w in toks
                ):
                    best = 0.6
        return best


def _single_value_score(v: str) -> float:
    low = v.casefold()
    if low in STOP or len(v) < 2:
        return 0.0
    first, last = gazetteers()
    fl, ll = _level(first, v), _level(last, v)
    if low in _AS_COMMON:
        return 0.0
    if v.islower():
        return 0.55 if fl == PLAIN else 0.5 if fl == DICT else 0.0
    if not (_CAP.fullmatch(v) or _UPPER.fullmatch(v)):
        return 0.0
    if fl == PLAIN:
        return 0.7
    if ll == PLAIN:
        return 0.6
    if fl == DICT or ll == DICT:
        return 0.5
    _, _, _, shape, eng, _ = _features(v)
    return 0.5 if shape and not eng and fl == ABSENT and ll == ABSENT else 0.0
