"""The composition root: ``create_app(settings)`` builds one node's aiohttp application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from konsylium.front_guard import FrontGuard, runner_limits
from konsylium.handshake_guard import HandshakeGuard
from konsylium.keys import DEV_TENANT, dev_api_key, token_secret
from konsylium.logs import AccessLogger
from konsylium.metrics import NodeMetrics
from konsylium.settings import Settings
from konsylium.shutdown import tell_sockets
from konsylium.webhook_process import DeliveryProcess
from rooms.api import BookingApi
from rooms.auth import ApiKeys
from rooms.booking import Bookings
from rooms.clock import Clock, SystemClock
from rooms.events import EventSink
from rooms.guest_invite_api import GuestInviteApi
from rooms.guest_invite_service import GuestInvites
from rooms.presence import LocalPresence
from rooms.problem import problem_middleware, problem_response
from rooms.retention import Retention
from rooms.sqlite_store import SqliteRoomStore
from rooms.tokens import JoinTokens, JoinWindow
from rooms.views import RoomViews
from rooms.webhooks.api import WebhookApi
from rooms.webhooks.dispatcher import Dispatcher
from rooms.webhooks.outbox import Outbox
from rooms.webhooks.store import WebhookStore
from sfu import Sfu, SfuConfig
from signalling.background import BackgroundTasks
from signalling.event_queue import QueuedEvents
from signalling.front_calls import FrontCalls, LocalFrontCalls
from signalling.host_decisions import BookedDecisions, HostDecisions
from signalling.invite_page import InvitePage
from signalling.join_page import JoinPage
from signalling.live_api import LiveApi
from signalling.live_room import LiveRooms
from signalling.recording_api import RecordingApi
from signalling.revocation import LiveRevocation
from signalling.room_service import LocalRoomService, RoomService
from signalling.socket_api import SocketApi, SocketNotifier
from signalling.web_client import WebClient
from signalling.whip import WhipApi, cors_middleware
from signalling.workers import WorkerRoomService
from signalling.workflow import Workflow, Workflows
from telemed.clinic_api import ClinicApi
from telemed.clinic_openapi import CLINIC_OPENAPI
from telemed.clinic_store import ClinicStore
from telemed.consultation import Consultation
from telemed.consultation_api import ConsultationApi
from telemed.dashboard_tokens import DashboardTokens
from telemed.fhir.api import FhirApi
from telemed.precheck.api import PrecheckApi
from telemed.precheck.openapi import PRECHECK_OPENAPI
from telemed.precheck.store import PrecheckStore
from telemed.retention import purge_consultation_details
from telemed.visit_records import VisitRecords
from telemed.visits import ClinicVisits

__all__ = ["FRONT_GUARD", "MAX_BODY", "NODE", "Node", "create_app", "runner_options"]

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
STORE_FILE = "konsylium.sqlite3"


@dataclass(slots=True)
class Node:
    """The services of one node, reachable from handlers and tests via ``app[NODE]``."""

    settings: Settings
    clock: Clock
    store: SqliteRoomStore
    tokens: JoinTokens
    bookings: Bookings
    presence: LocalPresence
    metrics: NodeMetrics
    api_keys: dict[str, str]
    rooms: RoomService
    sockets: SocketApi
    revocation: LiveRevocation
    outbox: Outbox
    webhooks: Dispatcher | DeliveryProcess
    events: QueuedEvents
    invites: GuestInvites
    retention: Retention
    redis: Redis | None = None
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)


NODE = web.AppKey("node", Node)
FRONT_GUARD = web.AppKey("front_guard", FrontGuard)


def _api_keys(settings: Settings) -> dict[str, str]:
    if settings.api_keys is not None:
        return dict(settings.api_keys)
    key, _ = dev_api_key(settings.data_dir)
    return {DEV_TENANT: key}


def runner_options() -> dict[str, Any]:
    """Options of the app's runner (the CLI's and the tests'): the path-only access log, the header timeout."""
    return {"access_log_class": AccessLogger, **runner_limits()}


def node_workflows() -> tuple[Workflow, ...]:
    """The workflow packages' workflows, first claim first (telemedicine and council sessions plug in here);
    built per node (a workflow keeps its rooms' state), by name again in each media worker."""
    return (Consultation(),)


def _room_service(settings: Settings, clock: Clock, notifier: SocketNotifier,
                  presence: LocalPresence, workflows: Workflows, decisions: HostDecisions,
                  events: EventSink, front: FrontCalls) -> RoomService:
    """Live rooms in media worker processes, or in this process when KONSYLIUM_WORKERS=0; a host's
    removals and ends go to *decisions* (the booking service) from either, what happens in the rooms to
    *events* (the store: the audit chain, the webhooks' outbox), what workflows keep to *front*."""
    media = settings.media_addresses or ()
    config = SfuConfig(addresses=tuple(a.local for a in media),
                       announced=tuple((a.local, a.announced) for a in media if a.announced))
    if settings.workers == 0:
        return LocalRoomService(LiveRooms(Sfu(config), presence, clock, notifier,
                                          reconnect_grace=settings.reconnect_grace, workflows=workflows,
                                          decisions=decisions, events=events, front=front))
    return WorkerRoomService(settings.workers, notifier, presence, media=config,
                             grace=settings.reconnect_grace, log_level=settings.log_level, workflows=workflows,
                             decisions=decisions, events=events, front=front)


def create_app(settings: Settings, clock: Clock | None = None, *, eager: bool = False,
               workflows: Sequence[Workflow] | None = None) -> web.Application:
    """Build the node. The store opens on startup and closes on cleanup.

    *workflows* run the rooms they claim (the rest are plain meetings): the node's (`node_workflows`) unless
    given (tests may pass their own).

    Media workers start with the first room, or at startup when *eager* (``serve``).
    """
    clock = clock or SystemClock()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    secret = settings.secret or token_secret(settings.data_dir)
    store = SqliteRoomStore(Path(settings.data_dir) / STORE_FILE)
    store.purgers = (purge_consultation_details,)
    tokens = JoinTokens(secret, JoinWindow(settings.join_early, settings.join_late), clock)
    presence = LocalPresence()
    keys = _api_keys(settings)
    # Named loggers (not False): python-socketio would add its own unformatted stderr handler.
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=logging.getLogger("socketio.server"),
                               engineio_logger=logging.getLogger("engineio.server"))
    bookings = Bookings(store, clock)  # its revocations are wired below, once the live side exists
    events = QueuedEvents(store)  # live rooms never wait for the disk (signalling/event_queue.py)
    visits = VisitRecords(store, events.flush)  # a consultation's timer totals, outcome and note (telemed)
    front = LocalFrontCalls(visits.front_calls())
    chosen = node_workflows() if workflows is None else workflows
    invites = GuestInvites(store, bookings, clock, settings.public_url)  # one-time links for guests
    rooms = _room_service(settings, clock, SocketNotifier(sio), presence, Workflows(chosen),
                          BookedDecisions(bookings, invites), events, front)
    metrics = NodeMetrics(rooms.totals)
    tasks = BackgroundTasks()
    sockets = SocketApi(sio, rooms, tokens, store, tasks.spawn,
                        lambda event: metrics.signalling_messages.labels(event).inc())
    revocation = LiveRevocation(rooms, sockets, store, tokens.window, clock, tasks.spawn)
    sockets.on_session = revocation.watch
    bookings.revocations = revocation  # removals, cancels and ends (the API's and the hosts') reach live sessions
    outbox = Outbox(store)
    dispatcher = _webhook_sender(settings, store, outbox, clock, metrics)
    store.on_outbox = dispatcher.wake
    node = Node(
        settings=settings,
        clock=clock,
        store=store,
        tokens=tokens,
        bookings=bookings,
        presence=presence,
        metrics=metrics,
        api_keys=keys,
        rooms=rooms,
        sockets=sockets,
        revocation=revocation,
        outbox=outbox,
        webhooks=dispatcher,
        events=events,
        invites=invites,
        retention=Retention(store, settings.retention, clock),
        tasks=tasks,
    )
    front_guard = FrontGuard()
    handshakes = HandshakeGuard(sio, sockets.seated_count)
    app = web.Application(
        middlewares=[metrics.middleware, cors_middleware, problem_middleware, handshakes.middleware,
                     front_guard.middleware],
        client_max_size=MAX_BODY,
    )
    app[NODE] = node
    app[FRONT_GUARD] = front_guard
    views = RoomViews(tokens, settings.public_url)
    web_client = WebClient()
    app.router.add_routes(BookingApi(node.bookings, views, ApiKeys(keys), (PRECHECK_OPENAPI, CLINIC_OPENAPI)).routes())
    app.router.add_routes(FhirApi(node.bookings, views, ApiKeys(keys)).routes())
    app.router.add_routes(PrecheckApi(tokens, node.bookings, PrecheckStore(store), ApiKeys(keys)).routes())
    clinics = ClinicStore(store)
    app.router.add_routes(ClinicApi(clinics, ClinicVisits(bookings, clinics), views, ApiKeys(keys),
                                    DashboardTokens(secret, clock), clock).routes())
    app.router.add_routes(LiveApi(node.bookings, ApiKeys(keys), rooms).routes())
    app.router.add_routes(ConsultationApi(node.bookings, visits, ApiKeys(keys)).routes())
    app.router.add_routes(GuestInviteApi(invites, ApiKeys(keys)).routes())
    app.router.add_routes(RecordingApi(node.bookings, ApiKeys(keys), rooms).routes())
    app.router.add_routes(InvitePage(invites, tokens).routes())
    app.router.add_routes(WebhookApi(WebhookStore(store), ApiKeys(keys), clock, settings.public_url,
                                     allow_private=settings.webhooks_allow_private, wake=dispatcher.wake).routes())
    app.router.add_routes(JoinPage(tokens, store, web_client.page).routes())
    app.router.add_routes(web_client.routes())
    app.router.add_routes(WhipApi(rooms, tokens, store, settings.public_url, revocation.watch).routes())
    sio.attach(app)
    app.router.add_routes(
        [
            web.get("/healthz", _healthz, allow_head=False),
            web.get("/readyz", _readyz, allow_head=False),
            web.get("/metrics", _metrics, allow_head=False),
        ]
    )
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_events_ctx)
    app.cleanup_ctx.append(_webhooks_ctx)
    app.cleanup_ctx.append(_retention_ctx)
    app.cleanup_ctx.append(handshakes.context)
    app.on_shutdown.append(tell_sockets(sio))
    app.cleanup_ctx.append(_media_ctx)
    if eager:
        app.on_startup.append(_start_media)
    if settings.redis_url is not None:
        app.cleanup_ctx.append(_redis_ctx)
    return app


def _webhook_sender(settings: Settings, store: SqliteRoomStore, outbox: Outbox, clock: Clock,
                    metrics: NodeMetrics) -> Dispatcher | DeliveryProcess:
    """Who sends webhooks: a process of their own (the default: the front's loop stays for bookings and
    signalling), or this process's event loop (`Settings.webhooks_process` false, or not delivering)."""
    if settings.webhooks_process and settings.webhooks_deliver:
        return DeliveryProcess(store.path, outbox, allow_private=settings.webhooks_allow_private,
                               log_level=settings.log_level, on_outcome=metrics.webhook_outcome)
    return Dispatcher(outbox, clock, allow_private=settings.webhooks_allow_private,
                      deliver=settings.webhooks_deliver, on_outcome=metrics.webhook_outcome)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[NODE].store
    await store.open()
    log.info("store open path=%s", store.path)
    yield
    await store.close()


async def _events_ctx(app: web.Application) -> AsyncIterator[None]:
    """Live rooms' events still queued are written once the rooms closed, before the store closes."""
    yield
    await app[NODE].events.close()


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The webhook dispatcher runs while the store is open (its cleanup runs before the store's)."""
    dispatcher = app[NODE].webhooks
    await dispatcher.start()
    yield
    await dispatcher.stop()


async def _retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Rooms past their retention are purged while the store is open (rooms.retention)."""
    retention = app[NODE].retention
    retention.start()
    yield
    await retention.stop()


async def _start_media(app: web.Application) -> None:
    await app[NODE].rooms.start()


async def _media_ctx(app: web.Application) -> AsyncIterator[None]:
    """Free every peer connection on shutdown: live rooms, WHEP sessions, the SFU."""
    yield
    node = app[NODE]
    node.revocation.close()
    await node.rooms.close()
    await node.tasks.cancel()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Connect to Redis (used for readiness until multi-node mode is built)."""
    node = app[NODE]
    assert node.settings.redis_url is not None
    node.redis = Redis.from_url(node.settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    yield
    await node.redis.aclose()
    node.redis = None


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    node = request.app[NODE]
    try:
        await node.store.ping()
    except Exception as exc:
        log.warning("not ready: store failed ping (%s)", type(exc).__name__)
        return problem_response(503, "the room store is not reachable")
    if node.redis is not None:
        try:
            await node.redis.ping()
        except (RedisError, OSError) as exc:
            log.warning("not ready: redis failed ping (%s)", type(exc).__name__)
            return problem_response(503, "Redis is not reachable")
    redis = None if node.redis is None else "ok"
    return web.json_response({"status": "ready", "store": "ok", "redis": redis})


async def _metrics(request: web.Request) -> web.Response:
    node = request.app[NODE]
    return await node.metrics.render(node.store, node.presence, node.outbox, node.clock.now())
