"""Secrets kept in the data directory: the token-signing secret and the dev API key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["DEV_TENANT", "dev_api_key", "token_secret"]

DEV_TENANT = "dev"
SECRET_FILE = "token-secret"
DEV_KEY_FILE = "dev-api-key"


def _read_or_create(path: Path, make: str) -> tuple[str, bool]:
    """Return the file's content, creating it (mode 0600) with *make* if absent."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as out:
        out.write(make + "\n")
        out.flush()
        os.fsync(out.fileno())
    return make, True


def token_secret(data_dir: Path) -> bytes:
    """Return the node's token secret, generating it on first start."""
    value, _ = _read_or_create(data_dir / SECRET_FILE, secrets.token_urlsafe(48))
    return value.encode()


def dev_api_key(data_dir: Path) -> tuple[str, bool]:
    """Return the development API key and whether it was just generated."""
    return _read_or_create(data_dir / DEV_KEY_FILE, "dev-" + secrets.token_urlsafe(24))
