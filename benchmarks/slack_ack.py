"""Slack acknowledgement latency: how long a signed button click waits for its HTTP 200.

Slack gives up on an interaction after 3 seconds. This serves the Slack surface on loopback (Bolt
verifying each signature, against the fake Slack Web API in tests/fakes) with an action layer that
takes --action-delay seconds, sends --clicks signed clicks from --concurrency clients, and prints the
acknowledgement latency percentiles. Signing happens before the clock starts; every click must
reach the action layer before the run counts.

    python benchmarks/slack_ack.py --clicks 200 --concurrency 4 --action-delay 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.view import ActionKind, ActionValue
from tests.fakes import slack_signing as signing
from tests.fakes.chat_actions import RecordingActions
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, serve_slack, slack_settings


async def run(clicks: int, concurrency: int, action_delay: float) -> list[float]:
    async with FakeSlack() as fake:
        fake.add_channel("incidents")
        for n in range(20):
            fake.add_user(f"U{n:08d}", f"Responder {n}", groups=["sre-oncall"])
        actions = RecordingActions(delay=action_delay)
        async with serve_slack(slack_settings(fake), actions) as app:
            await _click(app, _request(fake, 0))  # warm up: Bolt's auth.test, the user cache
            await actions.wait_for_calls(1, within=10 + action_delay)
            queue: asyncio.Queue[signing.SignedRequest] = asyncio.Queue()
            for n in range(1, clicks + 1):
                queue.put_nowait(_request(fake, n))
            latencies: list[float] = []

            async def client() -> None:
                while not queue.empty():
                    latencies.append(await _click(app, queue.get_nowait()))

            await asyncio.gather(*(client() for _ in range(concurrency)))
            await actions.wait_for_calls(clicks + 1, within=60 + clicks * action_delay)
            return latencies


def _request(fake: FakeSlack, n: int) -> signing.SignedRequest:
    value = ActionValue(n + 1, 1, ActionKind.ACKNOWLEDGE).encode()
    payload = signing.block_actions_payload(
        action_id="nocbot.acknowledge",
        value=value,
        user_id=f"U{n % 20:08d}",
        response_url=fake.response_url(f"click-{n}"),
    )
    return signing.interactive_request(payload, SIGNING_SECRET)


async def _click(app: SlackApp, request: signing.SignedRequest) -> float:
    started = time.perf_counter()
    response = await app.client.post("/slack/events", data=request.body.encode(), headers=request.headers)
    await response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"click answered {response.status}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--action-delay", type=float, default=0.5, help="seconds the action layer takes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    latencies = np.array(asyncio.run(run(args.clicks, args.concurrency, args.action_delay))) * 1000
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(
        f"{len(latencies)} signed clicks from {args.concurrency} clients; action layer {args.action_delay}s"
    )
    for label, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        print(f"ack latency {label}: {np.percentile(latencies, q):7.2f} ms")
    print(f"ack latency max: {latencies.max():7.2f} ms  (Slack's limit: 3000 ms)")


if __name__ == "__main__":
    main()
