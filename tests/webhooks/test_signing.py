"""Signatures as Standard Webhooks defines them, checked with the reference package: any payload verifies;
during a secret rotation both secrets sign, and either verifies; after the overlap only the new one."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from rooms.clock import ManualClock
from rooms.webhooks.model import Endpoint
from rooms.webhooks.signing import ROTATION_OVERLAP, new_secret, secret_key, webhook_headers
from tests.conftest import auth
from tests.strategies import json_values
from tests.webhooks.conftest import book_now, register, wake
from tests.webhooks.receiver import Receiver

Client = TestClient[Any, Any]


def _sendable(value: Any) -> bool:
    """JSON the node could send: finite numbers, text UTF-8 can carry."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, UnicodeEncodeError):
        return False
    return True


sendable_json = json_values.filter(_sendable)


def test_a_secret_is_whsec_and_base64_of_32_random_bytes() -> None:
    one, two = new_secret(), new_secret()
    assert one.startswith("whsec_") and one != two
    assert len(secret_key(one)) == 32 and base64.b64encode(secret_key(one)).decode() == one[6:]


@settings(max_examples=200, deadline=None)
@given(payload=sendable_json, message_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                                              max_size=40), skew=st.integers(-240, 240))
def test_any_payload_verifies_with_the_reference_package(payload: Any, message_id: str, skew: int) -> None:
    secret = new_secret()
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()
    headers = webhook_headers(message_id, int(time.time()) + skew, body, [secret])
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=200).map(lambda b: b.decode("latin-1").encode()))
def test_both_secrets_sign_and_each_verifies(body: bytes) -> None:
    old, new = new_secret(), new_secret()
    headers = webhook_headers("msg_1", int(time.time()), body, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers, json_parse=False)


def test_the_previous_secret_signs_for_the_overlap_only() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    endpoint = Endpoint("ep_1", "portal", "https://hooks.example.org/", None, True, None, "whsec_AAAA", None, None,
                        t0, t0)
    assert endpoint.signing_secrets(t0) == ["whsec_AAAA"]
    rotated = endpoint.rotated("whsec_BBBB", t0)
    assert rotated.signing_secrets(t0) == ["whsec_BBBB", "whsec_AAAA"]
    assert rotated.signing_secrets(t0 + ROTATION_OVERLAP - timedelta(seconds=1)) == ["whsec_BBBB", "whsec_AAAA"]
    assert rotated.signing_secrets(t0 + ROTATION_OVERLAP) == ["whsec_BBBB"]
    twice = rotated.rotated("whsec_CCCC", t0 + timedelta(hours=1))  # the oldest stops signing at once
    assert twice.signing_secrets(t0 + timedelta(hours=1)) == ["whsec_CCCC", "whsec_BBBB"]


async def test_rotation_signs_with_both_secrets_during_the_overlap(client: Client, clock: ManualClock,
                                                                   receiver: Receiver) -> None:
    endpoint = await register(client, receiver)
    resp = await client.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", headers=auth())
    assert resp.status == 200
    rotated = await resp.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"].replace("Z", "+00:00"))
    assert expires == clock.now() + timedelta(hours=24)
    shown = await (await client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=auth())).json()
    assert "secret" not in shown and shown["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    receiver.secrets.append(rotated["secret"])  # [old, new]
    await book_now(client, clock)
    await receiver.until(lambda r: len(r.seen()) == 1)
    got = receiver.seen()[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verified_with == [0, 1]  # standardwebhooks verifies it with the old secret and with the new

    clock.advance(timedelta(hours=24))  # the overlap is over: the new secret alone signs
    receiver.secrets[:] = []  # (the reference verifier would find the moved clock's timestamp too new)
    await book_now(client, clock)
    wake(client)
    await receiver.until(lambda r: len(r.seen()) == 2)
    assert len(receiver.seen()[1].headers["webhook-signature"].split(" ")) == 1
    shown = await (await client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=auth())).json()
    assert shown["previous_secret_expires_at"] is None
