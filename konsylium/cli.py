"""The ``konsylium`` command: ``konsylium serve`` starts one node."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import jwt

from konsylium import __version__
from konsylium.app import FRONT_GUARD, STORE_FILE, create_app, runner_options
from konsylium.front_server import run_front
from konsylium.keys import DEV_TENANT, dev_api_key
from konsylium.logs import configure_logging
from konsylium.settings import Settings, SettingsError
from rooms.sqlite_store import SqliteRoomStore
from signalling.resources import raise_open_files_limit

__all__ = ["main"]

log = logging.getLogger("konsylium")
EXIT_BAD_SETTING = 2

FLAGS = {
    "host": "KONSYLIUM_HOST",
    "port": "KONSYLIUM_PORT",
    "public_url": "KONSYLIUM_PUBLIC_URL",
    "data_dir": "KONSYLIUM_DATA_DIR",
    "log_level": "KONSYLIUM_LOG_LEVEL",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="konsylium",
        description="Konsylium: videoconference and telemedicine server.",
        epilog="Settings come from KONSYLIUM_* environment variables; flags override them.",
    )
    parser.add_argument("--version", action="version", version=f"konsylium {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run one node (embedded SQLite store, HTTP on 127.0.0.1:8080 by default)",
        description="Run one node. Every flag mirrors a KONSYLIUM_* environment variable.",
    )
    for flag, variable in FLAGS.items():
        serve.add_argument(f"--{flag.replace('_', '-')}", dest=flag, help=f"overrides {variable}")
    audit = commands.add_parser("audit", help="check the rooms' audit trails (hash chains)")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="recompute every room's chain in the data directory; exit 1 if any entry was edited, "
             "inserted or deleted",
        description="Recompute the audit chains of the store in KONSYLIUM_DATA_DIR (the node may run). "
                    "Prints one line per room and exits 0 when every chain holds, 1 otherwise.",
    )
    verify.add_argument("--data-dir", dest="data_dir", help="overrides KONSYLIUM_DATA_DIR")
    verify.add_argument("--room", dest="room", help="check this room only")
    return parser


def _check_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
        for name in ("token-secret", "dev-api-key"):
            if (path / name).exists():
                (path / name).read_text()
    except OSError as exc:
        raise SettingsError(
            "KONSYLIUM_DATA_DIR", f"{str(path)!r} is not a usable directory ({exc.strerror})"
        ) from exc


def _listen(settings: Settings) -> socket.socket:
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SettingsError("KONSYLIUM_HOST", f"{settings.host!r} does not resolve") from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        variable = "KONSYLIUM_PORT" if exc.errno == 98 else "KONSYLIUM_HOST"
        raise SettingsError(
            variable, f"cannot listen on {settings.host}:{settings.port} ({exc.strerror})"
        ) from exc
    sock.setblocking(False)
    return sock


def _check_redis(url: str) -> None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise SettingsError("KONSYLIUM_REDIS_URL", f"Redis is not reachable ({exc})") from exc


def _announce_dev_key(settings: Settings) -> None:
    key, created = dev_api_key(settings.data_dir)
    if created:
        print(
            f"KONSYLIUM_API_KEYS is not set: generated a development key for tenant "
            f"'{DEV_TENANT}' (kept in {settings.data_dir / 'dev-api-key'}):\n\n    {key}\n\n"
            "Book a room with it:\n\n"
            f"    curl -s -X POST {settings.public_url}/api/v1/rooms \\\n"
            f"      -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
            "      -d '{\"title\": \"Test\", \"kind\": \"meeting\", \"model\": \"A2A\", "
            "\"starts_at\": \"2030-01-01T09:00:00+01:00\", \"ends_at\": "
            "\"2030-01-01T10:00:00+01:00\", \"participants\": [{\"display_name\": \"Anna\", "
            "\"role\": \"host\", \"party\": \"administration\"}]}'\n",
            flush=True,
        )
    else:
        print(
            f"KONSYLIUM_API_KEYS is not set: using the development key of tenant "
            f"'{DEV_TENANT}' in {settings.data_dir / 'dev-api-key'}",
            flush=True,
        )


def serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    for flag, variable in FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            env[variable] = value
    try:
        settings = Settings.from_env(env)
        configure_logging(settings.log_level)
        open_files = raise_open_files_limit()
        _check_data_dir(settings.data_dir)
        if settings.redis_url is not None:
            _check_redis(settings.redis_url)
        if settings.secret is not None and len(settings.secret) < 32:
            log.warning("KONSYLIUM_SECRET is shorter than 32 bytes; use a longer one")
        sock = _listen(settings)
    except SettingsError as exc:
        print(f"konsylium: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTING
    settings = replace(settings, data_dir=settings.data_dir.resolve())
    if settings.api_keys is None:
        _announce_dev_key(settings)
    if settings.redis_url is not None:
        log.warning("multi-node mode is not built yet: Redis is checked, state stays local")
    warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)
    app = create_app(settings, eager=True)
    log.info("listening on %s:%s public_url=%s open_files=%s", settings.host, settings.port,
             settings.public_url, open_files)
    run_front(app, sock, app[FRONT_GUARD], **runner_options())
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    """``konsylium audit verify``: one line per room, exit 1 when any chain is broken."""
    data_dir = Path(args.data_dir or os.environ.get("KONSYLIUM_DATA_DIR") or "var")
    path = data_dir / STORE_FILE
    if not path.is_file():
        print(f"konsylium: no store at {path}", file=sys.stderr)
        return EXIT_BAD_SETTING
    return asyncio.run(_verify_chains(path, args.room))


async def _verify_chains(path: Path, only: str | None) -> int:
    store = SqliteRoomStore(path)
    await store.open()
    try:
        rooms = [only] if only is not None else await store.audited_rooms()
        broken = 0
        for room_id in rooms:
            _, check = await store.audit_trail(room_id)
            if check.ok:
                print(f"ok      room={room_id} entries={check.entries} head={check.head}")
            else:
                broken += 1
                print(f"BROKEN  room={room_id} entries={check.entries} first bad entry={check.first_bad}: "
                      f"{check.problem}")
        print(f"{len(rooms)} room(s) checked, {broken} broken")
        return 1 if broken else 0
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "audit":
        return audit_verify(args)
    _parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
