"""Schemathesis against the app's own OpenAPI document: every documented operation, fuzzed from its
schema (valid and invalid requests). Each response must be no 5xx, a documented status code, and of
the documented content type, headers and schema; a rejected request stores nothing; the service
logs no error (an exception swallowed into a 500, or one in a background task).

The app runs on a loopback port in a thread with its own event loop: schemathesis sends its
requests synchronously (requests), which would block the loop of an aiohttp test server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import requests
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import create_app
from bot.console.session import COOKIE, session_cookie
from bot.http.ops_routes import openapi_document
from bot.keys import CLOCK, STORE
from bot.pagerduty.routes import WEBHOOK_PATH
from bot.pagerduty.settings import PagerDutySettings
from bot.settings import Settings
from engine.clock import FixedClock
from engine.storage.schema import alerts, change_events, metric_points, silences
from integrations.pagerduty import SIGNATURE_HEADER, signature
from tests.conftest import TOKEN

T = TypeVar("T")

# small and fixed: the module runs in well under a minute on two cores, and CI sees the same cases
MAX_EXAMPLES = 15
SEED = 20261111
# what the write endpoints store; a rejected request must leave these counts as they were
WRITTEN = (alerts, metric_points, change_events, silences)
PAGERDUTY_SECRET = "fuzz-secret"

CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    # Whether a request the document calls valid is accepted, or one it calls invalid refused, is
    # about how exactly the request schemas describe the validation: the server is stricter than
    # the shapes (non-empty names, at least one matcher) and lenient on fields it ignores. Robustness
    # is what is checked here; the handlers' own tests pin their validation.
    "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
    # the event feeds stay open: read each for half a second, and fuzz them less
    "operations": [
        {"include-path-regex": "/events$", "request-timeout": 0.5, "generation": {"max-examples": 4}}
    ],
}

# The document the app serves (GET /api/v1/openapi.json answers exactly this, checked below). It is
# loaded here rather than from the running app because schemathesis' fixture-based (lazy) schema
# does not run under pytest 9.2 (it sets the removed `Node._nodeid`).
schema = schemathesis.openapi.from_dict(openapi_document(), config=schemathesis.Config.from_dict(CONFIG))


class LiveApp:
    """The app served on 127.0.0.1 from a thread of its own, for a synchronous HTTP client."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-app", daemon=True)

    @property
    def app(self) -> web.Application:
        return self.server.app

    def __enter__(self) -> LiveApp:
        self.thread.start()
        try:
            self.run(self.server.start_server())
        except BaseException:
            self._stop_loop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.run(self.server.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def credentials(self) -> dict[str, str]:
        """The ingest token for /api, a signed-in console session for /console."""
        cookie = session_cookie(self.settings, "fuzzer", self.app[CLOCK].now())
        return {"Authorization": f"Bearer {TOKEN}", "Cookie": f"{COOKIE}={cookie}"}

    def stored(self) -> int:
        async def count() -> int:
            async with self.app[STORE].engine.connect() as conn:
                total = 0
                for table in WRITTEN:
                    total += int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
                return total

        return self.run(count())


class ErrorLog(logging.Handler):
    """On the root logger: nocbot's own errors, aiohttp's, and asyncio's unretrieved task exceptions."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    # SQLite only: this is about the HTTP contract, which both backends serve alike
    path = tmp_path_factory.mktemp("fuzz") / "nocbot.db"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        ingest_token=TOKEN,
        pagerduty=PagerDutySettings(webhook_secrets=(PAGERDUTY_SECRET,)),
    )
    with LiveApp(settings, FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))) as live:
        yield live


@pytest.fixture(scope="module")
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logger = logging.getLogger()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_the_fuzzed_document_is_the_served_one(live: LiveApp) -> None:
    response = requests.get(live.url("/api/v1/openapi.json"), timeout=10)
    assert response.status_code == 200
    assert response.json() == schema.raw_schema


def signed_body(case: schemathesis.Case[Any]) -> dict[str, Any]:
    """A PagerDuty delivery that carries a signature header gets a valid one, so that the fuzzed
    body gets past the signature to the parser; one generated without the header stays unsigned."""
    if case.path != WEBHOOK_PATH or SIGNATURE_HEADER not in (case.headers or {}):
        return {}
    try:
        body = json.dumps(case.body).encode()
    except TypeError:  # no body, or not one JSON can carry: sent as generated
        return {}
    assert case.headers is not None
    case.headers[SIGNATURE_HEADER] = signature(body, PAGERDUTY_SECRET)
    return {"data": body}


@schema.parametrize()
def test_every_operation(case: schemathesis.Case[Any], live: LiveApp, errors: ErrorLog) -> None:
    before, logged = live.stored(), len(errors.records)
    response = case.call_and_validate(base_url=live.url("/"), headers=live.credentials(), **signed_body(case))
    if response.status_code >= 400:
        assert live.stored() == before, "a rejected request stored something"
    assert not errors.records[logged:], [record.getMessage() for record in errors.records[logged:]]


# --- what the fuzzing (and probing around it) found, pinned -----------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("multipart/form-data", b"name=a&token=b", 415),  # no boundary: aiohttp raised, a 500
        ("multipart/form-data; boundary=xx", b"garbage", 415),
        ("application/x-www-form-urlencoded", b"name=\xff&token=b", 400),  # not UTF-8
        ("application/x-www-form-urlencoded; charset=nope", b"name=a&token=b", 400),  # unknown charset
    ],
)
def test_a_sign_in_form_that_cannot_be_read_is_a_4xx(
    live: LiveApp, content_type: str, body: bytes, status: int
) -> None:
    response = requests.post(
        live.url("/console/login"), data=body, headers={"Content-Type": content_type}, timeout=10
    )
    assert response.status_code == status, response.text


@pytest.mark.parametrize("path", ["/console/actions", "/console/questions"])
def test_console_json_with_an_unknown_charset_is_read_as_utf8(live: LiveApp, path: str) -> None:
    # request.json() decoded with the named charset and raised LookupError, a 500
    response = requests.post(
        live.url(path),
        data=b'{"question": 1}',
        headers={**live.credentials(), "Content-Type": "application/json; charset=nope"},
        timeout=10,
    )
    assert response.status_code == 400 and "error" in response.json()


def test_a_refused_responder_action_answers_in_the_error_shape(live: LiveApp) -> None:
    # the outcome alone ({"result", "message"}) did not match the documented Error body
    merged = requests.post(
        live.url("/api/v1/incidents/41/merge"),
        json={"actor": "ana", "into": 42},
        headers=live.credentials(),
        timeout=10,
    )
    assert merged.status_code == 400
    assert merged.json()["result"] == "invalid" and merged.json()["error"] == merged.json()["message"]
    missing = requests.post(
        live.url("/api/v1/incidents/41/acknowledge"),
        json={"actor": "ana"},
        headers=live.credentials(),
        timeout=10,
    )
    assert missing.status_code == 404 and missing.json()["error"]
