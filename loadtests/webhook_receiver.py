"""A webhook receiver for load tests: an aiohttp server on 127.0.0.1 in a process of its own.

It answers every ``POST /hooks`` with 204 at once and keeps, per request, the
``webhook-id``, the receive time (``time.time()``) and the body; every
`VERIFY_EVERY`-th request is checked with the reference ``standardwebhooks``
package against the secret given to it (its own process, so the load generator's
loop and the node's are not slowed by it). The load test drives it over HTTP:

- ``POST /_secret`` (body: the endpoint's ``whsec_…`` secret),
- ``GET /_count`` → ``{"requests", "distinct"}``,
- ``POST /_take`` → every request since the last take, parsed (see `Record`), and forgets them.

Run ``python -m loadtests.webhook_receiver``: it prints ``port <n>`` on stdout when it listens.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["PATH", "VERIFY_EVERY", "Record", "event_time", "main"]

PATH = "/hooks"
#: One request in this many has its signature verified (all of them would make the receiver the bottleneck).
VERIFY_EVERY = 10


def event_time(payload: dict[str, Any]) -> float:
    """The Unix time of the event a delivered payload announces (its ``timestamp``)."""
    return datetime.fromisoformat(str(payload["timestamp"]).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Record:
    """One request as received: its id, when it arrived, when its event happened, and its type."""

    message_id: str
    received: float
    event: float
    type: str

    def as_json(self) -> list[object]:
        return [self.message_id, self.received, self.event, self.type]

    @staticmethod
    def of(row: list[Any]) -> Record:
        return Record(str(row[0]), float(row[1]), float(row[2]), str(row[3]))


@dataclass
class _State:
    secret: str | None = None
    raw: list[tuple[str, float, bytes]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    requests: int = 0
    verified: int = 0
    verify_failed: int = 0


def app() -> web.Application:
    state = _State()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        received = time.time()
        message_id = request.headers.get("webhook-id", "")
        state.requests += 1
        state.raw.append((message_id, received, body))
        state.seen.add(message_id)
        if state.secret is not None and state.requests % VERIFY_EVERY == 1:
            try:
                Webhook(state.secret).verify(body, {k.lower(): v for k, v in request.headers.items()})
                state.verified += 1
            except WebhookVerificationError:
                state.verify_failed += 1
        return web.Response(status=204)

    async def secret(request: web.Request) -> web.Response:
        state.secret = (await request.text()).strip()
        return web.Response(status=204)

    async def count(_: web.Request) -> web.Response:
        return web.json_response({"requests": state.requests, "distinct": len(state.seen)})

    async def take(_: web.Request) -> web.Response:
        raw, state.raw = state.raw, []
        records = []
        for message_id, received, body in raw:
            payload = json.loads(body)
            records.append(Record(message_id, received, event_time(payload), str(payload["type"])).as_json())
        answer = {"records": records, "verified": state.verified, "verify_failed": state.verify_failed}
        state.seen.clear()
        state.requests = state.verified = state.verify_failed = 0
        return web.json_response(answer)

    application = web.Application(client_max_size=1024 * 1024)
    application.router.add_post(PATH, hook)
    application.router.add_post("/_secret", secret)
    application.router.add_get("/_count", count)
    application.router.add_post("/_take", take)
    return application


async def serve() -> None:
    runner = web.AppRunner(app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    print(f"port {port}", flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    finally:
        await runner.cleanup()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
