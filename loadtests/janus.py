"""Janus 1.1.2 (Debian package `janus`) as the reference SFU, run on loopback for benchmarks.

* Configuration: a minimal one of its own in a temp dir (only the videoroom plugin and the
  HTTP transport, linked into private plugin/transport folders; no event handlers or
  loggers), media and HTTP on 127.0.0.1, one room (VP8/Opus, `bitrate = 0`,
  `fir_freq = 0`), optionally `event_loops = N`.
* Loopback: Janus 1.1.2 skips interfaces flagged IFF_LOOPBACK before it reads
  `ice_enforce_list`, so a tiny LD_PRELOAD wrapper of getifaddrs() (compiled here with
  gcc, loaded into Janus only) clears that flag on `lo`. It runs at ICE setup only.
* Signalling: the HTTP REST API: one session, a publisher handle (`join`, then
  `configure` with the offer) and one handle per subscriber (`join` as subscriber with
  `streams: [{feed}]`, answer Janus's offer, `start`); events arrive by long-polling
  `GET /janus/{session}`, which also keeps the session alive.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from loadtests.cpu import pinned_command
from loadtests.media_clients import CountingSubscriber, SyntheticPublisher
from loadtests.node import answers, free_port

__all__ = ["JanusApi", "JanusServer", "janus_server"]

ROOM = 1234
PUBLISHER_ID = 1
LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")

GETIFADDRS_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

/* Present "lo" as an ordinary interface, so that Janus gathers 127.0.0.1. */
int getifaddrs(struct ifaddrs **ifap) {
    static int (*real)(struct ifaddrs **) = 0;
    if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real(ifap);
    if (rc == 0)
        for (struct ifaddrs *i = *ifap; i; i = i->ifa_next)
            if (i->ifa_name && strcmp(i->ifa_name, "lo") == 0) i->ifa_flags &= ~IFF_LOOPBACK;
    return rc;
}
"""


def _library(folder: str, name: str) -> Path:
    """The plugin or transport shared object, wherever the package put its folder."""
    for base in (LIBDIR, Path("/usr/lib/janus"), Path("/usr/local/lib/janus"), Path("/opt/janus/lib/janus")):
        candidate = base / folder / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{folder}/{name} of Janus not found")


def write_config(directory: Path, http_port: int, event_loops: int | None) -> Path:
    """Write a minimal Janus configuration into `directory`; return janus.jcfg."""
    for folder in ("plugins", "transports", "events", "loggers"):
        (directory / folder).mkdir(exist_ok=True)
    (directory / "plugins" / "libjanus_videoroom.so").symlink_to(_library("plugins", "libjanus_videoroom.so"))
    (directory / "transports" / "libjanus_http.so").symlink_to(_library("transports", "libjanus_http.so"))
    loops = "" if event_loops is None else f"\tevent_loops = {event_loops}\n"
    main = directory / "janus.jcfg"
    main.write_text(
        "general: {\n"
        f'\tconfigs_folder = "{directory}"\n'
        f'\tplugins_folder = "{directory}/plugins"\n'
        f'\ttransports_folder = "{directory}/transports"\n'
        f'\tevents_folder = "{directory}/events"\n'
        f'\tloggers_folder = "{directory}/loggers"\n'
        "\tdebug_level = 3\n"
        '\tinterface = "127.0.0.1"\n'
        "\tsession_timeout = 60\n"
        f"{loops}"
        "}\n"
        "certificates: {\n}\n"
        "media: {\n\tipv6 = false\n}\n"
        'nat: {\n\tnice_debug = false\n\tice_enforce_list = "lo"\n\tignore_mdns = true\n}\n'
        "plugins: {\n}\ntransports: {\n}\nloggers: {\n}\nevents: {\n\tbroadcast = false\n}\n"
    )
    (directory / "janus.transport.http.jcfg").write_text(
        "general: {\n"
        '\tjson = "plain"\n\tbase_path = "/janus"\n\thttp = true\n'
        f'\tport = {http_port}\n\tip = "127.0.0.1"\n\thttps = false\n'
        "}\n"
        "admin: {\n\tadmin_http = false\n\tadmin_https = false\n}\n"
        "cors: {\n}\n"
    )
    (directory / "janus.plugin.videoroom.jcfg").write_text(
        "general: {\n}\n"
        f"room-{ROOM}: {{\n"
        '\tdescription = "SFU benchmark"\n\tpublishers = 1\n\tbitrate = 0\n\tfir_freq = 0\n'
        '\tvideocodec = "vp8"\n\taudiocodec = "opus"\n\trecord = false\n'
        "}\n"
    )
    return main


def build_shim(directory: Path) -> Path:
    """Compile the getifaddrs wrapper into `directory`; return the .so path."""
    source = directory / "ifaddrs_shim.c"
    library = directory / "ifaddrs_shim.so"
    source.write_text(GETIFADDRS_SHIM)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"],
                   check=True, capture_output=True, text=True)
    return library


class JanusError(RuntimeError):
    pass


class JanusApi:
    """A small client of Janus's HTTP REST API: one session, events by long-polling."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.session: int | None = None
        self._transactions = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.url}{path}", json=body) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
        if answer.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {answer.get('error')}")
        return answer

    async def create_session(self) -> int:
        answer = await self._post("", {"janus": "create", "transaction": self._transaction()})
        self.session = int(answer["data"]["id"])
        self._poller = asyncio.create_task(self._poll())
        return self.session

    async def attach(self, plugin: str = "janus.plugin.videoroom") -> int:
        body = {"janus": "attach", "plugin": plugin, "transaction": self._transaction()}
        answer = await self._post(f"/{self.session}", body)
        return int(answer["data"]["id"])

    async def message(self, handle: int, request: dict[str, Any], jsep: dict[str, Any] | None = None,
                      timeout: float = 20.0) -> dict[str, Any]:
        """Send a plugin request; return its asynchronous event (or its synchronous answer)."""
        transaction = self._transaction()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = future
        body: dict[str, Any] = {"janus": "message", "transaction": transaction, "body": request}
        if jsep is not None:
            body["jsep"] = jsep
        try:
            answer = await self._post(f"/{self.session}/{handle}", body)
            if answer.get("janus") != "ack":
                event = answer
            else:
                event = await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(transaction, None)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{request.get('request')}: {data['error']}")
        return event

    def _transaction(self) -> str:
        return f"t{next(self._transactions)}"

    async def _poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.session}?maxev=20",
                                         timeout=aiohttp.ClientTimeout(total=45)) as resp:
                    events = await resp.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                future = self._waiting.get(str(event.get("transaction")))
                if future is not None and not future.done() and event.get("janus") == "event":
                    future.set_result(event)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)


class JanusServer:
    """The MediaServer of the SFU benchmark for a running Janus."""

    def __init__(self, api: JanusApi, pid: int, audio: bool) -> None:
        self.api = api
        self.pid = pid
        self.audio = audio

    async def publish(self, publisher: SyntheticPublisher) -> None:
        handle = await self.api.attach()
        await self.api.message(handle, {"request": "join", "ptype": "publisher", "room": ROOM,
                                        "id": PUBLISHER_ID, "display": "publisher"})
        offer = await publisher.offer()
        event = await self.api.message(handle, {"request": "configure", "audio": self.audio, "video": True},
                                       jsep={"type": "offer", "sdp": offer, "trickle": False})
        await publisher.accept(str(event["jsep"]["sdp"]))

    async def subscribe(self, index: int, subscriber: CountingSubscriber, kinds: list[str]) -> None:
        handle = await self.api.attach()
        event = await self.api.message(handle, {"request": "join", "ptype": "subscriber", "room": ROOM,
                                                "streams": [{"feed": PUBLISHER_ID}]})
        answer = await subscriber.answer(str(event["jsep"]["sdp"]))
        await self.api.message(handle, {"request": "start"}, jsep={"type": "answer", "sdp": answer, "trickle": False})

    async def forwarded_packets(self) -> int | None:
        return None  # counted at the subscribers


@asynccontextmanager
async def janus_server(*, event_loops: int | None, core: int | None, audio: bool) -> AsyncIterator[JanusServer]:
    """Run Janus with its own configuration in a temp dir; yield a JanusServer."""
    with tempfile.TemporaryDirectory(prefix="janus-bench-") as temp:
        directory = Path(temp)
        port = free_port()
        config = write_config(directory, port, event_loops)
        shim = build_shim(directory)
        env = {**os.environ, "LD_PRELOAD": str(shim)}
        log = open(directory / "janus.log", "wb")  # closed in the finally below
        command = pinned_command(["janus", "-F", str(directory), "-C", str(config)], core)
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/janus"
        http = aiohttp.ClientSession()
        api = JanusApi(http, url)
        try:
            if not await answers(http, f"{url}/info", proc, 20):
                tail = (directory / "janus.log").read_text(errors="replace")[-1500:]
                raise JanusError(f"Janus did not start:\n{tail}")
            await api.create_session()
            yield JanusServer(api, proc.pid, audio)
        finally:
            await api.close()
            await http.close()
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.to_thread(proc.wait, 10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
