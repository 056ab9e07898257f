"""The "Silence for…" modal: asks how long, remembers which card it came from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CUSTOM_SILENCE_CALLBACK = "nocbot.silence.custom"
DURATION_BLOCK = "duration"
DURATION_INPUT = "duration"


@dataclass(frozen=True, slots=True)
class SilenceOrigin:
    """The card the modal was opened from, carried in the view's private_metadata."""

    incident_id: int
    version: int
    channel: str | None  # where to tell the responder if the silence is refused


def custom_silence_view(origin: SilenceOrigin, title: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CUSTOM_SILENCE_CALLBACK,
        "private_metadata": json.dumps(
            {"incident": origin.incident_id, "version": origin.version, "channel": origin.channel}
        ),
        "title": {"type": "plain_text", "text": "Silence incident"},
        "submit": {"type": "plain_text", "text": "Silence"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": title[:3000]}},
            {
                "type": "input",
                "block_id": DURATION_BLOCK,
                "label": {"type": "plain_text", "text": "For how long?"},
                "hint": {"type": "plain_text", "text": "e.g. 30m, 2h, 1h30m, 2d"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": DURATION_INPUT,
                    "max_length": 50,
                    "placeholder": {"type": "plain_text", "text": "2h"},
                },
            },
        ],
    }


def read_origin(view: Mapping[str, Any]) -> SilenceOrigin:
    """Raises ValueError when the metadata is not what `custom_silence_view` wrote."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        incident, version, channel = meta["incident"], meta["version"], meta.get("channel")
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise ValueError(f"modal metadata is not nocbot's: {exc}") from None
    if not isinstance(incident, int) or not isinstance(version, int):
        raise ValueError("modal metadata needs integer incident and version")
    return SilenceOrigin(incident, version, channel if isinstance(channel, str) else None)


def read_duration(view: Mapping[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    value = (values.get(DURATION_BLOCK) or {}).get(DURATION_INPUT) or {}
    raw = value.get("value")
    return raw if isinstance(raw, str) else ""
