"""SDP offers and answers from outside, checked and normalised before aiortc parses them.

aiortc's SDP parser trusts its input: a malformed line raises whatever Python raises
(ValueError, KeyError, IndexError, an `assert`...), and a structurally odd offer (a
BUNDLE group naming an unknown mid) is applied half-way and leaves a connection that
cannot even be closed. Every offer (and every answer to a server offer) is therefore
read here first, once, by one strict line reader that refuses with `InvalidOffer`
(`InvalidAnswer`) and a short reason, and rewrites the few standard things aiortc
cannot read:

* `a=extmap:<id>[/<direction>] <uri> <attributes>` becomes `a=extmap:<id> <uri>`
  (aiortc reads neither extension attributes such as `vad=on` nor uses the direction);
* candidates ICE cannot use are dropped: host candidates named by mDNS (`<uuid>.local`,
  what browsers send from pages without camera permission: a server cannot resolve them,
  and resolving would send multicast queries on the server's network), and any other
  that is not an RTP-component (rtcp-mux) UDP host/srflx/relay candidate with an IP
  address and a port (aioice ignores most of them, but a component-2 candidate trips an
  assertion on every check that arrives);
* the BUNDLE transport is the one of the tagged m-line (the group's first mid, RFC 8843):
  its transport lines (candidates, `a=end-of-candidates`, ICE credentials and options,
  fingerprints, `a=setup`) replace those of every other m-line. The SFU's connections are
  max-bundle: all m-lines share one ICE transport from the start, and aiortc applies each
  m-line's transport lines to it in turn, keeping the last m-line's candidates. Firefox's
  offer (candidates in the first m-line, `a=end-of-candidates` in each) thus reached
  aioice as "no candidate, end of candidates";
* the `a=group:BUNDLE` line, once checked, is not given to aiortc: its only use of it is
  moving m-lines onto the tagged m-line's transport, and on a max-bundle connection whose
  tagged m-line did not create the shared transport (`BUNDLE 1 0`, or a data channel
  m-line first) it stops that transport, which then gathers nothing. aiortc's answer
  bundles every m-line either way;
* `a=end-of-candidates` is kept only when the transport has a candidate left. Otherwise
  aioice prunes its only component, gathers nothing and the answer has no candidate at
  all (`NoCandidates`); without the line ICE waits for the client's checks and learns its
  address from them (peer-reflexive).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .errors import InvalidAnswer, InvalidOffer

__all__ = ["MAX_SDP_CHARS", "CheckedOffer", "check_answer", "check_offer"]

#: An offer longer than this is refused (browsers' offers are a few KB; 16 m-lines fit).
MAX_SDP_CHARS = 100_000
_MAX_MEDIA = 64
_LINE = re.compile(r"^[a-z]=")
# Control characters (except tab) and the separators str.splitlines() also splits on.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_MEDIA = re.compile(r"^m=([a-z]+) ([0-9]{1,5})(?:/[0-9]+)? ([A-Z/]+)( [^ ]+)+$")
_EXTMAP = re.compile(r"^a=extmap:([0-9]{1,3})(?:/[a-z]+)? +([^ ]+)(?: .*)?$")
_CANDIDATE = re.compile(r"^a=candidate:[^ ]+ ([0-9]+) ([^ ]+) [0-9]+ ([^ ]+) ([0-9]+) typ ([a-z]+)")
_END_OF_CANDIDATES = "a=end-of-candidates"
#: What a bundled m-line takes from the tagged one (the lines aiortc reads for ICE and DTLS).
_TRANSPORT = ("a=candidate:", "a=ice-ufrag:", "a=ice-pwd:", "a=ice-options:", "a=fingerprint:", "a=setup:")
#: Remote candidate types aioice pairs with (it ignores prflx and anything else).
_ICE_TYPES = ("host", "srflx", "relay")
_KINDS = ("audio", "video", "application")
_SETUPS = ("actpass", "active", "passive")
_MID_CHARS = re.compile(r"^[A-Za-z0-9_.~!#$%&'*+\-^`{|}]{1,32}$")


@dataclass(frozen=True, slots=True)
class CheckedOffer:
    """An offer that passed `check_offer`: the text to give aiortc and what it asks for."""

    sdp: str
    #: kinds of the audio/video m-lines, in order
    kinds: tuple[str, ...]
    #: the offer leaves the DTLS role to the answerer (`a=setup:actpass` on the BUNDLE transport)
    actpass: bool
    #: mDNS candidates were dropped and the transport has no candidate left
    candidates_dropped: bool


@dataclass(slots=True)
class _Section:
    lines: list[str]
    kind: str = ""
    mids: list[str] | None = None
    setup: str | None = None
    #: candidates kept (ones ICE can use)
    candidates: int = 0
    #: candidates dropped (mDNS names and others ICE cannot use)
    dropped: int = 0
    fingerprint: bool = False
    ice: set[str] = field(default_factory=set)


class _Refused(Exception):
    """Why a description is refused (raised as `InvalidOffer` or `InvalidAnswer`)."""


def check_offer(sdp: object) -> CheckedOffer:
    """Check and normalise a client's SDP offer; raise `InvalidOffer` saying why not."""
    try:
        session, sections = _read(sdp, "offer")
        kinds = tuple(s.kind for s in sections if s.kind in ("audio", "video"))
        if not kinds:
            raise _Refused("SDP offer has no audio or video m-line")
        transport = _bundle(session, sections)
        tagged = sections[transport]
        setup = tagged.setup or session.setup
        if setup is None:
            raise _Refused("SDP offer has no a=setup (DTLS role) for its BUNDLE transport")
        _check_transport(session, tagged, "offer")
    except _Refused as exc:
        raise InvalidOffer(str(exc)) from None
    return CheckedOffer(
        sdp=_render(session, sections, transport),
        kinds=kinds,
        actpass=setup == "actpass",
        candidates_dropped=bool(tagged.dropped and not tagged.candidates),
    )


def check_answer(sdp: object) -> str:
    """Check and normalise a client's SDP answer to a server offer (same line rules and
    rewrites as offers; aiortc checks it matches the offer); raise `InvalidAnswer`."""
    try:
        session, sections = _read(sdp, "answer")
        if not sections:
            return _render(session, sections, None)
        transport = _answer_transport(session, sections)
        _check_transport(session, sections[transport], "answer")
    except _Refused as exc:
        raise InvalidAnswer(str(exc)) from None
    return _render(session, sections, transport)


def _read(sdp: object, what: str) -> tuple[_Section, list[_Section]]:
    """Split a description into its session part and m-sections, checking every line."""
    text = _text(sdp, what)
    lines = [line.rstrip(" \t") for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines or lines[0] != "v=0":
        raise _Refused(f"SDP {what} does not start with v=0")
    session = _Section([])
    sections: list[_Section] = []
    current = session
    for number, line in enumerate(lines, 1):
        if not _LINE.match(line):
            raise _Refused(f"SDP line {number} is not <type>=<value>")
        if line.startswith("m="):
            current = _media_section(line, number)
            sections.append(current)
            if len(sections) > _MAX_MEDIA:
                raise _Refused(f"SDP {what} has more than {_MAX_MEDIA} m-lines")
            continue
        kept = _attribute(line, number, current, current is session)
        if kept is not None:
            current.lines.append(kept)
    return session, sections


def _render(session: _Section, sections: list[_Section], transport: int | None) -> str:
    """The description as aiortc should read it: every m-line carries the transport lines of
    m-line `transport` (the BUNDLE-tagged one), `a=end-of-candidates` only if that transport
    has a candidate (else ICE waits for the peer's checks: peer-reflexive), and no BUNDLE
    group (see the module's docstring)."""
    out = [line for line in session.lines if line.split()[0] != "a=group:BUNDLE"]
    if transport is None:
        for section in sections:
            out += _ended_if_candidates(section)
        return "\r\n".join(out) + "\r\n"
    shared = [line for line in _ended_if_candidates(sections[transport]) if _is_transport(line)]
    for index, section in enumerate(sections):
        if index == transport:
            out += _ended_if_candidates(section)
        else:
            out += [line for line in section.lines if not _is_transport(line)] + shared
    return "\r\n".join(out) + "\r\n"


def _ended_if_candidates(section: _Section) -> list[str]:
    """The section's lines, without `a=end-of-candidates` if it has no candidate left."""
    if section.candidates:
        return section.lines
    return [line for line in section.lines if line != _END_OF_CANDIDATES]


def _is_transport(line: str) -> bool:
    return line == _END_OF_CANDIDATES or line.startswith(_TRANSPORT)


def _answer_transport(session: _Section, sections: list[_Section]) -> int:
    """The m-line whose transport an answer uses: its BUNDLE group's first mid, else the first."""
    for line in session.lines:
        words = line.split()
        if words[0] == "a=group:BUNDLE" and len(words) > 1:
            for index, section in enumerate(sections):
                if section.mids and words[1] in section.mids:
                    return index
            break
    return 0


def _text(sdp: object, what: str) -> str:
    if isinstance(sdp, bytes | bytearray | memoryview):
        try:
            sdp = bytes(sdp).decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(f"SDP {what} is not UTF-8 text") from None
    if not isinstance(sdp, str):
        raise _Refused(f"SDP {what} is not text")
    if not sdp.strip():
        raise _Refused(f"SDP {what} is empty")
    if len(sdp) > MAX_SDP_CHARS:
        raise _Refused(f"SDP {what} is longer than {MAX_SDP_CHARS} characters")
    try:
        sdp.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(f"SDP {what} is not valid Unicode text (lone surrogates)") from None
    if _FORBIDDEN.search(sdp):
        raise _Refused(f"SDP {what} contains control characters")
    return sdp


def _media_section(line: str, number: int) -> _Section:
    match = _MEDIA.match(line)
    if match is None:
        raise _Refused(f"SDP line {number}: malformed m-line")
    kind = match.group(1)
    if kind not in _KINDS:
        raise _Refused(f"SDP line {number}: m-line kind {kind!r} is not supported")
    formats = line.split(" ")[3:]
    if kind != "application":
        if not all(f.isdigit() and len(f) <= 3 and int(f) < 128 and not 72 <= int(f) <= 76 for f in formats):
            raise _Refused(f"SDP line {number}: RTP payload types must be 0-127, not 72-76")
        if len(set(formats)) != len(formats):
            raise _Refused(f"SDP line {number}: a payload type is listed twice")
    return _Section([line], kind=kind, mids=[])


def _check_transport(session: _Section, transport: _Section, what: str) -> None:
    """Media is DTLS-SRTP only: the transport needs a certificate fingerprint and ICE credentials."""
    if not (transport.fingerprint or session.fingerprint):
        raise _Refused(f"SDP {what} has no a=fingerprint: media is DTLS-SRTP only")
    missing = {"ice-ufrag", "ice-pwd"} - (transport.ice | session.ice)
    if missing:
        raise _Refused(f"SDP {what} has no a={' or a='.join(sorted(missing))}")


def _attribute(line: str, number: int, section: _Section, at_session: bool) -> str | None:
    """Check one line of a section; return it as aiortc should see it (None: drop it)."""
    if line.startswith("a=fingerprint:"):
        section.fingerprint = True
    elif line.startswith(("a=ice-ufrag:", "a=ice-pwd:")):
        section.ice.add(line[2 : line.index(":")])
    if line.startswith("a=extmap:"):
        match = _EXTMAP.match(line)
        if match is None:
            raise _Refused(f"SDP line {number}: malformed a=extmap")
        return f"a=extmap:{int(match.group(1))} {match.group(2)}"
    if line.startswith("a=setup:"):
        value = line[len("a=setup:") :]
        if value not in _SETUPS:
            raise _Refused(f"SDP line {number}: a=setup must be actpass, active or passive")
        section.setup = value
    elif line.startswith("a=mid:") and section.mids is not None:
        mid = line[len("a=mid:") :]
        if not _MID_CHARS.match(mid):
            raise _Refused(f"SDP line {number}: malformed a=mid")
        section.mids.append(mid)
    elif line.startswith("a=candidate:") and not at_session:
        match = _CANDIDATE.match(line)
        if match is None:
            raise _Refused(f"SDP line {number}: malformed a=candidate")
        if not _usable(*match.groups()):
            section.dropped += 1
            return None
        section.candidates += 1
    return line


def _usable(component: str, transport: str, address: str, port: str, kind: str) -> bool:
    """A candidate the SFU's ICE agent can check: RTP component (rtcp-mux) over UDP, a type
    aioice pairs with, an IP address (not an mDNS or other name) and a port."""
    if int(component) != 1 or transport.lower() != "udp" or kind not in _ICE_TYPES or not 0 < int(port) < 65536:
        return False
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _bundle(session: _Section, sections: list[_Section]) -> int:
    """Check the offer bundles every m-line in one group; return the tagged m-line's index."""
    groups = [line.split()[1:] for line in session.lines if line.split()[0] == "a=group:BUNDLE"]
    if not groups or not groups[0]:
        raise _Refused(
            "the SFU requires BUNDLE (a=group:BUNDLE listing every m-line's mid): offers without it are not supported"
        )
    if len(groups) > 1:
        raise _Refused("the SFU requires every m-line in one BUNDLE group; the offer has several")
    mids: dict[str, int] = {}
    for index, section in enumerate(sections):
        if not section.mids or len(section.mids) > 1:
            raise _Refused(f"m-line {index + 1} must have exactly one a=mid")
        if section.mids[0] in mids:
            raise _Refused(f"mid {section.mids[0]!r} names two m-lines")
        mids[section.mids[0]] = index
    (group,) = groups
    for mid in group:
        if mid not in mids:
            raise _Refused(f"the BUNDLE group names unknown mid {mid[:32]!r}")
    if len(set(group)) != len(group):
        raise _Refused("the BUNDLE group names a mid twice")
    missing = [mid for mid in mids if mid not in group]
    if missing:
        raise _Refused(f"the SFU requires BUNDLE: m-line mid {missing[0]!r} is not in the BUNDLE group")
    return mids[group[0]]
