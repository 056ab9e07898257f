"""The Microsoft Teams app package: manifest.json (schema 1.17) and its two icons, zipped.

Teams installs a bot from such a zip (Apps → Manage your apps → Upload an app). The package only
describes the app; the messaging endpoint (`<url>/api/messages`) is set on the Azure Bot resource
whose Microsoft App ID the manifest names. The icons are drawn here rather than shipped as files:
a 192×192 colour icon and a 32×32 outline that Teams requires to be white on transparent.

Everything is deterministic (fixed zip timestamps, no randomness), so building twice gives the
same bytes and a changed package is a real change.
"""

from __future__ import annotations

import functools
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MANIFEST_VERSION = "1.17"
SCHEMA_URL = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
MESSAGING_PATH = "/api/messages"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
COLOR_SIZE = 192
OUTLINE_SIZE = 32
ACCENT = (0x1D, 0x35, 0x57)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")

# What a user can type to the bot; the same verbs as the Slack command (bot.slack.commands).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("ask", "Ask about metrics or incidents, e.g. ask how many P1 incidents last week?"),
    ("status", "Open incidents and silences now"),
    ("silence", "silence <matchers> for <duration> [because <reason>], e.g. silence service=search for 2h"),
    ("help", "What nocbot understands"),
)
BOT_SCOPES = ("personal", "team", "groupChat")


class PackageError(ValueError):
    """An input the Teams package cannot be built from; the message says which and why."""


def is_guid(text: str) -> bool:
    return _GUID.match(text) is not None


@dataclass(frozen=True)
class TeamsApp:
    app_id: str  # the Azure Bot's Microsoft App ID (a GUID); also used as the Teams app id
    url: str  # the public https base URL of nocbot (its host goes into validDomains)
    version: str = "1.0.0"
    name: str = "nocbot"

    def __post_init__(self) -> None:
        if not is_guid(self.app_id):
            raise PackageError(
                f"app id {self.app_id!r} is not a GUID: use the Microsoft App ID of the Azure Bot "
                "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            )
        parts = urlsplit(self.url)
        if parts.scheme != "https" or not parts.hostname:
            raise PackageError(f"url {self.url!r} must be the https URL Teams reaches nocbot at")
        if not _SEMVER.match(self.version):
            raise PackageError(f"version {self.version!r} must be MAJOR.MINOR.PATCH, e.g. 1.0.0")
        if not 1 <= len(self.name) <= 30:
            raise PackageError("the short name must be 1 to 30 characters")

    @property
    def host(self) -> str:
        host = urlsplit(self.url).hostname
        assert host is not None  # checked in __post_init__
        return host

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")


def manifest(app: TeamsApp) -> dict[str, Any]:
    base = app.base_url
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": app.version,
        "id": app.app_id,
        "developer": {
            "name": app.name,
            "websiteUrl": base,
            "privacyUrl": base,
            "termsOfUseUrl": base,
        },
        "name": {"short": app.name, "full": f"{app.name} incident bot"},
        "description": {
            "short": "Alerts in, a few prioritized, explained incidents out.",
            "full": (
                "nocbot groups a flood of alerts into a few incidents, scores them P1 to P5 with "
                "reasons, and posts a card per incident that responders acknowledge, silence and "
                "resolve from the chat. Mention it with a question about metrics or incident history."
            ),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app.app_id,
                "scopes": list(BOT_SCOPES),
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": list(BOT_SCOPES),
                        "commands": [{"title": title, "description": text} for title, text in COMMANDS],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [app.host],
    }


def build_package(app: TeamsApp) -> bytes:
    """The zip to upload to Teams: manifest.json and the two icons at its root."""
    files = {
        "manifest.json": json.dumps(manifest(app), indent=2).encode("utf-8") + b"\n",
        COLOR_ICON: color_icon(),
        OUTLINE_ICON: outline_icon(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


# -- icons ------------------------------------------------------------------------------------------

Pixel = tuple[int, int, int, int]
Shape = Callable[[float, float], bool]


@functools.cache  # the same pixels every time; drawing them takes a moment
def color_icon() -> bytes:
    """192×192: the symbol in white on the accent colour (the symbol fills the middle 2/3)."""

    def pixel(coverage: float) -> Pixel:
        red, green, blue = (round(c + (255 - c) * coverage) for c in ACCENT)
        return (red, green, blue, 255)

    return _png(COLOR_SIZE, _rasterize(COLOR_SIZE, _symbol, scale=1.5, paint=pixel))


@functools.cache
def outline_icon() -> bytes:
    """32×32: the symbol in white on transparent, edges smoothed through alpha only."""
    return _png(
        OUTLINE_SIZE,
        _rasterize(OUTLINE_SIZE, _symbol, scale=1.05, paint=lambda c: (255, 255, 255, round(255 * c))),
    )


def _symbol(x: float, y: float) -> bool:
    """A speech bubble with a dot: a ring, its centre, and a tail at the lower left (unit square
    centred on 0; y grows downwards)."""
    r = (x * x + y * y) ** 0.5
    ring = 0.29 <= r <= 0.42
    dot = r <= 0.12
    tail = _in_triangle(x, y, ((-0.40, 0.46), (-0.30, 0.18), (-0.12, 0.36)))
    return ring or dot or (tail and r >= 0.29)


def _in_triangle(x: float, y: float, corners: Sequence[tuple[float, float]]) -> bool:
    (ax, ay), (bx, by), (cx, cy) = corners
    d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by)
    d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy)
    d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay)
    negative = d1 < 0 or d2 < 0 or d3 < 0
    positive = d1 > 0 or d2 > 0 or d3 > 0
    return not (negative and positive)


def _rasterize(
    size: int, shape: Shape, *, scale: float, paint: Callable[[float], Pixel], samples: int = 4
) -> list[list[Pixel]]:
    """Each pixel painted by the share of its sub-samples inside `shape` (anti-aliasing)."""
    rows: list[list[Pixel]] = []
    for row in range(size):
        line: list[Pixel] = []
        for column in range(size):
            inside = 0
            for sy in range(samples):
                for sx in range(samples):
                    x = ((column + (sx + 0.5) / samples) / size - 0.5) * scale
                    y = ((row + (sy + 0.5) / samples) / size - 0.5) * scale
                    inside += shape(x, y)
            line.append(paint(inside / (samples * samples)))
        rows.append(line)
    return rows


def _png(size: int, rows: list[list[Pixel]]) -> bytes:
    """An 8-bit RGBA PNG (filter 0 on every row): small, and no imaging library needed."""
    raw = b"".join(b"\x00" + bytes(channel for pixel in line for channel in pixel) for line in rows)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
