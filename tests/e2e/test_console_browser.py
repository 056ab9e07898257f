"""The web console in a real browser: headless Chromium (Debian's package) driven by Playwright.

The server runs in-process on a free port with a temporary SQLite database; alerts arrive through
the HTTP API as from any monitoring system, and the page must show them without being reloaded.
A screenshot of the channel is written to tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.app import create_app
from bot.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TOKEN = "browser-test-token"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        ingest_token=TOKEN,
        host="127.0.0.1",
        port=port,
    )
    runner = web.AppRunner(create_app(settings), shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # the system's Chromium: never a browser downloaded by Playwright
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        await launched.close()


async def send_alert(base: str, name: str, service: str) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{base}/api/v1/alerts",
            json={"name": name, "severity": "critical", "labels": {"service": service}},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status == 200, await response.text()


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/console")
    await expect(page).to_have_url(f"{base}/console/login")
    await page.fill("input[name=name]", "alice")
    await page.fill("input[name=token]", TOKEN)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{base}/console")


async def test_incident_appears_live_is_acknowledged_and_a_question_returns_a_table(
    server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: problems.append(response.url) if response.status >= 400 else None)
    await sign_in(page, server)
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await expect(page.locator("#cards .empty")).to_be_visible()

    await send_alert(server, "CheckoutLatencyHigh", "checkout")
    card = page.locator('article.nocbot-incident[data-incident="1"]')
    await expect(card).to_be_visible(timeout=10_000)  # pushed over the event stream, no reload
    await expect(card.locator("h2")).to_contain_text("CheckoutLatencyHigh")
    await expect(card).to_have_class(_classes_with("status-open"))
    await expect(page.locator("#events li").first).to_be_visible()

    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card.locator(".outcome")).to_contain_text("acknowledged by alice")
    await expect(card).to_have_class(_classes_with("status-acknowledged"))
    await expect(card.get_by_role("button", name="Acknowledge")).to_have_count(0)

    await page.fill("#question", "number of incidents by priority today")
    await page.click("#ask-form button[type=submit]")
    table = page.locator("#answer table.result")
    await expect(table).to_be_visible(timeout=10_000)
    await expect(table.locator("th")).to_have_count(2)
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("#answer details.sql pre")).to_contain_text("SELECT")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-channel.png"), full_page=True)
    assert problems == []


async def test_overview_draws_its_charts(server: str, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, server)
    await send_alert(server, "DiskFull", "db")
    await page.goto(f"{server}/console/overview")
    await expect(page.locator("svg.chart")).to_have_count(4)
    await expect(page.locator(".tiles")).to_contain_text("Alerts")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-overview.png"), full_page=True)


def _classes_with(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")
