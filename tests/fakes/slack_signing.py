"""Requests exactly as Slack sends them: payload shapes, body encodings and the v0 signature.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 keyed by the app's signing secret and sends
`X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp: <epoch seconds>`. Interactivity
comes form-encoded as one `payload` field holding JSON; slash commands are plain form fields; Events
API callbacks are JSON.

The `*_payload` builders give the bare payloads (Socket Mode sends those inside its envelopes); the
`*_request` builders give signed HTTP bodies with headers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID

APP_ID = "A0FAKE"


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


def signature(secret: str, timestamp: int | str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(body: str, content_type: str, secret: str, *, timestamp: int | None = None) -> SignedRequest:
    moment = int(time.time()) if timestamp is None else timestamp
    return SignedRequest(
        body,
        {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(moment),
            "X-Slack-Signature": signature(secret, moment, body),
        },
    )


# -- interactivity ------------------------------------------------------------------------------------


def block_actions_payload(
    *,
    action_id: str,
    value: str,
    user_id: str = "U0ANA0001",
    user_name: str = "ana",
    channel_id: str = "C00000001",
    message_ts: str = "1700000000.000100",
    response_url: str = "https://hooks.slack.com/actions/T0/1/x",
    trigger_id: str = "1337.42.abcdef",
    menu: bool = False,
) -> dict[str, Any]:
    """A click on a button (or, with `menu`, a choice in a static_select whose option has `value`)."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b1", "action_ts": f"{time.time():.6f}"}
    if menu:
        action |= {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
        }
    else:
        action |= {"type": "button", "value": value, "text": {"type": "plain_text", "text": "x"}}
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "incidents"},
        "message": {"type": "message", "ts": message_ts, "bot_id": "B0NOCBOT1", "text": "card"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def view_submission_payload(
    *, view: dict[str, Any], duration: str, user_id: str = "U0ANA0001", user_name: str = "ana"
) -> dict[str, Any]:
    """A submitted modal: the view nocbot opened, with the duration typed into its input."""
    submitted = {
        **view,
        "id": view.get("id", "V00000001"),
        "team_id": TEAM_ID,
        "state": {"values": {"duration": {"duration": {"type": "plain_text_input", "value": duration}}}},
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": "1337.43.abcdef",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def interactive_request(
    payload: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> SignedRequest:
    body = urlencode({"payload": json.dumps(payload)})
    return signed(body, "application/x-www-form-urlencoded", secret, timestamp=timestamp)


# -- slash commands -----------------------------------------------------------------------------------


def slash_command_payload(
    *,
    text: str,
    command: str = "/nocbot",
    user_id: str = "U0ANA0001",
    user_name: str = "ana",
    channel_id: str = "C00000001",
    response_url: str = "https://hooks.slack.com/commands/T0/1/x",
) -> dict[str, str]:
    # Slack escapes &, < and > in the text it forwards
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": "incidents",
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": escaped,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1337.44.abcdef",
    }


def slash_command_request(
    payload: dict[str, str], secret: str, *, timestamp: int | None = None
) -> SignedRequest:
    return signed(urlencode(payload), "application/x-www-form-urlencoded", secret, timestamp=timestamp)


# -- Events API -----------------------------------------------------------------------------------------


def app_mention_event(
    *,
    text: str,
    user_id: str = "U0ANA0001",
    channel_id: str = "C00000001",
    ts: str = "1700000001.000200",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel_id,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def event_callback_payload(event: dict[str, Any], *, event_id: str = "Ev0000000001") -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-fake",
    }


def url_verification_payload(challenge: str) -> dict[str, Any]:
    return {"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"}


def event_request(payload: dict[str, Any], secret: str, *, timestamp: int | None = None) -> SignedRequest:
    return signed(json.dumps(payload), "application/json", secret, timestamp=timestamp)
