"""`nocbot serve` with Microsoft's identity services on a fake Teams (`tests.fakes.teams_connector`),
for fault tests that run the service as a process of its own: `python -m tests.faults.teams_serve
serve` with the fake's URL in NOCBOT_TEST_TEAMS_IDENTITY_URL.

No setting moves those services (where the bot's tokens come from and where the keys that sign
Teams' requests are published); only `create_app(teams_endpoints=...)` does, so this hands them to
it and then runs the ordinary command line, which reads every other setting from the environment.
"""

from __future__ import annotations

import functools
import os
import sys

from bot import cli
from bot.app import create_app
from bot.commands import serve
from tests.fakes.teams_connector import endpoints_at

IDENTITY_URL = "NOCBOT_TEST_TEAMS_IDENTITY_URL"


def main() -> int:
    endpoints = endpoints_at(os.environ[IDENTITY_URL])
    # the name `serve` looks up when it builds the app (its import of bot.app's, not re-exported)
    serve.create_app = functools.partial(create_app, teams_endpoints=endpoints)  # type: ignore[attr-defined]
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
