"""The Microsoft Teams surface: Bot Framework inbound at /api/messages, proactive delivery, routing.

`wiring.install_teams` is the one entry point `create_app` calls; `outbox.teams_deliverer` is the
outbox's side of it.
"""
