"""The one failure a question can have: it cannot be answered, with a reason and what to try."""

from __future__ import annotations


class CannotAnswer(Exception):
    """A question nocbot will not answer; `message` is for people, `suggestions` are questions to try."""

    def __init__(self, message: str, suggestions: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = tuple(suggestions)

    def with_suggestions(self, suggestions: tuple[str, ...] | list[str]) -> CannotAnswer:
        """The same refusal, with `suggestions` added after the ones it already has."""
        merged = tuple(dict.fromkeys([*self.suggestions, *suggestions]))
        return CannotAnswer(self.message, merged)
