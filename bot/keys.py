"""Typed keys of everything `create_app` puts on the application."""

from __future__ import annotations

from aiohttp import web

from bot.actions import ChatActions
from bot.cards import CardViews
from bot.http.links import LinkSigner
from bot.settings import Settings
from bot.telemetry import Telemetry
from engine.catalog import Catalog
from engine.clock import Clock
from engine.detector_partitions import DetectorPartitions
from engine.enrichment_worker import EnrichmentWorker
from engine.forecast_watch import IncidentForecaster
from engine.ingest import IngestService
from engine.outbox import Deliverer, OutboxWorker
from engine.playbook_runs import PlaybookRuns
from engine.responders import Responders
from engine.scoring import PriorityScorer
from engine.storage.store import Store
from engine.timeline import Timeline
from integrations.point_body import KnownSeries

SETTINGS = web.AppKey("settings", Settings)
CATALOG = web.AppKey("catalog", Catalog)
LINKS = web.AppKey("links", LinkSigner)
SCORER = web.AppKey("scorer", PriorityScorer)
CLOCK = web.AppKey("clock", Clock)
TELEMETRY = web.AppKey("telemetry", Telemetry)
STORE = web.AppKey("store", Store)
INGEST = web.AppKey("ingest", IngestService)
DETECTOR_PARTITIONS = web.AppKey("detector_partitions", DetectorPartitions)
FORECASTER = web.AppKey("forecaster", IncidentForecaster)
ENRICHMENT = web.AppKey("enrichment", EnrichmentWorker)
RESPONDERS = web.AppKey("responders", Responders)
KNOWN_SERIES = web.AppKey("known_series", KnownSeries)
ACTIONS = web.AppKey("actions", ChatActions)
"""The one action layer (bot.actions): Slack, Teams and the console all act through it."""
CARDS = web.AppKey("cards", CardViews)
TIMELINE = web.AppKey("timeline", Timeline)
OUTBOX = web.AppKey("outbox", OutboxWorker)
DELIVERERS = web.AppKey("deliverers", dict[str, Deliverer])
"""Outbox destination → deliverer; each surface's cleanup context registers its own."""
PLAYBOOKS = web.AppKey("playbooks", PlaybookRuns)
