"""Calendar invitations (RFC 5545 / iTIP RFC 5546) of one participant of a room, built with icalendar.

One event per room and participant, because each person's join link is their own. The file is
what an integrator attaches to its e-mail (docs/api.md, "Calendar invites"); Konsylium sends no
mail and knows no addresses, so there is no ORGANIZER and no ATTENDEE.

- ``UID`` is ``<room id>-<participant id>@<host of the public URL>``: the same on every call.
- ``SEQUENCE`` is the room's stored version less one: 0 as booked, one more for every change of
  the room (a reschedule, an edit, the cancellation, the end). The store bumps the version on
  every update and never lowers it, so the sequence survives restarts and never goes down.
- ``METHOD:REQUEST`` for a scheduled or ended room (an ended meeting took place: a calendar
  keeps it), ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` and no link for a cancelled one.
- Times are in Europe/Warsaw with its VTIMEZONE; ``DTSTAMP`` in UTC.
- The summary is Polish, by kind; a consultation's title never goes in (it may name a health
  matter, and summaries show on lock screens, in shared calendars and in mail previews).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Parameters, Timezone, TimezoneDaylight, TimezoneStandard

from rooms.model import Kind, Participant, Room, RoomStatus

__all__ = ["TIMEZONE", "Invitation", "invitation", "invite_uid"]

TIMEZONE = "Europe/Warsaw"
PRODID = "-//Konsylium//Zaproszenie//PL"
SUMMARIES = {
    Kind.MEETING: "Wideospotkanie",
    Kind.CONSULTATION: "Konsultacja wideo",
    Kind.COUNCIL_SESSION: "Sesja rady",
}
#: Kinds whose title may appear in the summary; a consultation's never does (see the module doc).
TITLED_KINDS = frozenset({Kind.MEETING, Kind.COUNCIL_SESSION})
CONFERENCE_LABEL = "Dołącz do wideospotkania"
LINK_NOTE = "Link jest osobisty: nie przekazuj go nikomu."
CANCELLED_NOTE = "Spotkanie zostało odwołane."


@dataclass(frozen=True, slots=True)
class Invitation:
    """A rendered invitation: the iCalendar bytes, its iTIP method and a file name for it."""

    body: bytes
    method: str
    filename: str


def invite_uid(room: Room, person: Participant, public_url: str) -> str:
    """The event's UID: stable for a room and participant on this deployment."""
    host = urlsplit(public_url).hostname or "konsylium.invalid"
    return f"{room.id}-{person.id}@{host}"


def summary(room: Room) -> str:
    """The event's Polish summary: by kind, with the title only where it is safe to show."""
    base = SUMMARIES[room.kind]
    return f"{base}: {room.title}" if room.kind in TITLED_KINDS else base


def invitation(room: Room, person: Participant, join_url: str, public_url: str, now: datetime) -> Invitation:
    """The invitation of *person* to *room*; *join_url* is their link, *now* the DTSTAMP."""
    cancelled = room.status is RoomStatus.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    warsaw = ZoneInfo(TIMEZONE)
    start, end = room.starts_at.astimezone(warsaw), room.ends_at.astimezone(warsaw)

    event = Event()
    event.add("UID", invite_uid(room, person, public_url))
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("SEQUENCE", room.version - 1)
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", summary(room))
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    if room.kind is Kind.CONSULTATION:
        event.add("CLASS", "PRIVATE")
    if cancelled:
        event.add("DESCRIPTION", CANCELLED_NOTE)
    else:
        event.add("DESCRIPTION", f"{CONFERENCE_LABEL}: {join_url}\n\n{LINK_NOTE}")
        event.add("URL", join_url)
        # FEATURE as a list: icalendar writes FEATURE=AUDIO,VIDEO (two values); a string with a
        # comma would be quoted, one value "AUDIO,VIDEO" (so does its Conference helper).
        event.add("CONFERENCE", join_url,
                  parameters=Parameters({"VALUE": "URI", "FEATURE": ["AUDIO", "VIDEO"], "LABEL": CONFERENCE_LABEL}))

    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    calendar.add_component(warsaw_timezone(start.date(), end.date()))
    calendar.add_component(event)
    filename = "odwolanie.ics" if cancelled else "zaproszenie.ics"
    return Invitation(calendar.to_ical(), method, filename)


def warsaw_timezone(first: date, last: date) -> Timezone:
    """Europe/Warsaw's VTIMEZONE from zoneinfo, covering the years from *first* to a year after *last*.

    icalendar writes the onset of a change forward as the wall-clock time after it (03:00);
    RFC 5545 (3.6.5) wants it in the offset before it, ``TZOFFSETFROM`` (02:00), so those onsets
    are moved back by the gap. Its onsets of a change back (03:00 summer time) are already right.
    """
    first_date = date(first.year, 1, 1)
    last_date = date(min(last.year + 2, 9999), 1, 1)
    zone = Timezone.from_tzid(TIMEZONE, first_date=first_date, last_date=last_date)
    observances: list[TimezoneStandard | TimezoneDaylight] = [*zone.standard, *zone.daylight]
    for observance in observances:
        before, after, onset = observance.TZOFFSETFROM, observance.TZOFFSETTO, observance.DTSTART
        if before is None or after is None or onset is None or after <= before:
            continue
        gap = after - before
        rdates = [when for when, _ in observance.rdates if isinstance(when, datetime)]
        observance.DTSTART = onset - gap
        observance.pop("RDATE", None)
        if rdates:
            observance.add("RDATE", [when - gap for when in rdates])
    return zone
