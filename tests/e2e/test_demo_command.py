"""`nocbot demo` as a real process: serves, replays, opens incidents, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.test_serve_process import free_port


def test_demo_replays_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOCBOT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--speed", "600"],
        cwd=tmp_path,  # the fresh database goes to ./.demo
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/api/v1/incidents?origin=nocbot"
    try:
        deadline = time.monotonic() + 60
        incidents: list[dict[str, object]] = []
        while time.monotonic() < deadline and not incidents:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    incidents = json.loads(response.read())["items"]
            except OSError:
                pass
            time.sleep(0.2)
        assert incidents, "no incident within 60 s"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"Traceback" not in out
    assert f"http://127.0.0.1:{port}/console".encode() in out
    assert b"nocbot demo stopped." in out
    assert (tmp_path / ".demo" / "nocbot.db").exists()
