"""The files nocbot reads at start: the service catalog and the playbook directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.doctor.findings import Finding, ok, problem, skipped, warning
from bot.doctor.pagerduty_check import is_routing_key
from bot.doctor.settings_check import read_setting
from bot.settings import SettingsError
from engine.catalog import CatalogError, load_catalog
from engine.playbooks import LibraryError, load_library

CATALOG_AREA = "catalog"
PLAYBOOKS_AREA = "playbooks"


async def check_catalog(environ: Mapping[str, str]) -> list[Finding]:
    try:
        path: Path | None = read_setting(environ, "NOCBOT_CATALOG")
    except SettingsError as exc:
        return [problem(CATALOG_AREA, str(exc), "fix NOCBOT_CATALOG")]
    if path is None:
        return [
            skipped(
                CATALOG_AREA,
                "no service catalog (NOCBOT_CATALOG): incidents are grouped without dependencies",
            )
        ]
    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        return [problem(CATALOG_AREA, str(exc), "fix the file (format: examples/services.yaml)")]
    findings = [ok(CATALOG_AREA, f"{path}: {len(catalog)} services")]
    named = _routing_key_names(environ)
    bad_keys = sorted(
        name
        for name, service in catalog.services.items()
        if (key := service.pagerduty_routing_key) is not None and not (is_routing_key(key) or key in named)
    )
    if bad_keys:
        findings.append(
            problem(
                CATALOG_AREA,
                f"pagerduty_routing_key is neither a routing key (32 letters and digits) nor a name in "
                f"NOCBOT_PAGERDUTY_ROUTING_KEYS for: {', '.join(bad_keys)}",
                "use the Integration Key of the service's 'Events API v2' integration, or a name listed "
                "in NOCBOT_PAGERDUTY_ROUTING_KEYS",
            )
        )
    if not catalog.services:
        findings.append(
            warning(CATALOG_AREA, f"{path} lists no services", "add services, or unset NOCBOT_CATALOG")
        )
    return findings


def _routing_key_names(environ: Mapping[str, str]) -> set[str]:
    entries = environ.get("NOCBOT_PAGERDUTY_ROUTING_KEYS", "").split(";")
    return {entry.partition("=")[0].strip() for entry in entries if "=" in entry}


async def check_playbooks(environ: Mapping[str, str]) -> list[Finding]:
    try:
        directory: Path | None = read_setting(environ, "NOCBOT_PLAYBOOKS_DIR")
    except SettingsError as exc:
        return [problem(PLAYBOOKS_AREA, str(exc), "fix NOCBOT_PLAYBOOKS_DIR")]
    if directory is None:
        return [skipped(PLAYBOOKS_AREA, "no playbook directory (NOCBOT_PLAYBOOKS_DIR)")]
    try:
        library = load_library(directory)
    except LibraryError as exc:
        return [
            problem(PLAYBOOKS_AREA, str(found), "fix the playbook file (every problem is listed)")
            for found in exc.problems
        ]
    if not len(library):
        return [
            warning(PLAYBOOKS_AREA, f"{directory} has no playbooks", "add .yaml files, or unset the variable")
        ]
    return [ok(PLAYBOOKS_AREA, f"{directory}: {len(library)} playbooks ({', '.join(library.names())})")]
