"""The composition root: `create_app(settings)` builds the whole service.

Resources (the database, later chat clients and workers) are opened and closed in `cleanup_ctx`,
so tests, `nocbot serve` and `nocbot demo` all get the same wiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot.action_layer import ActionLayer
from bot.cards import StoredCardViews
from bot.console.routes import install_console
from bot.escalation_actions import ChatEscalation
from bot.feed import install_feed
from bot.http import chart_routes, ingest_routes, ops_routes, read_routes, responder_routes, silence_routes
from bot.http.links import LinkSigner
from bot.http.middleware import bearer_auth, json_errors, request_context
from bot.keys import (
    ACTIONS,
    CARDS,
    CATALOG,
    CLOCK,
    DELIVERERS,
    DETECTOR_PARTITIONS,
    ENRICHMENT,
    FORECASTER,
    INGEST,
    KNOWN_SERIES,
    LINKS,
    OUTBOX,
    PLAYBOOKS,
    RESPONDERS,
    SCORER,
    SETTINGS,
    STORE,
    TELEMETRY,
    TIMELINE,
)
from bot.pagerduty.keys import ESCALATION
from bot.pagerduty.wiring import install_pagerduty, pagerduty_deliverer
from bot.playbook_actions import ChatPlaybooks
from bot.settings import Settings
from bot.slack.wiring import install_slack
from bot.teams.auth import TeamsEndpoints
from bot.teams.wiring import install_teams
from bot.telemetry import Telemetry
from engine.catalog import Catalog, load_catalog
from engine.clock import Clock, SystemClock
from engine.clustering.config import ClusteringConfig
from engine.clustering.correlator import AlertCorrelator
from engine.detector_host import DetectorHost, DetectorProcess, InProcessDetector
from engine.detector_ownership import Ownership
from engine.detector_partitions import DetectorPartitions
from engine.enrichment_worker import EnrichmentWorker
from engine.forecast_watch import IncidentForecaster
from engine.ingest import QUEUE_BATCH, IngestService
from engine.outbox import OutboxPolicy, OutboxWorker
from engine.playbook_runs import PlaybookRuns
from engine.playbooks import PlaybookLibrary, load_library
from engine.playbooks.matching import facts_of
from engine.responders import Responders
from engine.scoring import DEFAULT_MODEL_PATH
from engine.scoring_service import load_active_scorer
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.leadership import Leadership
from engine.storage.records import IncidentDetail
from engine.storage.rollup_rows import run_rollups
from engine.storage.store import Store
from engine.timeline import Timeline
from engine.watch import MetricLimit, MetricWatch
from integrations.pagerduty import DESTINATION as PAGERDUTY
from integrations.playbook_steps import PlaybookExecutors
from integrations.point_body import KnownSeries
from nlq.answer import Answer, answer

log = logging.getLogger("nocbot")

TICK_SECONDS = 30
FORECAST_SECONDS = 300  # the forecaster's sampling step: it was trained on 5-minute samples
OUTBOX_DRAIN_SECONDS = 10.0
DECIDER_POLL_SECONDS = 0.1  # how soon a batch queued by another replica is decided
DECIDER_CHECK_SECONDS = 1.0  # how soon a replica takes over when the decider is gone
DETECTOR_SAVE_SECONDS = 60
DETECTOR_SHUTDOWN_BUDGET = 20.0
DETECTION_SHUTDOWN_BUDGET = 10.0  # a full backlog is detected in well under a second


def create_app(
    settings: Settings, *, clock: Clock | None = None, teams_endpoints: TeamsEndpoints | None = None
) -> web.Application:
    """`clock` and `teams_endpoints` (Microsoft's identity services) are for tests and fakes."""
    settings.check_serving()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_context, json_errors, bearer_auth],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[TELEMETRY] = Telemetry()
    app[LINKS] = LinkSigner(
        settings.link_secret.encode() if settings.link_secret else secrets.token_bytes(32)
    )
    app[KNOWN_SERIES] = KnownSeries()
    app[CATALOG] = load_catalog(settings.catalog_path) if settings.catalog_path else Catalog.empty()
    app[DELIVERERS] = {}
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_deciding)
    app.cleanup_ctx.append(_incident_clock)
    app.cleanup_ctx.append(_enrichment)
    app.cleanup_ctx.append(_detector_state)
    app.cleanup_ctx.append(_rollups)
    app.cleanup_ctx.append(_forecasting)
    install_pagerduty(app, settings.pagerduty)
    app.cleanup_ctx.append(_playbooks)
    app.cleanup_ctx.append(_chat)
    # surfaces open after the action layer (they act through it) and register their deliverers;
    # the outbox opens last so that it closes first, before the surfaces it delivers through
    install_slack(app, settings.slack, lambda app: app[ACTIONS])
    install_teams(app, settings.teams, lambda app: app[ACTIONS], endpoints=teams_endpoints)
    app.cleanup_ctx.append(_outbox)
    install_feed(app)
    install_console(app)
    app.add_routes(ingest_routes.routes)
    app.add_routes(read_routes.routes)
    app.add_routes(ops_routes.routes)
    app.add_routes(silence_routes.routes)
    app.add_routes(chart_routes.routes)
    app.add_routes(responder_routes.routes)
    return app


async def _deciding(app: web.Application) -> AsyncIterator[None]:
    """With several replicas one decides (a PostgreSQL session lock): the others queue their alert
    batches for it. The decider drains that queue and learns the change events others stored."""
    ingest = app[INGEST]
    leadership = Leadership(app[STORE].engine)
    ingest.deciding = await leadership.refresh()
    ingest.queue_when_busy = True  # the loop below decides what it queues
    stop = asyncio.Event()

    async def loop() -> None:
        clock = asyncio.get_running_loop().time
        next_check = next_sync = clock()
        failing = False
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0 if failing else DECIDER_POLL_SECONDS)
            try:
                if clock() >= next_check:
                    ingest.deciding = await leadership.refresh()
                    next_check = clock() + DECIDER_CHECK_SECONDS
                if ingest.deciding:
                    while await ingest.decide_queued() == QUEUE_BATCH and clock() < next_check:
                        pass
                    if clock() >= next_sync:
                        await ingest.sync_changes()
                        next_sync = clock() + DECIDER_CHECK_SECONDS
            except Exception:
                if not failing:
                    log.warning("deciding on queued alerts failed", exc_info=True)
                failing = True
            else:
                failing = False

    task = asyncio.create_task(loop(), name="decider")
    yield
    stop.set()
    await asyncio.gather(task, return_exceptions=True)
    await leadership.close()


async def _incident_clock(app: web.Application) -> AsyncIterator[None]:
    """Closes incidents that went quiet even when no alert arrives to move the clock."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await app[INGEST].tick()
            except Exception:
                log.exception("incident clock tick failed")

    task = asyncio.create_task(loop(), name="incident-clock")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _enrichment(app: web.Application) -> AsyncIterator[None]:
    worker = EnrichmentWorker(app[STORE], app[CATALOG], app[CLOCK], app[TIMELINE])
    app[INGEST].subscribe(worker.incidents_changed)
    app[ENRICHMENT] = worker
    task = asyncio.create_task(worker.run(), name="enrichment")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _detector_state(app: web.Application) -> AsyncIterator[None]:
    """Splits the metric series between replicas (each detected once) and saves what the detector
    learned, so a restart or a take-over resumes every baseline where it was."""
    ingest = app[INGEST]
    detection = ingest.detection
    if ingest.watch is None or detection is None:
        yield
        return
    detection.subscribe(app[TELEMETRY].detected)
    partitions = DetectorPartitions(ingest.store, ingest.watch, ingest.alerts)
    await partitions.start()
    app[DETECTOR_PARTITIONS] = partitions
    stop = asyncio.Event()

    async def save_periodically() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), DETECTOR_SAVE_SECONDS)
            try:
                await partitions.save()
            except Exception:
                log.exception("saving detector state failed")

    tasks = [
        asyncio.create_task(partitions.run(stop), name="detector-partitions"),
        asyncio.create_task(save_periodically(), name="detector-state"),
    ]
    yield
    # requests are drained by now: what they stored is detected before the state is saved
    try:
        await asyncio.wait_for(detection.settled(), DETECTION_SHUTDOWN_BUDGET)
    except TimeoutError:
        log.warning("point batches left undetected at shutdown", extra={"batches": detection.backlog})
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    try:
        await partitions.close(DETECTOR_SHUTDOWN_BUDGET)
    except Exception:
        log.exception("giving back detector partitions at shutdown failed")


async def _rollups(app: web.Application) -> AsyncIterator[None]:
    """Raw points → 5 min → 1 h → 1 day, and retention; one replica at a time (a database lock)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_rollups(app[STORE].engine, app[CLOCK], stop=stop), name="rollups")
    yield
    stop.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _forecasting(app: web.Application) -> AsyncIterator[None]:
    """The 30-minute incident forecast, made by the deciding replica only (one alarm per service)."""
    forecaster = IncidentForecaster(app[STORE].engine, app[CLOCK])
    app[FORECASTER] = forecaster

    async def loop() -> None:
        while True:
            await asyncio.sleep(FORECAST_SECONDS)
            if not app[INGEST].deciding:
                continue
            try:
                await forecaster.run_once()
            except Exception:
                log.exception("incident forecast failed")

    task = asyncio.create_task(loop(), name="incident-forecast")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def chat_surfaces(settings: Settings) -> tuple[str, ...]:
    """The surfaces that show incident cards, in the order they are drawn."""
    return tuple(
        name for name, on in (("slack", settings.slack.enabled), ("teams", settings.teams.enabled)) if on
    )


async def _outbox(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as session:
        deliverers = app[DELIVERERS]
        if settings.pagerduty.enabled:
            deliverers[PAGERDUTY] = pagerduty_deliverer(settings.pagerduty, session)
        policy = OutboxPolicy(lease=timedelta(seconds=settings.outbox_lease))
        worker = OutboxWorker(app[STORE], app[CLOCK], deliverers, policy)
        app[OUTBOX] = worker
        app[INGEST].subscribe(lambda _changes: worker.wake())
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop), name="outbox")
        yield
        stop.set()
        try:
            await asyncio.wait_for(task, OUTBOX_DRAIN_SECONDS)
        except TimeoutError:
            log.warning("outbox still delivering at shutdown; the rest goes out after the restart")


async def _playbooks(app: web.Application) -> AsyncIterator[None]:
    """Playbook runs: requested and approved from chat, run here step by step, resumed after a crash."""
    settings, store, clock = app[SETTINGS], app[STORE], app[CLOCK]
    library = (
        load_library(settings.playbooks_dir, allowed_commands=settings.playbook_commands)
        if settings.playbooks_dir
        else PlaybookLibrary()
    )
    escalation = ChatEscalation(app[ESCALATION]) if settings.pagerduty.enabled else None
    async with aiohttp.ClientSession() as session:
        runs = PlaybookRuns(
            store,
            clock,
            library,
            PlaybookExecutors(session, store, clock, allowed_commands=settings.playbook_commands),
            app[TIMELINE],
            escalate=escalation.for_playbook if escalation is not None else None,
            resolve=app[RESPONDERS].auto_resolve,
            # only what a playbook names as {{ secrets.NAME }} is ever read from it
            secrets=dict(os.environ),
            lease=timedelta(seconds=settings.playbook_lease),
        )
        app[PLAYBOOKS] = runs
        await runs.resume_interrupted()
        stop = asyncio.Event()
        task = asyncio.create_task(runs.run_worker(stop), name="playbooks")
        yield
        stop.set()
        await task
        await runs.close()


async def _chat(app: web.Application) -> AsyncIterator[None]:
    """The one action layer and the card views every surface draws from."""
    settings, store, clock = app[SETTINGS], app[STORE], app[CLOCK]
    runs = app[PLAYBOOKS]

    def playbooks_for(detail: IncidentDetail) -> list[str]:
        alerts = [stored.alert for stored in detail.alerts]
        facts = facts_of(alerts, detail.incident.services)
        return runs.library.matching(facts.labels, sorted(facts.services), sorted(facts.alertnames))

    app[CARDS] = StoredCardViews(
        store,
        clock,
        links=app[LINKS],
        base_url=settings.base_url,
        tz=ZoneInfo(settings.timezone),
        playbooks=playbooks_for,
        can_escalate=settings.pagerduty.enabled,
    )

    async def ask(question: str) -> Answer:
        return await answer(question, store.engine, clock.now(), settings.timezone)

    app[ACTIONS] = ActionLayer(
        app[RESPONDERS],
        app[INGEST],
        clock,
        ask=ask,
        playbooks=ChatPlaybooks(runs),
        escalation=ChatEscalation(app[ESCALATION]) if settings.pagerduty.enabled else None,
    )
    yield


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = open_engine(settings.database_url)
    # a worker process is started at the first points, and stopped last (after the state is saved)
    detector: DetectorHost = DetectorProcess() if settings.detector_process else InProcessDetector()
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            # the active trained model, else the shipped one; a model that exists but cannot be used
            # stops the start rather than silently scoring by rules
            scorer = await load_active_scorer(conn, fallback_path=DEFAULT_MODEL_PATH)
        app[SCORER] = scorer
        store = Store(engine)
        app[STORE] = store
        catalog = app[CATALOG]
        timeline = Timeline(chat_surfaces(settings))
        app[TIMELINE] = timeline
        ingest = IngestService(
            store,
            app[CLOCK],
            lambda ids: AlertCorrelator(ClusteringConfig(), catalog, ids=ids),
            scorer=scorer,
            catalog=catalog,
            team_timezone=ZoneInfo(settings.timezone),
            watch=MetricWatch(
                limits=tuple(MetricLimit.parse(spec) for spec in settings.metric_limits),
                ownership=Ownership(),
                detector=detector,
            ),
            timeline=timeline,
        )
        await ingest.start()
        app[INGEST] = ingest
        app[RESPONDERS] = Responders(ingest)
        log.info("database ready", extra={"backend": engine.dialect.name})
        yield
    finally:
        await detector.close()
        await engine.dispose()
