"""Walking each surface's output the way its client would: actions, values, markup."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

Block = dict[str, Any]
Card = dict[str, Any]


def of_type(blocks: list[Block], kind: str) -> list[Block]:
    return [block for block in blocks if block["type"] == kind]


def elements(blocks: list[Block]) -> list[Block]:
    return [element for block in of_type(blocks, "actions") for element in block["elements"]]


def action_values(blocks: list[Block]) -> list[str]:
    values = []
    for element in elements(blocks):
        if element["type"] == "button":
            values.append(element["value"])
        else:
            values += [option["value"] for option in element["options"]]
    return values


def executes(items: list[Card]) -> Iterator[Card]:
    """Every Action.Execute, in the order a user meets them, inside action sets and show-cards."""
    for item in items:
        kind = item.get("type")
        if kind == "Action.Execute":
            yield item
        elif kind == "ActionSet":
            yield from executes(item["actions"])
        elif kind == "Action.ShowCard":
            yield from executes(item["card"].get("body", []) + item["card"].get("actions", []))


ALLOWED_TAGS = {
    "article",
    "header",
    "span",
    "h2",
    "h3",
    "p",
    "dl",
    "dt",
    "dd",
    "figure",
    "img",
    "nav",
    "div",
    "button",
    "section",
    "ul",
    "li",
    "a",
    "footer",
}


class Collector(HTMLParser):
    """What a browser would build: tags with their attributes, and the text between them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag != "img":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag, f"</{tag}> closes something else"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    collector.close()
    assert collector.open == [], "unclosed tags"
    return collector
