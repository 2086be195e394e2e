"""Schemathesis against the live server: no 5xx, and every answer as the OpenAPI document says.

``positive_data_acceptance`` is left out on purpose: the document cannot say
that ``ends_at`` must follow ``starts_at`` or lie in the future, so a
schema-valid booking may rightly get 422.
``use_after_free`` (ST301) is left out too: ``DELETE /api/v1/rooms/{id}``
cancels a room, which stays readable (``status: cancelled``, docs/api.md), and
so do its sub-resources such as its (empty) live view; ST301 wants a 404 for
every path under a deleted one.
Webhook deliveries are off (``KONSYLIUM_WEBHOOKS_DELIVER=false``): the endpoints schemathesis
registers are any URL it draws, and the test machine sends nothing to them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.processes import server

KEY = "k-schemathesis-0123456789"
#: Webhook endpoints schemathesis registers stay queued: the node sends nothing anywhere.
QUIET = {"KONSYLIUM_WEBHOOKS_DELIVER": "false"}


def test_openapi_document_is_served(tmp_path: Path) -> None:
    env = {"KONSYLIUM_DATA_DIR": str(tmp_path), "KONSYLIUM_API_KEYS": f"portal={KEY}"}
    with server(env, tmp_path / "s.log") as node:
        with urllib.request.urlopen(f"{node.url}/api/v1/openapi.json") as resp:
            doc = json.load(resp)
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/api/v1/rooms",
        "/api/v1/rooms/{room_id}",
        "/api/v1/rooms/{room_id}/participants",
        "/api/v1/rooms/{room_id}/participants/{participant_id}",
        "/api/v1/rooms/{room_id}/live",
        "/api/v1/rooms/{room_id}/audit",
        "/api/v1/rooms/{room_id}/end",
        "/api/v1/rooms/{room_id}/participants/{participant_id}/admit",
        "/api/v1/rooms/{room_id}/participants/{participant_id}/deny",
        "/api/v1/rooms/{room_id}/participants/{participant_id}/mute",
        "/api/v1/rooms/{room_id}/participants/{participant_id}/invite.ics",
        "/api/v1/rooms/{room_id}/lock",
        "/api/v1/rooms/{room_id}/unlock",
        "/api/v1/rooms/{room_id}/prechecks",
        "/api/v1/rooms/{room_id}/invites",
        "/api/v1/rooms/{room_id}/invites/{invite_id}",
        "/api/v1/rooms/{room_id}/recording",
        "/api/v1/rooms/{room_id}/recording/start",
        "/api/v1/rooms/{room_id}/recording/stop",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/rotate-secret",
        "/api/v1/webhooks/{webhook_id}/test",
        "/api/v1/webhooks/{webhook_id}/messages",
        "/api/v1/webhooks/{webhook_id}/messages/{message_id}",
        "/api/v1/webhooks/{webhook_id}/messages/{message_id}/redeliver",
        "/api/v1/clinics",
        "/api/v1/clinics/{clinic_id}",
        "/api/v1/clinics/{clinic_id}/consent",
        "/api/v1/clinics/{clinic_id}/visits",
        "/api/v1/clinics/{clinic_id}/clinicians/{clinician_id}/dashboard-link",
    }


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    env = {"KONSYLIUM_DATA_DIR": str(tmp_path), "KONSYLIUM_API_KEYS": f"portal={KEY}", **QUIET}
    with server(env, tmp_path / "s.log") as node:
        done = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run",
                f"{node.url}/api/v1/openapi.json",
                "--header", f"Authorization: Bearer {KEY}",
                "--checks", "all", "--exclude-checks", "positive_data_acceptance,use_after_free",
                "--max-examples", "40", "--workers", "1", "--seed", "20261122",
                "--request-timeout", "10",
            ],
            capture_output=True, text=True, timeout=300, check=False,
            cwd=tmp_path,
        )
        log = node.log()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
    assert " 500 " not in log
    assert " 201 " in log  # the stateful phase booked rooms and followed the links
