"""Guest invites over real HTTP on a real SQLite file: the REST routes, the invite page and its redemption.

Redemption is raced on purpose: many guests posting one code at once, exactly one gets in.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konsylium.app import NODE
from rooms.clock import ManualClock
from rooms.guest_invites import CODE_PATTERN, MAX_LIVE_INVITES, Purpose
from tests.conftest import auth, book, claims_of
from tests.strategies import display_names, invite_bodies, json_text

Client = TestClient[Any, Any]
PROBLEM = "application/problem+json"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def make_invite(client: Client, room_id: str, purpose: str = "interpreter", minutes: int = 30) -> Any:
    resp = await client.post(f"/api/v1/rooms/{room_id}/invites", headers=auth(),
                             json={"purpose": purpose, "expires_in_minutes": minutes})
    assert resp.status == 201, await resp.text()
    return await resp.json()


def path_of(invite: dict[str, Any]) -> str:
    url: str = invite["url"]
    assert url.startswith("https://video.example.org/invite/")
    return url.removeprefix("https://video.example.org")


async def audit_types(client: Client, room_id: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/v1/rooms/{room_id}/audit", headers=auth())
    body = await resp.json()
    assert body["verification"]["ok"] is True
    return [e["event"] for e in body["entries"]]


async def events_of(client: Client, room_id: str, prefix: str) -> list[dict[str, Any]]:
    return [e for e in await audit_types(client, room_id) if e["type"].startswith(prefix)]


async def redeem(client: Client, path: str, name: str | None = None) -> Any:
    data = {} if name is None else {"display_name": name}
    return await client.post(path, data=data, allow_redirects=False)


# -- REST ---------------------------------------------------------------------------------------------


async def test_an_invite_is_made_listed_and_revoked(client: Client) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"], "family_member", 45)
    assert invite["status"] == "active" and invite["purpose"] == "family_member"
    assert invite["created_by"] == "api" and invite["used_at"] is None
    assert re.fullmatch(r"/invite/[A-Za-z0-9_-]{32}", path_of(invite))
    listed = await (await client.get(f"/api/v1/rooms/{room['id']}/invites", headers=auth())).json()
    assert [i["id"] for i in listed["items"]] == [invite["id"]]
    assert "url" not in listed["items"][0]  # the link is shown once, when made
    resp = await client.delete(f"/api/v1/rooms/{room['id']}/invites/{invite['id']}", headers=auth())
    assert resp.status == 204
    resp = await client.delete(f"/api/v1/rooms/{room['id']}/invites/{invite['id']}", headers=auth())
    assert resp.status == 204  # again: nothing happens
    listed = await (await client.get(f"/api/v1/rooms/{room['id']}/invites", headers=auth())).json()
    assert listed["items"][0]["status"] == "revoked"
    made = await events_of(client, room["id"], "invite.")
    assert [(e["type"], e["by"], e["data"]["invite_id"]) for e in made] == [
        ("invite.created", "api", invite["id"]), ("invite.revoked", "api", invite["id"])]
    assert made[0]["data"]["purpose"] == "family_member"
    resp = await client.get(path_of(invite))
    assert resp.status == 410 and "wycofane" in await resp.text()


async def test_bad_invite_requests_name_the_field(client: Client) -> None:
    room = await book(client)
    base = f"/api/v1/rooms/{room['id']}/invites"
    for body, pointers in [
        ({"purpose": "interpreter", "expires_in_minutes": 4}, ["/expires_in_minutes"]),
        ({"purpose": "interpreter", "expires_in_minutes": 301}, ["/expires_in_minutes"]),
        ({"purpose": "interpreter", "expires_in_minutes": 30.0}, ["/expires_in_minutes"]),
        ({"purpose": "interpreter", "expires_in_minutes": True}, ["/expires_in_minutes"]),
        ({"purpose": "cousin", "expires_in_minutes": 30}, ["/purpose"]),
        ({}, ["/purpose", "/expires_in_minutes"]),
        ([], [""]),
    ]:
        resp = await client.post(base, json=body, headers=auth())
        assert resp.status == 422 and resp.content_type == PROBLEM, body
        problem = await resp.json()
        assert [e["pointer"] for e in problem["errors"]] == pointers
    resp = await client.post(base, json={"purpose": "interpreter", "expires_in_minutes": 301}, headers=auth())
    assert "from 5 to 300" in (await resp.json())["errors"][0]["detail"]
    resp = await client.post(base, data="purpose=interpreter", headers=auth())
    assert resp.status == 415
    resp = await client.post(base, json={"purpose": "interpreter", "expires_in_minutes": 30}, headers=auth("clinic"))
    assert resp.status == 404  # another tenant's room is no room
    resp = await client.delete(f"{base}/no-such-invite", headers=auth())
    assert resp.status == 404


async def test_a_room_holds_a_bounded_number_of_live_invites(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    made = [await make_invite(client, room["id"], minutes=5 + i) for i in range(MAX_LIVE_INVITES)]
    resp = await client.post(f"/api/v1/rooms/{room['id']}/invites", headers=auth(),
                             json={"purpose": "clinician", "expires_in_minutes": 60})
    assert resp.status == 409 and (await resp.json())["type"].endswith("too-many-invites")
    await client.delete(f"/api/v1/rooms/{room['id']}/invites/{made[-1]['id']}", headers=auth())
    await make_invite(client, room["id"])  # a revoked one frees its place
    clock.advance(timedelta(minutes=5))  # the first one expires: its place is free too
    await make_invite(client, room["id"])


async def test_a_cancelled_room_takes_no_invites_and_its_invites_are_over(client: Client) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"])
    await client.delete(f"/api/v1/rooms/{room['id']}", headers=auth())
    resp = await client.post(f"/api/v1/rooms/{room['id']}/invites", headers=auth(),
                             json={"purpose": "clinician", "expires_in_minutes": 60})
    assert resp.status == 409
    resp = await client.get(path_of(invite))
    assert resp.status == 410 and "wygasło" in await resp.text()
    assert (await redeem(client, path_of(invite))).status == 410


# -- the page and redemption ------------------------------------------------------------------------------


async def test_opening_the_link_spends_nothing_and_joining_makes_a_waiting_guest(client: Client) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"], "interpreter")
    for _ in range(2):  # a link preview, then the guest
        resp = await client.get(path_of(invite))
        assert resp.status == 200
        text = await resp.text()
        assert "tłumacz" in text and 'name="display_name"' in text and "Dołącz" in text
        assert room["title"] not in text  # nothing of the visit leaks
        assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    resp = await redeem(client, path_of(invite), "Maria Tłumacz")
    assert resp.status == 303
    location = resp.headers["Location"]
    match = re.fullmatch(rf"/join/{room['id']}\?t=([^&]+)&lang=pl", location)
    assert match is not None
    claims = claims_of(match.group(1))
    assert claims["role"] == "member" and claims["party"] == "citizen" and claims["name"] == "Maria Tłumacz"
    stored = await (await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())).json()
    guest = next(p for p in stored["participants"] if p["id"] == claims["sub"])
    assert guest["invite_id"] == invite["id"] and guest["display_name"] == "Maria Tłumacz"
    assert all(p["invite_id"] is None for p in stored["participants"] if p is not guest)
    listed = await (await client.get(f"/api/v1/rooms/{room['id']}/invites", headers=auth())).json()
    assert listed["items"][0]["status"] == "used" and listed["items"][0]["participant_id"] == guest["id"]
    added = [e for e in await events_of(client, room["id"], "participant.added")]
    assert added[-1]["participant_id"] == guest["id"] and added[-1]["by"] == "api"
    assert added[-1]["data"] == {"role": "member", "party": "citizen", "invite_id": invite["id"]}
    assert "Maria" not in str(await audit_types(client, room["id"]))  # names never in events
    joined = await client.get(location)
    assert joined.status == 200  # the join page takes the guest's token (too early: it says when)

    again = await client.get(path_of(invite))
    assert again.status == 410 and "wykorzystane" in await again.text()
    assert (await redeem(client, path_of(invite))).status == 410


async def test_a_guest_without_a_name_gets_the_purpose_and_clinicians_are_staff(client: Client) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"], "clinician")
    resp = await redeem(client, path_of(invite), "  ")
    claims = claims_of(resp.headers["Location"].split("t=")[1].split("&")[0])
    assert claims["name"] == "Lekarz konsultujący" and claims["party"] == "administration"


async def test_a_bad_name_shows_the_form_again_and_spends_nothing(client: Client) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"])
    for name in ["x" * 101, "Anna\x00Nowak", "\u202e"]:
        resp = await redeem(client, path_of(invite), name)
        assert resp.status == 422
        assert 'role="alert"' in await resp.text()
    assert (await redeem(client, path_of(invite), "Anna")).status == 303


async def test_unknown_expired_and_malformed_links_get_plain_pages(client: Client, clock: ManualClock) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"], minutes=5)
    for path in ["/invite/" + "A" * 32, "/invite/short", "/invite/" + "%2e" * 20, "/invite/" + "x" * 65]:
        resp = await client.get(path)
        assert resp.status == 404 and "Nieznane zaproszenie" in await resp.text(), path
        assert (await redeem(client, path)).status == 404
    clock.advance(timedelta(minutes=5))
    resp = await client.get(path_of(invite))
    assert resp.status == 410 and "Zaproszenie wygasło" in await resp.text()
    resp = await client.get(path_of(invite) + "?lang=en")
    assert resp.status == 410 and "Invitation expired" in await resp.text()
    resp = await client.get(path_of(invite), headers={"Accept-Language": "en-GB"})
    assert 'lang="en"' in await resp.text()
    assert (await redeem(client, path_of(invite))).status == 410


async def test_concurrent_redemptions_let_exactly_one_guest_in(client: Client) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"])
    answers = await asyncio.gather(*(redeem(client, path_of(invite), f"Gość {i}") for i in range(12)))
    assert sorted(a.status for a in answers) == [303] + [410] * 11
    stored = await (await client.get(f"/api/v1/rooms/{room['id']}", headers=auth())).json()
    assert [p["invite_id"] for p in stored["participants"]].count(invite["id"]) == 1
    assert len(await events_of(client, room["id"], "participant.added")) == 1


async def test_a_full_room_turns_the_guest_away_without_spending_the_invite(client: Client) -> None:
    people = [{"display_name": f"Osoba {i}", "role": "member", "party": "citizen"} for i in range(7)]
    room = await book(client, participants=[{"display_name": "dr A", "role": "host", "party": "administration"},
                                            *people])  # a consultation holds 8
    invite = await make_invite(client, room["id"])
    resp = await redeem(client, path_of(invite))
    assert resp.status == 409 and "nie ma już miejsca" in await resp.text()
    await client.delete(f"/api/v1/rooms/{room['id']}/participants/{room['participants'][-1]['id']}",
                        headers=auth())
    assert (await redeem(client, path_of(invite))).status == 303


async def test_a_host_in_the_call_cannot_reach_invites_of_another_tenant(client: Client) -> None:
    """The service checks the tenant: a host's message names its own room, the API another tenant's is 404."""
    room = await book(client)
    service = client.server.app[NODE].invites
    issued = await service.create("portal", room["id"], Purpose.INTERPRETER, timedelta(minutes=10), "host-1")
    listed = await (await client.get(f"/api/v1/rooms/{room['id']}/invites", headers=auth("clinic"))).json()
    assert listed["status"] == 404
    assert issued.invite.created_by == "host-1"


# -- properties -----------------------------------------------------------------------------------------


@FAST
@given(body=invite_bodies())
async def test_property_any_invite_body_is_made_or_refused_with_a_problem(client: Client, body: Any) -> None:
    room = await book(client)
    resp = await client.post(f"/api/v1/rooms/{room['id']}/invites", data=json_text(body),
                             headers={**auth(), "Content-Type": "application/json"})
    assert resp.status in (201, 400, 422), await resp.text()  # 400: NaN or Infinity, not JSON
    if resp.status != 201:
        assert resp.content_type == PROBLEM
        listed = await (await client.get(f"/api/v1/rooms/{room['id']}/invites", headers=auth())).json()
        assert listed["items"] == []
    else:
        assert isinstance(body, dict) and body["purpose"] in ("interpreter", "family_member", "clinician")
        assert type(body["expires_in_minutes"]) is int and 5 <= body["expires_in_minutes"] <= 300


@FAST
@given(name=display_names, code=st.one_of(st.none(), st.text(max_size=70)))
async def test_property_any_form_is_a_guest_or_a_plain_page(client: Client, name: str, code: str | None) -> None:
    room = await book(client)
    invite = await make_invite(client, room["id"])
    path = path_of(invite) if code is None else "/invite/" + quote(code, safe="")
    resp = await redeem(client, path, name)
    assert resp.status in (303, 404, 422), resp.status
    assert resp.status == 303 or resp.content_type == "text/html" or (resp.status == 404 and not (
        code and CODE_PATTERN.fullmatch(code)))  # a path no route takes: the app's own 404
    if resp.status == 303:
        assert code is None
