"""Every setting parses, and the rules between settings hold (what `nocbot serve` would refuse)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.doctor.findings import Finding, ok, problem, warning
from bot.pagerduty.settings import PAGERDUTY_SETTINGS, PagerDutySettings
from bot.settings import SETTINGS, Settings, SettingsError, SettingSpec
from bot.slack.settings import SLACK_SETTINGS, SlackSettings
from bot.teams.settings import TEAMS_SETTINGS, TeamsSettings

AREA = "settings"
SPEC_TABLES: tuple[tuple[SettingSpec, ...], ...] = (
    SETTINGS,
    SLACK_SETTINGS,
    TEAMS_SETTINGS,
    PAGERDUTY_SETTINGS,
)


def read_setting(environ: Mapping[str, str], env: str, specs: Iterable[SettingSpec] = ()) -> Any:
    """The parsed value of one variable by its spec. Raises SettingsError naming the variable."""
    spec = next((s for s in (*specs, *(s for t in SPEC_TABLES for s in t)) if s.env == env), None)
    if spec is None:
        raise KeyError(env)
    raw = environ.get(env, spec.default)
    try:
        return spec.parse(raw)
    except ValueError as exc:
        secret = spec.field.endswith(("token", "secret", "secrets", "password", "keys"))
        shown = "<hidden>" if secret else repr(raw)
        raise SettingsError(f"{env}={shown}: {exc}") from None


async def check_settings(environ: Mapping[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    for specs in SPEC_TABLES:
        for spec in specs:
            try:
                read_setting(environ, spec.env, specs)
            except SettingsError as exc:
                findings.append(problem(AREA, str(exc), f"fix {spec.env} (see the configuration table)"))
    if findings:
        return findings
    for rule in (_serving, SlackSettings.from_env, TeamsSettings.from_env, PagerDutySettings.from_env):
        try:
            rule(environ)
        except SettingsError as exc:
            found = problem(AREA, str(exc), "nocbot serve refuses to start until this is fixed")
            if found not in findings:  # Settings.from_env may apply a surface's rules too
                findings.append(found)
    if findings:
        return findings
    findings.append(ok(AREA, "all settings parse and fit together"))
    findings.extend(
        warning(AREA, f"{name} is not a nocbot setting and is ignored", "check the name for a typo")
        for name in sorted(environ)
        if name.startswith("NOCBOT_") and not _known(name)
    )
    return findings


def _serving(environ: Mapping[str, str]) -> None:
    Settings.from_env(environ).check_serving()


def _known(name: str) -> bool:
    if name.startswith("NOCBOT_TEST_"):  # the test suite's, never read by nocbot
        return True
    return any(spec.env == name for specs in SPEC_TABLES for spec in specs)
