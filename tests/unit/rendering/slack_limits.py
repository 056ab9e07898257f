"""Every Slack Block Kit limit a message can cross, checked over a whole list of blocks.

Slack rejects the whole message (invalid_blocks) when any one is crossed, so the renderer's tests
check all of them, on every element, rather than sampling a few.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

LIMITS = {
    # Not in Slack's documentation: messages whose blocks add up to about 12,000-13,000 characters are
    # refused with msg_blocks_too_long. Counted here as the compact JSON of the blocks, which is more.
    "message_chars": 12_000,
    "blocks": 50,
    "header_text": 150,
    "section_text": 3000,
    "fields": 10,
    "field_text": 2000,
    "context_elements": 10,
    "context_text": 3000,
    "action_elements": 25,
    "button_text": 75,
    "button_value": 2000,
    "action_id": 255,
    "url": 3000,
    "options": 100,
    "option_text": 75,
    "option_value": 150,
    "placeholder": 150,
    "image_url": 3000,
    "alt_text": 2000,
    "confirm_title": 100,
    "confirm_text": 300,
    "confirm_button": 30,
    "block_id": 255,
}


def slack_violations(blocks: list[dict[str, Any]]) -> list[str]:
    found = list(_violations(blocks))
    size = len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")))
    if size > LIMITS["message_chars"]:
        found.append(f"message: message_chars is {size} > {LIMITS['message_chars']}")
    action_ids = [element["action_id"] for element in _interactive(blocks) if "action_id" in element]
    duplicates = {i for i in action_ids if action_ids.count(i) > 1}
    if duplicates:
        found.append(f"action_ids used twice: {sorted(duplicates)}")
    return found


def _interactive(blocks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for block in blocks:
        if block.get("type") == "actions":
            yield from block.get("elements", [])


def _over(what: str, value: Any, where: str) -> Iterator[str]:
    size = len(value)
    if size > LIMITS[what]:
        yield f"{where}: {what} is {size} > {LIMITS[what]}"


def _text(
    obj: Any, what: str, where: str, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")
) -> Iterator[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds or not isinstance(obj.get("text"), str):
        yield f"{where}: not a {'/'.join(kinds)} text object: {obj!r:.80}"
        return
    if not obj["text"].strip():
        yield f"{where}: empty text"
    yield from _over(what, obj["text"], where)


def _violations(blocks: list[dict[str, Any]]) -> Iterator[str]:
    yield from _over("blocks", blocks, "message")
    for index, block in enumerate(blocks):
        where = f"block {index} ({block.get('type')})"
        if "block_id" in block:
            yield from _over("block_id", block["block_id"], where)
        kind = block.get("type")
        if kind == "header":
            yield from _text(block.get("text"), "header_text", where, ("plain_text",))
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                yield f"{where}: neither text nor fields"
            if "text" in block:
                yield from _text(block["text"], "section_text", where)
            fields = block.get("fields", [])
            yield from _over("fields", fields, where)
            for field in fields:
                yield from _text(field, "field_text", where)
        elif kind == "context":
            elements = block.get("elements", [])
            if not elements:
                yield f"{where}: no elements"
            yield from _over("context_elements", elements, where)
            for element in elements:
                yield from _text(element, "context_text", where)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not elements:
                yield f"{where}: no elements"
            yield from _over("action_elements", elements, where)
            for element in elements:
                yield from _element(element, where)
        elif kind == "image":
            yield from _over("image_url", block.get("image_url", ""), where)
            yield from _over("alt_text", block.get("alt_text", ""), where)
            if not block.get("alt_text"):
                yield f"{where}: image without alt_text"
        elif kind != "divider":
            yield f"{where}: unexpected block type"


def _element(element: dict[str, Any], where: str) -> Iterator[str]:
    where = f"{where} {element.get('type')} {element.get('action_id')!r:.40}"
    yield from _over("action_id", element.get("action_id", ""), where)
    if element.get("type") == "button":
        yield from _text(element.get("text"), "button_text", where, ("plain_text",))
        yield from _over("button_value", element.get("value", ""), where)
        yield from _over("url", element.get("url", ""), where)
        if "confirm" in element:
            confirm = element["confirm"]
            yield from _text(confirm.get("title"), "confirm_title", where, ("plain_text",))
            yield from _text(confirm.get("text"), "confirm_text", where)
            yield from _text(confirm.get("confirm"), "confirm_button", where, ("plain_text",))
            yield from _text(confirm.get("deny"), "confirm_button", where, ("plain_text",))
    elif element.get("type") in ("static_select", "overflow"):
        options = element.get("options", [])
        yield from _over("options", options, where)
        if element.get("type") == "overflow" and not 2 <= len(options) <= 5:
            yield f"{where}: overflow needs 2 to 5 options"
        if "placeholder" in element:
            yield from _text(element["placeholder"], "placeholder", where, ("plain_text",))
        for option in options:
            yield from _text(option.get("text"), "option_text", where, ("plain_text",))
            yield from _over("option_value", option.get("value", ""), where)
    else:
        yield f"{where}: unexpected element type"
