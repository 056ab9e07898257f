"""The application keys the PagerDuty integration adds (next to those of `bot.keys`)."""

from __future__ import annotations

from aiohttp import web

from bot.pagerduty.settings import PagerDutySettings
from engine.escalation import EscalationService

ESCALATION = web.AppKey("escalation", EscalationService)
"""Escalate an incident (the Escalate button, a playbook step): `app[ESCALATION].escalate(...)`."""
PAGERDUTY_SETTINGS = web.AppKey("pagerduty_settings", PagerDutySettings)
