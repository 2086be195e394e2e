"""Dashboard tokens: short-lived JWTs that open a clinic's dashboard for one of its clinicians.

Signed like join tokens (HS256, the node's token secret, issuer ``konsylium``) but
for another audience (``konsylium-clinic``) and with ``scope: clinic``: a join token
is no dashboard token and a dashboard token is no join token (join tokens carry
no audience and need claims these lack). Nothing is stored: every use checks the
store again, so a clinician removed from the clinic (or a clinic of another
tenant) is refused even though the signature verifies.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from rooms.clock import Clock
from rooms.errors import TokenExpired, TokenInvalid
from rooms.tokens import ISSUER, MAX_TOKEN_LENGTH
from telemed.clinic_store import ClinicStore
from telemed.clinics import CLINICIAN_ID_MAX, Clinic, Clinician

__all__ = ["AUDIENCE", "SCOPE", "DashboardGrant", "DashboardTokens"]

AUDIENCE = "konsylium-clinic"
SCOPE = "clinic"
ALGORITHM = "HS256"
CLAIMS = ("sub", "clinic", "tenant", "scope", "iat", "exp", "jti", "aud")


@dataclass(frozen=True, slots=True)
class DashboardGrant:
    """What a verified dashboard token lets its bearer see and do: this clinic, as this clinician."""

    clinic: Clinic
    clinician: Clinician
    expires_at: datetime


def _id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= CLINICIAN_ID_MAX and value.isprintable()


class DashboardTokens:
    """Issue and verify dashboard tokens."""

    def __init__(self, secret: bytes, clock: Clock) -> None:
        if not secret:
            raise ValueError("the token secret must not be empty")
        self._secret = secret
        self._clock = clock

    def issue(self, clinic: Clinic, clinician: Clinician, ttl: timedelta) -> tuple[str, datetime]:
        """A token for *clinician* of *clinic*, valid *ttl* from now; with its expiry."""
        now = self._clock.now()
        expires = now + ttl
        claims = {"iss": ISSUER, "aud": AUDIENCE, "scope": SCOPE, "sub": clinician.id, "clinic": clinic.id,
                  "tenant": clinic.tenant, "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
                  "jti": secrets.token_urlsafe(12)}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires.replace(microsecond=0)

    def decode(self, token: Any) -> dict[str, Any]:
        """Signature, audience and shape; not time, not the store. Raise TokenInvalid."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid("the dashboard token does not verify (not a token of a sane length)")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, audience=AUDIENCE,
                options={"require": list(CLAIMS), "verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError as exc:
            raise TokenInvalid(f"the dashboard token does not verify ({type(exc).__name__})") from exc
        except (ValueError, TypeError, RecursionError) as exc:
            raise TokenInvalid("the dashboard token does not verify") from exc
        if claims["scope"] != SCOPE or not all(_id(claims[k]) for k in ("sub", "clinic", "tenant", "jti")) \
                or type(claims["exp"]) is not int or type(claims["iat"]) is not int:
            raise TokenInvalid("the dashboard token's claims have the wrong types")
        return claims

    async def verify(self, token: Any, store: ClinicStore, clinic_id: str | None = None) -> DashboardGrant:
        """The grant of a token valid now, checked against the store (*clinic_id*: the clinic asked for)."""
        claims = self.decode(token)
        if clinic_id is not None and claims["clinic"] != clinic_id:
            raise TokenInvalid("the dashboard token belongs to another clinic")
        if self._clock.now().timestamp() >= claims["exp"]:
            raise TokenExpired("the dashboard link has expired; ask for a new one")
        clinic = await store.find(claims["clinic"])
        if clinic is None or clinic.tenant != claims["tenant"]:
            raise TokenInvalid("the dashboard token names no known clinic")
        clinician = clinic.clinician(claims["sub"])
        if clinician is None:
            raise TokenInvalid("this clinician is no longer a clinician of the clinic")
        return DashboardGrant(clinic, clinician, datetime.fromtimestamp(claims["exp"], UTC))
