"""Templating: label values are data wherever they land; templates themselves are checked at load."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest

from engine.playbooks.templating import (
    RenderError,
    TemplateError,
    UrlTemplate,
    parse,
    parse_json,
    render_header,
    render_json,
)

HOSTILE = [
    '"; rm -rf /',
    "{{ secrets.DB_PASSWORD }}",
    "{{",
    "a\nb",
    "ünïcødé ✓ 雪",
    "../../admin?x=1&y=2#frag",
    "$(reboot) `id` ${HOME}",
    '{"injected": true}',
    '\\"',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_stays_one_path_segment_and_decodes_to_itself(value: str) -> None:
    url = UrlTemplate.parse("https://api.example/ns/{{ ns }}/restart?reason={{ ns }}")
    rendered = url.render({"ns": value})
    split = urlsplit(rendered)
    assert split.netloc == "api.example"
    assert split.fragment == ""
    segments = split.path.split("/")
    assert len(segments) == 4 and unquote(segments[2]) == value
    key, _, encoded = split.query.partition("=")
    assert key == "reason" and "&" not in encoded and unquote(encoded) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_a_json_body_stays_one_string(value: str) -> None:
    body = parse_json({"reason": "incident {{ id }}", "nested": ["{{ id }}"], "count": 3})
    rendered = render_json(body, {"id": value})
    assert json.loads(json.dumps(rendered)) == {"reason": f"incident {value}", "nested": [value], "count": 3}


@pytest.mark.parametrize("value", HOSTILE)
def test_an_argv_element_is_rendered_verbatim(value: str) -> None:
    assert parse("--node={{ node }}").render({"node": value}) == f"--node={value}"


def test_values_are_never_parsed_again() -> None:
    template = parse("{{ a }}{{ b }}")
    assert template.render({"a": "{{ b }}", "b": "x"}) == "{{ b }}x"


def test_headers_refuse_line_breaks_and_read_secrets() -> None:
    template = parse("Bearer {{ secrets.TOKEN }} for {{ who }}")
    assert render_header(template, {"who": "ana"}, {"TOKEN": "t0k"}) == "Bearer t0k for ana"
    with pytest.raises(RenderError, match="line break"):
        render_header(template, {"who": "ana\r\nX-Evil: 1"}, {"TOKEN": "t0k"})
    with pytest.raises(RenderError, match="not set"):
        render_header(template, {"who": "ana"}, {})


def test_secrets_render_only_where_secrets_are_given() -> None:
    with pytest.raises(RenderError, match="only be used in a header"):
        parse("{{ secrets.TOKEN }}").render({})


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("https://{{ host }}/x", "scheme or host"),
        ("https://api.example{{ port }}/x", "scheme or host"),
        ("{{ scheme }}://api.example/x", "http"),
        ("https://api.example/x#{{ f }}", "fragment"),
        ("https://api.example/{{ secrets.TOKEN }}", "headers"),
        ("ftp://api.example/x", "http"),
    ],
)
def test_url_templates_fix_scheme_and_host(source: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem):
        UrlTemplate.parse(source)


@pytest.mark.parametrize("source", ["{{ a + b }}", "{{ a.__class__ }}", "{{ a", "a }}", "{{ A }}", "{{}}"])
def test_templates_hold_names_only(source: str) -> None:
    with pytest.raises(TemplateError):
        parse(source)


def test_secrets_are_refused_in_bodies() -> None:
    with pytest.raises(TemplateError, match="headers"):
        parse_json({"token": "{{ secrets.TOKEN }}"})
