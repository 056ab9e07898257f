"""PagerDuty: routing keys (Events API v2 integration keys) and webhook signing secrets, by format."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from bot.doctor.findings import Finding, ok, problem, skipped, warning

AREA = "pagerduty"
ROUTING_KEYS = "NOCBOT_PAGERDUTY_ROUTING_KEYS"
SECRETS = "NOCBOT_PAGERDUTY_WEBHOOK_SECRETS"
EVENTS_URL = "NOCBOT_PAGERDUTY_EVENTS_URL"
_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
KEY_FIX = (
    "use the Integration Key of an 'Events API v2' integration (PagerDuty → Service → Integrations): "
    "32 letters and digits"
)


def is_routing_key(text: str) -> bool:
    return _KEY.match(text) is not None


async def check_pagerduty(environ: Mapping[str, str]) -> list[Finding]:
    keys = environ.get(ROUTING_KEYS, "").strip()
    secrets = environ.get(SECRETS, "").strip()
    events_url = environ.get(EVENTS_URL, "").strip()
    if not (keys or secrets or events_url):
        return [skipped(AREA, f"PagerDuty is off ({ROUTING_KEYS} is not set)")]
    findings = _routing_keys(keys) + _secrets(secrets, bool(keys))
    if events_url:
        parts = urlsplit(events_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            findings.append(
                problem(
                    AREA, f"{EVENTS_URL}={events_url!r} is not a URL", "leave it empty for PagerDuty's own"
                )
            )
    return findings


def _routing_keys(raw: str) -> list[Finding]:
    if not raw:
        return [
            warning(
                AREA,
                f"{ROUTING_KEYS} is empty: nocbot will not page anyone",
                f"set it, e.g. default=<key>;payments=<key> ({KEY_FIX})",
            )
        ]
    findings: list[Finding] = []
    names: list[str] = []
    for number, part in enumerate((p.strip() for p in raw.split(";") if p.strip()), 1):
        name, equals, key = (piece.strip() for piece in part.partition("="))
        if not equals or not name:
            findings.append(
                problem(
                    AREA,
                    f"{ROUTING_KEYS}: entry {number} is not NAME=KEY",
                    "e.g. default=<key>;payments=<key>",
                )
            )
        elif not is_routing_key(key):
            findings.append(
                problem(
                    AREA, f"{ROUTING_KEYS}: the key for {name!r} is {len(key)} characters, not 32", KEY_FIX
                )
            )
        else:
            names.append(name)
    if not findings:
        findings.append(ok(AREA, f"routing keys well formed for: {', '.join(names)}"))
    return findings


def _secrets(raw: str, paging: bool) -> list[Finding]:
    if not raw and not paging:
        return []
    if not raw:
        return [
            warning(
                AREA,
                f"{SECRETS} is empty: acknowledgements and resolutions in PagerDuty do not come back",
                "create a v3 webhook subscription to <url>/api/v1/pagerduty/webhook and set its "
                "signing secret",
            )
        ]
    secrets = [secret.strip() for secret in raw.split(",")]
    if not all(secrets):
        return [problem(AREA, f"{SECRETS} has an empty entry", "separate secrets with single commas")]
    return [ok(AREA, f"{len(secrets)} webhook signing secret(s) set")]
