"""docs/api.md lists every event type as rooms.events declares it, and docs/operations.md the webhook
settings and metrics: the documents cannot fall behind the code."""

from __future__ import annotations

from pathlib import Path

import pytest

import rooms.webhooks  # noqa: F401 - registers webhook.test
import telemed.visit_events  # noqa: F401 - registers consultation.*
from konsylium.settings import Settings, SettingsError
from rooms.events import EVENT_TYPES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_event_types_table_is_the_declared_one() -> None:
    text = (DOCS / "api.md").read_text()
    section = text[text.index("### Event types"):text.index("### Retries")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows == [f"| `{name}` | {meaning} |" for name, meaning in EVENT_TYPES.items()]


def test_operations_documents_the_settings_and_metrics() -> None:
    text = (DOCS / "operations.md").read_text()
    for name in ("KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE", "KONSYLIUM_WEBHOOKS_DELIVER", "konsylium_webhook_deliveries_total",
                 "konsylium_webhook_outbox_pending", "konsylium_webhook_outbox_oldest_pending_seconds"):
        assert f"`{name}`" in text, name


def test_the_settings_are_read_strictly() -> None:
    assert Settings.from_env({}).webhooks_allow_private is False
    assert Settings.from_env({}).webhooks_deliver is True
    on = Settings.from_env({"KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE": "TRUE", "KONSYLIUM_WEBHOOKS_DELIVER": "0"})
    assert on.webhooks_allow_private is True and on.webhooks_deliver is False
    with pytest.raises(SettingsError, match="KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE"):
        Settings.from_env({"KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE": "maybe"})
