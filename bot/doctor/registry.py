"""The checks `nocbot doctor` runs, in the order it shows them; add new checks here."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from bot.doctor.database_check import check_database
from bot.doctor.files_check import check_catalog, check_playbooks
from bot.doctor.findings import Check, Finding, problem
from bot.doctor.pagerduty_check import check_pagerduty
from bot.doctor.settings_check import check_settings
from bot.doctor.slack_check import check_slack
from bot.doctor.teams_check import check_teams

CHECKS: tuple[Check, ...] = (
    check_settings,
    check_database,
    check_slack,
    check_teams,
    check_pagerduty,
    check_catalog,
    check_playbooks,
)


async def run_checks(environ: Mapping[str, str], checks: Sequence[Check] = CHECKS) -> list[Finding]:
    """Every check's findings, in the checks' order. The checks run concurrently (the slow ones wait
    on the network); one that crashes is reported as a problem, not allowed to hide the others."""
    results = await asyncio.gather(*(check(environ) for check in checks), return_exceptions=True)
    findings: list[Finding] = []
    for check, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            name = getattr(check, "__name__", "check").removeprefix("check_")
            findings.append(
                problem(
                    name, f"the check itself failed: {type(result).__name__}: {result}", "report this bug"
                )
            )
        else:
            findings.extend(result)
    return findings


def failed(findings: Sequence[Finding]) -> bool:
    return any(finding.status.failing for finding in findings)
