"""Real `nocbot serve` processes for fault tests: start, kill -9, restart, and a client that keeps
sending through it all the way a well-behaved alert source does (retry on 503 and refused
connections)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0
    log_path: str | None = None
    """Where the process's log goes (JSON lines), for reading after a failure; nowhere when None."""
    module: str = "bot.cli"
    """What `python -m` runs with the argument `serve`: the command line, or a test's own entry point
    around it (`tests.faults.teams_serve`) for what no setting reaches."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession, within: float = 60.0) -> None:
        env = {"NOCBOT_LOG_LEVEL": "WARNING", **os.environ, **self.env, "NOCBOT_PORT": str(self.port)}
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115, ASYNC230 - tiny, local
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, "serve", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log or asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        if log is not None:
            log.close()
        self.starts += 1
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited at start with {self.process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(self.url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not become healthy")

    async def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, whatever was in flight is cut off."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.kills += 1

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()


async def send(
    session: aiohttp.ClientSession,
    replicas: list[Replica],
    path: str,
    body: Any,
    headers: Mapping[str, str],
    *,
    first: int = 0,
    attempts: int = 200,
) -> int:
    """POST JSON to a replica, moving on to the next one on a refused connection, a reset or a 503,
    as a client behind a load balancer would; returns the final status."""
    return await _post(session, replicas, path, {"json": body}, headers, first, attempts)


async def send_raw(
    session: aiohttp.ClientSession,
    replicas: list[Replica],
    path: str,
    data: str,
    headers: Mapping[str, str],
    *,
    first: int = 0,
    attempts: int = 200,
) -> int:
    """`send` with a body sent as given, byte for byte (a signed Slack request: the signature
    covers the exact body)."""
    return await _post(session, replicas, path, {"data": data.encode()}, headers, first, attempts)


async def _post(
    session: aiohttp.ClientSession,
    replicas: list[Replica],
    path: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    first: int,
    attempts: int,
) -> int:
    for attempt in range(attempts):
        replica = replicas[(first + attempt) % len(replicas)]
        try:
            async with session.post(replica.url + path, headers=headers, **body) as response:
                if response.status != 503:
                    return response.status
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path}: no replica accepted the request")
