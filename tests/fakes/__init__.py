"""Fakes of what nocbot talks to (Slack's Web API and signed requests, the chat action layer), for
tests and benchmarks on loopback."""
