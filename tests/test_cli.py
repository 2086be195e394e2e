"""The ``konsylium`` command: help, and exit status 2 naming the variable of a bad setting."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.processes import free_port, redis_server, run_cli, server


def test_help_lists_serve() -> None:
    done = run_cli(["--help"], {})
    assert done.returncode == 0
    assert "serve" in done.stdout
    done = run_cli(["serve", "--help"], {})
    assert done.returncode == 0 and "--port" in done.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KONSYLIUM_PORT", "eighty"),
        ("KONSYLIUM_PORT", "70000"),
        ("KONSYLIUM_PUBLIC_URL", "not a url"),
        ("KONSYLIUM_PUBLIC_URL", "ftp://example.org"),
        ("KONSYLIUM_PUBLIC_URL", "http://host:notaport"),
        ("KONSYLIUM_REDIS_URL", "http://127.0.0.1:6379"),
        ("KONSYLIUM_API_KEYS", "portal"),
        ("KONSYLIUM_API_KEYS", "portal=a,portal=b"),
        ("KONSYLIUM_API_KEYS", "=key"),
        ("KONSYLIUM_API_KEYS", "bad tenant=key"),
        ("KONSYLIUM_MEDIA_ADDRESSES", "127.0.0.1,nowhere"),
        ("KONSYLIUM_LOG_LEVEL", "loud"),
        ("KONSYLIUM_JOIN_EARLY_MINUTES", "-5"),
        ("KONSYLIUM_HOST", "bad host!"),
        ("KONSYLIUM_WORKERS", "many"),
        ("KONSYLIUM_WORKERS", "65"),
        ("KONSYLIUM_RECONNECT_SECONDS", "0"),
    ],
)
def test_bad_setting_exits_2_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    done = run_cli(["serve"], {"KONSYLIUM_DATA_DIR": str(tmp_path), variable: value})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr


def test_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(["serve"], {"KONSYLIUM_DATA_DIR": str(tmp_path),
                                   "KONSYLIUM_PORT": str(port)})
    assert done.returncode == 2
    assert "KONSYLIUM_PORT" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_unusable_data_dir_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_cli(["serve"], {"KONSYLIUM_DATA_DIR": str(blocker / "var"),
                               "KONSYLIUM_PORT": str(free_port())})
    assert done.returncode == 2 and "KONSYLIUM_DATA_DIR" in done.stderr


def test_unreadable_secret_in_data_dir_exits_2(tmp_path: Path) -> None:
    (tmp_path / "token-secret").mkdir()  # a directory where the secret file belongs
    done = run_cli(["serve"], {"KONSYLIUM_DATA_DIR": str(tmp_path),
                               "KONSYLIUM_PORT": str(free_port())})
    assert done.returncode == 2 and "KONSYLIUM_DATA_DIR" in done.stderr


def test_unreachable_redis_exits_2(tmp_path: Path) -> None:
    done = run_cli(["serve"], {"KONSYLIUM_DATA_DIR": str(tmp_path),
                               "KONSYLIUM_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert done.returncode == 2 and "KONSYLIUM_REDIS_URL" in done.stderr


def test_flags_mirror_variables(tmp_path: Path) -> None:
    done = run_cli(["serve", "--port", "nope"], {"KONSYLIUM_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and "KONSYLIUM_PORT" in done.stderr


def test_dev_key_is_generated_kept_and_printed_once(tmp_path: Path) -> None:
    import json
    import urllib.request

    env = {"KONSYLIUM_DATA_DIR": str(tmp_path)}
    with server(env, tmp_path / "first.log") as first:
        key = (tmp_path / "dev-api-key").read_text().strip()
        assert (tmp_path / "dev-api-key").stat().st_mode & 0o777 == 0o600
        request = urllib.request.Request(
            f"{first.url}/api/v1/rooms?limit=1", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request) as resp:
            assert json.load(resp) == {"items": [], "next_cursor": None}
    log = (tmp_path / "first.log").read_text()
    assert key in log and "curl -s -X POST" in log
    with server(env, tmp_path / "second.log"):
        pass
    assert key not in (tmp_path / "second.log").read_text()
    assert (tmp_path / "dev-api-key").read_text().strip() == key


def test_redis_reachable_makes_readyz_check_it(tmp_path: Path) -> None:
    import json
    import urllib.error
    import urllib.request

    with redis_server(tmp_path) as redis, server(
        {"KONSYLIUM_DATA_DIR": str(tmp_path), "KONSYLIUM_REDIS_URL": redis.url,
         "KONSYLIUM_API_KEYS": "portal=k-0123456789"}, tmp_path / "s.log"
    ) as node:
        with urllib.request.urlopen(f"{node.url}/readyz") as resp:
            assert json.load(resp)["redis"] == "ok"
        redis.stop()
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{node.url}/readyz")
        assert caught.value.code == 503
        assert caught.value.headers["Content-Type"] == "application/problem+json"
