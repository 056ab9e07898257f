"""Templates in playbooks: `{{ name }}` placeholders whose values are data, never code.

A template is parsed once, when the playbook loads, into literal text and references; rendering
only joins parts, so a value is never parsed again (a label holding `{{ x }}` stays those six
characters). Each place a value lands has its own rule, chosen so a value cannot leave its slot:

- URLs: placeholders only in the path and the query, each value percent-encoded whole
  (`/`, `?`, `&`, `#` included), so it stays one path segment or one query value;
- JSON bodies: values become JSON strings through the serializer, never through text;
- argv: one template is one argument; there is no shell to split or expand it;
- headers: values may not hold line breaks or other control characters (the request fails).

`{{ secrets.NAME }}` reads a secret the service was given; only headers may use one, so a secret
never reaches a URL, a body, a command line or a stored step output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SECRET = re.compile(r"^secrets\.([A-Za-z_][A-Za-z0-9_]*)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TemplateError(ValueError):
    """A template that cannot be used (found when the playbook loads)."""


class RenderError(ValueError):
    """A value that cannot go where the template puts it (found when the step runs)."""


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    secret: bool = False


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Ref, ...]

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(part for part in self.parts if isinstance(part, Ref))

    @property
    def is_literal(self) -> bool:
        return not self.refs

    def render(self, values: Mapping[str, str], secrets: Mapping[str, str] | None = None) -> str:
        return "".join(
            _value(part, values, secrets) if isinstance(part, Ref) else part for part in self.parts
        )


def parse(source: str) -> Template:
    parts: list[str | Ref] = []
    position = 0
    for found in _PLACEHOLDER.finditer(source):
        if found.start() > position:
            parts.append(source[position : found.start()])
        parts.append(_reference(found.group(1).strip()))
        position = found.end()
    rest = source[position:]
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"unbalanced '{{{{' or '}}}}' in {source!r}")
    if rest:
        parts.append(rest)
    return Template(source, tuple(parts))


def _reference(inner: str) -> Ref:
    secret = _SECRET.match(inner)
    if secret:
        return Ref(secret.group(1), secret=True)
    if not _NAME.match(inner):
        raise TemplateError(
            f"'{{{{ {inner} }}}}' is not a parameter name (lower-case letters, digits, _) "
            "or secrets.NAME; templates hold names only, no expressions"
        )
    return Ref(inner)


def _value(ref: Ref, values: Mapping[str, str], secrets: Mapping[str, str] | None) -> str:
    if ref.secret:
        if secrets is None:
            raise RenderError(f"secrets.{ref.name} can only be used in a header")
        if ref.name not in secrets:
            raise RenderError(f"secret {ref.name} is not set in nocbot's environment")
        return secrets[ref.name]
    if ref.name not in values:
        raise RenderError(f"no value for {{{{ {ref.name} }}}}")
    return values[ref.name]


@dataclass(frozen=True, slots=True)
class UrlTemplate:
    """A URL whose scheme and host are fixed; placeholders in the path and query only."""

    template: Template

    @classmethod
    def parse(cls, source: str) -> UrlTemplate:
        template = parse(source)
        if any(ref.secret for ref in template.refs):
            raise TemplateError("secrets may only be used in headers, not in a URL")
        skeleton = "".join("x" if isinstance(part, Ref) else part for part in template.parts)
        split = urlsplit(skeleton)
        if split.scheme not in {"http", "https"} or not split.netloc:
            raise TemplateError(f"URL must start with http:// or https:// and a host: {source!r}")
        if split.fragment or "#" in skeleton:
            raise TemplateError(f"URL must not have a #fragment: {source!r}")
        # the scheme, host and port are fixed text: a value must never pick the server
        authority_end = len(split.scheme) + 3 + len(split.netloc)
        offset = 0
        for part in template.parts:
            if isinstance(part, Ref) and offset < authority_end:
                raise TemplateError(f"placeholders may not be in the URL's scheme or host: {source!r}")
            offset += 1 if isinstance(part, Ref) else len(part)
        return cls(template)

    def render(self, values: Mapping[str, str]) -> str:
        rendered: list[str] = []
        for part in self.template.parts:
            if isinstance(part, Ref):
                # safe="" percent-encodes '/', '?', '&', '=', '#': the value stays one segment/value
                rendered.append(quote(_value(part, values, None), safe=""))
            else:
                rendered.append(part)
        return "".join(rendered)


def parse_json(value: Any) -> Any:
    """A JSON body with templates in its strings (keys stay literal)."""
    if isinstance(value, str):
        template = parse(value)
        if any(ref.secret for ref in template.refs):
            raise TemplateError("secrets may only be used in headers, not in a body")
        return template
    if isinstance(value, list):
        return [parse_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): parse_json(item) for key, item in value.items()}
    return value


def render_json(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, Template):
        return value.render(values)
    if isinstance(value, list):
        return [render_json(item, values) for item in value]
    if isinstance(value, dict):
        return {key: render_json(item, values) for key, item in value.items()}
    return value


def render_header(template: Template, values: Mapping[str, str], secrets: Mapping[str, str]) -> str:
    rendered = template.render(values, secrets)
    if _CONTROL.search(rendered):
        raise RenderError("a header value would contain a line break or control character")
    return rendered
