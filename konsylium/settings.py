"""Node settings: read from the environment (CONTRACT.md §1) into one typed object.

Parsing is strict and names the variable at fault, so that ``serve`` can stop
with one clear line and exit status 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from rooms.retention import RetentionPolicy

__all__ = ["LOG_LEVELS", "MediaAddress", "Settings", "SettingsError"]

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
#: Consultations keep their names, note and pre-call checks 30 days after the visit (the clinic's
#: scheduling system has had the outcome by webhook and the note by API by then); other kinds: for ever.
DEFAULT_RETENTION = "consultation=30"
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SettingsError(ValueError):
    """A setting has a bad value; ``str()`` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class MediaAddress:
    """A local address the SFU listens on, and the address it announces (1:1 NAT)."""

    local: str
    announced: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node needs to start; defaults are the embedded single-node mode."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url_override: str | None = None
    data_dir: Path = Path("var")
    redis_url: str | None = None
    api_keys: Mapping[str, str] | None = None
    secret: bytes | None = None
    media_addresses: tuple[MediaAddress, ...] | None = None
    log_level: str = "info"
    join_early: timedelta = timedelta(minutes=15)
    join_late: timedelta = timedelta(minutes=30)
    reconnect_grace: float = 30.0
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Webhooks may call loopback, private and link-local addresses (on-premises receivers, tests).
    webhooks_allow_private: bool = False
    #: Webhook messages are sent (false: they stay queued; maintenance, or a machine without a network).
    webhooks_deliver: bool = True
    #: Webhooks are sent by a process of their own (false: by the front's event loop; tests with a manual clock).
    webhooks_process: bool = True
    #: How long after its end each kind of room keeps its title, names and details (rooms.retention).
    retention: RetentionPolicy = field(default_factory=lambda: RetentionPolicy.parse(DEFAULT_RETENTION))

    @property
    def public_url(self) -> str:
        if self.public_url_override:
            return self.public_url_override
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``KONSYLIUM_*`` variables; raise SettingsError on a bad one."""

        def get(name: str) -> str | None:
            value = env.get(f"KONSYLIUM_{name}")
            return None if value is None or value.strip() == "" else value.strip()

        host = get("HOST") or "127.0.0.1"
        _check_host(host)
        return cls(
            host=host,
            port=_port(get("PORT")),
            public_url_override=_public_url(get("PUBLIC_URL")),
            data_dir=Path(get("DATA_DIR") or "var"),
            redis_url=_redis_url(get("REDIS_URL")),
            api_keys=_api_keys(get("API_KEYS")),
            secret=None if get("SECRET") is None else str(get("SECRET")).encode(),
            media_addresses=_media_addresses(get("MEDIA_ADDRESSES")),
            log_level=_log_level(get("LOG_LEVEL")),
            join_early=_minutes("JOIN_EARLY_MINUTES", get("JOIN_EARLY_MINUTES"), 15),
            join_late=_minutes("JOIN_LATE_MINUTES", get("JOIN_LATE_MINUTES"), 30),
            reconnect_grace=_seconds("RECONNECT_SECONDS", get("RECONNECT_SECONDS"), 30),
            workers=_workers(get("WORKERS")),
            webhooks_allow_private=_flag("WEBHOOKS_ALLOW_PRIVATE", get("WEBHOOKS_ALLOW_PRIVATE"), False),
            webhooks_deliver=_flag("WEBHOOKS_DELIVER", get("WEBHOOKS_DELIVER"), True),
            webhooks_process=_flag("WEBHOOKS_PROCESS", get("WEBHOOKS_PROCESS"), True),
            retention=_retention(get("RETENTION_DAYS")),
        )


def _check_host(host: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", host):
        raise SettingsError("KONSYLIUM_HOST", f"{host!r} is not a host name or IP address")


def _port(raw: str | None) -> int:
    if raw is None:
        return 8080
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError("KONSYLIUM_PORT", f"{raw!r} is not a port number (1-65535)")
    return int(raw)


def _public_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise SettingsError("KONSYLIUM_PUBLIC_URL", f"{raw!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            "KONSYLIUM_PUBLIC_URL", f"{raw!r} is not an http(s) URL with a host name"
        )
    if parts.query or parts.fragment:
        raise SettingsError("KONSYLIUM_PUBLIC_URL", "must not carry a query or a fragment")
    return raw.rstrip("/")


def _redis_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018
    except ValueError as exc:
        raise SettingsError("KONSYLIUM_REDIS_URL", f"{raw!r} is not a URL ({exc})") from exc
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise SettingsError(
            "KONSYLIUM_REDIS_URL", f"{raw!r} is not a redis://, rediss:// or unix:// URL"
        )
    return raw


def _api_keys(raw: str | None) -> dict[str, str] | None:
    if raw is None:
        return None
    keys: dict[str, str] = {}
    for index, pair in enumerate(raw.split(","), start=1):
        tenant, sep, key = (part.strip() for part in pair.partition("="))
        if not sep or not tenant or not key:
            raise SettingsError(
                "KONSYLIUM_API_KEYS", f"entry {index} is not of the form tenant=key"
            )
        if not TENANT_RE.match(tenant):
            raise SettingsError(
                "KONSYLIUM_API_KEYS",
                f"entry {index}: tenant names use letters, digits, '.', '_' and '-'",
            )
        if tenant in keys:
            raise SettingsError("KONSYLIUM_API_KEYS", f"tenant {tenant!r} is named twice")
        if key in keys.values() or any(ch.isspace() for ch in key):
            raise SettingsError(
                "KONSYLIUM_API_KEYS", f"entry {index}: keys must be unique and have no spaces"
            )
        keys[tenant] = key
    return keys


def _ip(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError as exc:
        raise SettingsError("KONSYLIUM_MEDIA_ADDRESSES", f"{raw!r} is not an IP address") from exc


def _media_addresses(raw: str | None) -> tuple[MediaAddress, ...] | None:
    """Parse ``ip[/announced-ip],...`` (the announced address is for 1:1 NAT)."""
    if raw is None:
        return None
    out = []
    for item in raw.split(","):
        local, _, announced = item.strip().partition("/")
        out.append(MediaAddress(_ip(local), _ip(announced) if announced else None))
    return tuple(out)


def _log_level(raw: str | None) -> str:
    if raw is None:
        return "info"
    if raw.lower() not in LOG_LEVELS:
        raise SettingsError("KONSYLIUM_LOG_LEVEL", f"{raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return raw.lower()


def _retention(raw: str | None) -> RetentionPolicy:
    try:
        return RetentionPolicy.parse(DEFAULT_RETENTION if raw is None else raw)
    except ValueError as exc:
        raise SettingsError("KONSYLIUM_RETENTION_DAYS", f"{exc} (e.g. consultation=30,meeting=365)") from None


def _minutes(name: str, raw: str | None, default: int) -> timedelta:
    if raw is None:
        return timedelta(minutes=default)
    if not raw.isdigit() or int(raw) > 24 * 60:
        raise SettingsError(f"KONSYLIUM_{name}", f"{raw!r} is not a number of minutes (0-1440)")
    return timedelta(minutes=int(raw))


def _seconds(name: str, raw: str | None, default: int) -> float:
    if raw is None:
        return float(default)
    if not raw.isdigit() or not 1 <= int(raw) <= 600:
        raise SettingsError(f"KONSYLIUM_{name}", f"{raw!r} is not a number of seconds (1-600)")
    return float(raw)


def _workers(raw: str | None) -> int:
    """Media worker processes: the number of CPUs by default; 0 keeps media in the front process."""
    if raw is None:
        return os.cpu_count() or 1
    if not raw.isdigit() or int(raw) > 64:
        raise SettingsError("KONSYLIUM_WORKERS", f"{raw!r} is not a number of worker processes (0-64)")
    return int(raw)


def _flag(name: str, raw: str | None, default: bool) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``), any case."""
    if raw is None:
        return default
    value = raw.lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise SettingsError(f"KONSYLIUM_{name}", f"{raw!r} is not true or false")
