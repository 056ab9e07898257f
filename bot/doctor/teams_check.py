"""Microsoft Teams credentials, by format: what Azure would refuse is found before the first message.

Read from the mapping the command gives (the Teams surface declares these variables itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from bot.doctor.findings import Finding, ok, problem, skipped, warning
from bot.teams.settings import MULTI_TENANT
from integrations.teams_package import MESSAGING_PATH, is_guid

AREA = "teams"
APP_ID = "NOCBOT_TEAMS_APP_ID"
PASSWORD = "NOCBOT_TEAMS_APP_PASSWORD"  # noqa: S105 - the variable's name, not a password
TENANT = "NOCBOT_TEAMS_TENANT_ID"
ANONYMOUS = "NOCBOT_TEAMS_ANONYMOUS"
AZURE_BOT = "the Azure Bot resource → Configuration"


async def check_teams(environ: Mapping[str, str]) -> list[Finding]:
    app_id = environ.get(APP_ID, "").strip()
    password = environ.get(PASSWORD, "").strip()
    tenant = environ.get(TENANT, "").strip()
    anonymous = environ.get(ANONYMOUS, "").strip().lower() in {"1", "true", "yes", "on"}
    if not (app_id or password or tenant or anonymous):
        return [skipped(AREA, f"Teams is off ({APP_ID} is not set)")]
    findings: list[Finding] = []
    if anonymous:
        findings.append(
            warning(
                AREA,
                f"{ANONYMOUS} is on: /api/messages accepts anyone, and nocbot cannot call Teams",
                "for local testing only; unset it and set the app id and password",
            )
        )
        if not app_id:
            return findings
    if not app_id:
        findings.append(problem(AREA, f"{APP_ID} is empty", f"copy the Microsoft App ID from {AZURE_BOT}"))
    elif not is_guid(app_id):
        findings.append(
            problem(
                AREA,
                f"{APP_ID}={app_id!r} is not a GUID",
                f"use the Microsoft App ID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) from {AZURE_BOT}",
            )
        )
    if not password:
        findings.append(
            problem(
                AREA,
                f"{PASSWORD} is empty",
                "create a client secret (App registration → Certificates & secrets) and set its Value",
            )
        )
    elif is_guid(password):
        findings.append(
            problem(
                AREA,
                f"{PASSWORD} looks like a GUID: that is the secret's ID, not the secret",
                "copy the client secret's Value (shown once, when it is created)",
            )
        )
    if not tenant:
        findings.append(
            warning(
                AREA,
                f"{TENANT} is empty, so the bot is taken to be multi-tenant",
                "Azure creates single-tenant bots now: set the Directory (tenant) ID of the app "
                f"registration (or '{MULTI_TENANT}' to say multi-tenant on purpose)",
            )
        )
    elif not (is_guid(tenant) or tenant.lower() == MULTI_TENANT):
        findings.append(
            problem(
                AREA,
                f"{TENANT}={tenant!r} is neither a GUID nor '{MULTI_TENANT}'",
                "copy the Directory (tenant) ID from the app registration's Overview",
            )
        )
    findings.append(_endpoint(environ.get("NOCBOT_PUBLIC_URL", "").strip()))
    if not any(finding.status.failing for finding in findings):
        findings.insert(0, ok(AREA, "app id, password and tenant are well formed"))
    return findings


def _endpoint(public_url: str) -> Finding:
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.hostname:
        return warning(
            AREA,
            "NOCBOT_PUBLIC_URL is not an https URL, and Teams only calls https endpoints",
            f"set NOCBOT_PUBLIC_URL to the https address of nocbot; the bot's messaging endpoint is "
            f"<that URL>{MESSAGING_PATH}",
        )
    return ok(AREA, f"messaging endpoint to set on the Azure Bot: {public_url.rstrip('/')}{MESSAGING_PATH}")
