"""How a setting is declared: variable, default, meaning, parser; shared by every settings table
(the service's own in `bot.settings`, each surface's in its package) so the README reference can be
checked against all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class SettingsError(ValueError):
    """A setting has a value nocbot cannot use; the message names the variable."""


@dataclass(frozen=True)
class SettingSpec:
    field: str
    env: str
    default: str
    meaning: str
    parse: Callable[[str], Any]
