"""Standard Webhooks signing: endpoint secrets and the ``webhook-*`` headers of a delivery.

A secret is ``whsec_`` + base64 of 32 random bytes; the HMAC-SHA256 key is the decoded
bytes. ``webhook-signature`` is ``v1,`` + base64 of HMAC(key, ``id.timestamp.body``); during
a secret rotation the new and the previous secret both sign (space-separated), so a
receiver may switch secrets at its own pace within the overlap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta

__all__ = ["ROTATION_OVERLAP", "SECRET_PREFIX", "new_secret", "secret_key", "signature", "webhook_headers"]

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
#: How long the previous secret still signs after a rotation (docs/api.md, "Webhooks").
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """A fresh endpoint secret (shown to the integrator on creation and rotation only)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of *secret*: its base64 part, decoded."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ and base64") from exc


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 of ``message_id.timestamp.body`` under *secret*."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def webhook_headers(message_id: str, timestamp: int, body: bytes, signing: Sequence[str]) -> dict[str, str]:
    """The headers of one attempt: id, Unix timestamp and one signature per secret in *signing*."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in signing),
        "Content-Type": "application/json",
    }
