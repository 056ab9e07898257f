"""The Slack surface: Bolt inbound (HTTP at /slack/events or Socket Mode), delivery and routing.

`wiring.install_slack` is the one entry point `create_app` calls.
"""
