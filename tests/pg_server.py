"""Finding a PostgreSQL for the tests: NOCBOT_TEST_DATABASE_URL, else a throwaway server.

The throwaway server is started from the installed PostgreSQL binaries in a temporary directory (as
pytest-postgresql does), so the suite passes on any machine with PostgreSQL installed, running or not.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

INSTALL_HINT = (
    "PostgreSQL is needed for the integration tests: install it (Debian/Ubuntu: apt-get install "
    "postgresql; macOS: brew install postgresql) or set NOCBOT_TEST_DATABASE_URL="
    "postgresql+asyncpg://user@host:port/db"
)


@dataclass(frozen=True)
class PgServer:
    """A server the tests may create databases on; `url(db)` gives an asyncpg SQLAlchemy URL."""

    host: str
    port: int
    user: str
    password: str | None
    admin_database: str
    control: Callable[[str], None] | None = None
    """Run `pg_ctl <action>` ("stop" / "start") on a server the suite started itself; None for a
    configured server, which the suite must not stop."""

    def url(self, database: str) -> str:
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql+asyncpg://{auth}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return self.url(database).replace("postgresql+asyncpg://", "postgresql://")


@contextlib.contextmanager
def postgres_server() -> Iterator[PgServer]:
    configured = os.environ.get("NOCBOT_TEST_DATABASE_URL")
    if configured:
        url = make_url(configured)
        yield PgServer(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            admin_database=url.database or "postgres",
        )
        return
    bindir = _find_bindir()
    if bindir is None:
        raise RuntimeError(INSTALL_HINT)
    with _throwaway_server(bindir) as server:
        yield server


def _find_bindir() -> Path | None:
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            candidates.append(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += sorted(glob.glob("/usr/local/opt/postgresql*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


@contextlib.contextmanager
def _throwaway_server(bindir: Path) -> Iterator[PgServer]:
    root = Path(tempfile.mkdtemp(prefix="nocbot-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root; use the postgres system account when there is one
        if shutil.which("runuser") is None or _uid_of("postgres") is None:
            raise RuntimeError("running as root without a 'postgres' account; " + INSTALL_HINT)
        shutil.chown(root, user="postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, sockets, logfile = root / "data", root / "sock", root / "server.log"
    port = _free_port()
    try:
        _run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        _run([*run_as, "mkdir", "-p", str(sockets)])
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        _run(
            [
                *run_as,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(logfile),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

        def control(action: str) -> None:
            ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
            if action == "stop":
                _run([*ctl, "-m", "fast", "stop"])
            elif action == "start":
                _run([*ctl, "-o", options, "-l", str(logfile), "start"])
            else:
                raise ValueError(action)

        yield PgServer(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password=None,
            admin_database="postgres",
            control=control,
        )
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}")


def _uid_of(user: str) -> int | None:
    try:
        import pwd

        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
