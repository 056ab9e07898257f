"""`nocbot serve` as a real process: starts, serves, logs JSON lines, and exits cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited early: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def test_serve_handles_requests_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "NOCBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'n.db'}",
        "NOCBOT_INGEST_TOKEN": "tok",
        "NOCBOT_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        request = urllib.request.Request(
            url + "/api/v1/alerts",
            data=json.dumps({"name": "DiskFull", "severity": "warning"}).encode(),
            headers={"Authorization": "Bearer tok", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["new"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log_lines = (
        [line for line in process.stderr.read().decode().splitlines() if line.startswith("{")]
        if process.stderr
        else []
    )
    entries = [json.loads(line) for line in log_lines]
    requests = [e for e in entries if e.get("msg") == "request" and e.get("path") == "/api/v1/alerts"]
    assert requests and requests[0]["status"] == 200 and requests[0]["request_id"]


def test_bad_setting_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "NOCBOT_PORT": "not-a-port", "NOCBOT_INGEST_TOKEN": "t"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert b"NOCBOT_PORT" in result.stderr
