"""Settings: read once from the environment (12-factor) into a frozen object.

Every setting is declared once in `SETTINGS` with its variable, default and meaning; the README's
configuration reference is checked against that table by a test. A bad value fails at start with a
message naming the variable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.pagerduty.settings import PagerDutySettings
from bot.setting_spec import SettingsError, SettingSpec
from bot.slack.settings import SlackSettings
from bot.teams.settings import TeamsSettings

__all__ = ["DEFAULT_DATABASE_URL", "SETTINGS", "SURFACE_SETTINGS", "SettingSpec", "Settings", "SettingsError"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./nocbot.db"


def _text(raw: str) -> str:
    return raw.strip()


def _optional_text(raw: str) -> str | None:
    return raw.strip() or None


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return port


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _bool(raw: str) -> bool:
    key = raw.strip().lower()
    if key in {"1", "true", "yes", "on"}:
        return True
    if key in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def _timezone(raw: str) -> str:
    name = raw.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None
    return name


def _database_url(raw: str) -> str:
    url = raw.strip()
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return url


def _optional_path(raw: str) -> Path | None:
    return Path(raw).expanduser() if raw.strip() else None


def _metric_limits(raw: str) -> tuple[str, ...]:
    from engine.watch import MetricLimit  # the one parser of the syntax; imported when read

    specs = tuple(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())
    for spec in specs:
        MetricLimit.parse(spec)
    return specs


def _paths(raw: str) -> tuple[str, ...]:
    paths = tuple(part.strip() for part in raw.split(",") if part.strip())
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"{path!r} is not an absolute path")
    return paths


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
    return level


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "database_url",
        "NOCBOT_DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "Database: embedded SQLite by default, or postgresql+asyncpg://user@host/db.",
        _database_url,
    ),
    SettingSpec("host", "NOCBOT_HOST", "127.0.0.1", "Address the HTTP server listens on.", _text),
    SettingSpec("port", "NOCBOT_PORT", "8080", "Port the HTTP server listens on.", _port),
    SettingSpec(
        "public_url",
        "NOCBOT_PUBLIC_URL",
        "",
        "URL at which chat users reach this server (links in cards); derived from host/port when empty.",
        _optional_text,
    ),
    SettingSpec(
        "ingest_token",
        "NOCBOT_INGEST_TOKEN",
        "",
        "Bearer token required on the /api/v1 endpoints.",
        _optional_text,
    ),
    SettingSpec(
        "auth_disabled",
        "NOCBOT_AUTH_DISABLED",
        "false",
        "Accept API requests without a token (local use only; refused unless the host is loopback).",
        _bool,
    ),
    SettingSpec(
        "timezone",
        "NOCBOT_TIMEZONE",
        "UTC",
        "The team's time zone: business hours, and 'yesterday' in questions.",
        _timezone,
    ),
    SettingSpec(
        "catalog_path",
        "NOCBOT_CATALOG",
        "",
        "Service catalog YAML (services, owners, tiers, dependencies).",
        _optional_path,
    ),
    SettingSpec(
        "playbooks_dir", "NOCBOT_PLAYBOOKS_DIR", "", "Directory of playbook YAML files.", _optional_path
    ),
    SettingSpec(
        "playbook_commands",
        "NOCBOT_PLAYBOOK_COMMANDS",
        "",
        "Absolute paths of the executables playbook command steps may run (comma-separated); "
        "empty: no command step can run.",
        _paths,
    ),
    SettingSpec(
        "max_body_bytes",
        "NOCBOT_MAX_BODY_BYTES",
        str(8 * 1024 * 1024),
        "Largest request body accepted; larger ones get 413.",
        _positive_int,
    ),
    SettingSpec(
        "max_batch_items",
        "NOCBOT_MAX_BATCH_ITEMS",
        "50000",
        "Most alerts, points or changes accepted in one request; more get 413.",
        _positive_int,
    ),
    SettingSpec(
        "metric_limits",
        "NOCBOT_METRIC_LIMITS",
        "",
        "Limits to predict breaches of, e.g. disk_used_percent>=95,pool_free<=0 (comma-separated).",
        _metric_limits,
    ),
    SettingSpec(
        "detector_process",
        "NOCBOT_DETECTOR_PROCESS",
        "true",
        "Score metric points in a worker process of their own, on another core beside the web "
        "server (false: in the server process, for one-core machines).",
        _bool,
    ),
    SettingSpec(
        "link_secret",
        "NOCBOT_LINK_SECRET",
        "",
        "Secret that makes chart links unguessable; set it (the same on every replica) so links "
        "survive restarts. Empty: a random one per process.",
        _optional_text,
    ),
    SettingSpec("log_level", "NOCBOT_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR.", _log_level),
    SettingSpec(
        "outbox_lease",
        "NOCBOT_OUTBOX_LEASE",
        "60",
        "Seconds a replica holds an outbox delivery it took before another may retry it (longer than "
        "any one delivery, Slack's and Teams' own retries included).",
        _positive_int,
    ),
    SettingSpec(
        "playbook_lease",
        "NOCBOT_PLAYBOOK_LEASE",
        "30",
        "Seconds a replica holds a playbook run without renewing it (it renews every third of that) "
        "before another replica takes the run over; a takeover waits this long after a crash.",
        _positive_int,
    ),
    SettingSpec(
        "shutdown_timeout",
        "NOCBOT_SHUTDOWN_TIMEOUT",
        "30",
        "Seconds SIGTERM waits for in-flight requests before exit.",
        _positive_int,
    ),
)


# fields of Settings that hold a surface's or integration's own settings object
SURFACE_SETTINGS = ("slack", "pagerduty", "teams")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    ingest_token: str | None = None
    auth_disabled: bool = False
    timezone: str = "UTC"
    catalog_path: Path | None = None
    playbooks_dir: Path | None = None
    playbook_commands: tuple[str, ...] = ()
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch_items: int = 50000
    metric_limits: tuple[str, ...] = ()
    detector_process: bool = True
    link_secret: str | None = None
    log_level: str = "INFO"
    outbox_lease: int = 60
    playbook_lease: int = 30
    shutdown_timeout: int = 30
    # each chat surface and external system parses its own settings (own spec table, own module)
    slack: SlackSettings = field(default_factory=SlackSettings)
    pagerduty: PagerDutySettings = field(default_factory=PagerDutySettings)
    teams: TeamsSettings = field(default_factory=TeamsSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            raw = environ.get(spec.env, spec.default)
            try:
                values[spec.field] = spec.parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{spec.env}={raw!r}: {exc}") from None
        values["slack"] = SlackSettings.from_env(environ)
        values["pagerduty"] = PagerDutySettings.from_env(environ)
        values["teams"] = TeamsSettings.from_env(environ)
        return cls(**values)

    def check_serving(self) -> None:
        """Rules for running the server, which offline commands (migrate, import, ask) do not need."""
        if not self.auth_disabled and not self.ingest_token:
            raise SettingsError(
                "NOCBOT_INGEST_TOKEN is empty: set a token, or NOCBOT_AUTH_DISABLED=true for local use"
            )
        if self.auth_disabled and not is_loopback(self.host):
            raise SettingsError(
                f"NOCBOT_AUTH_DISABLED=true is only allowed on a loopback host, not NOCBOT_HOST={self.host!r}"
            )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


def is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")
