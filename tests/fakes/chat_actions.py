"""A recording `ChatActions` for tests: remembers every call, answers what the test scripted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.actions import ActionOutcome, Actor, ChatActions, ChatReply, Outcome
from engine.clustering.silences import Matcher
from engine.view import ActionKind


@dataclass(frozen=True)
class Call:
    name: str  # "act", "ask", "silence", "status"
    actor: Actor
    args: tuple[Any, ...]


@dataclass
class RecordingActions(ChatActions):
    outcome: ActionOutcome = field(default_factory=lambda: ActionOutcome(Outcome.DONE))
    reply: ChatReply = field(default_factory=lambda: ChatReply("42 incidents"))
    delay: float = 0.0
    """Seconds each call takes, to show that Slack is answered without waiting for the work."""
    fail: bool = False
    calls: list[Call] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def act(
        self, actor: Actor, incident_id: int, version: int, action: ActionKind, argument: str | None
    ) -> ActionOutcome:
        await self._record("act", actor, incident_id, version, action, argument)
        return self.outcome

    async def ask(self, actor: Actor, question: str) -> ChatReply:
        await self._record("ask", actor, question)
        return self.reply

    async def silence(
        self, actor: Actor, matchers: tuple[Matcher, ...], duration: timedelta, comment: str
    ) -> ActionOutcome:
        await self._record("silence", actor, matchers, duration, comment)
        return self.outcome

    async def status(self, actor: Actor) -> ChatReply:
        await self._record("status", actor)
        return self.reply

    async def wait_for_calls(self, count: int, within: float = 5.0) -> list[Call]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.calls) >= count)
        return self.calls

    async def _record(self, name: str, actor: Actor, *args: Any) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        async with self._changed:
            self.calls.append(Call(name, actor, args))
            self._changed.notify_all()
        if self.fail:
            raise RuntimeError("the action layer broke")
