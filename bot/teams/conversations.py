"""The conversations the bot can post to, learnt from what Teams tells it, stored for proactive posts.

When the bot is added to a team, Teams sends a conversationUpdate from the team's General channel;
the bot then asks for the team's other channels, and hears of channels created later. Each is stored
(`engine.storage.conversation_rows`, surface "teams") with what a proactive post needs — the service
URL, the conversation, the bot's account — and the names a route may use: `Channel` or
`Team/Channel`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from microsoft_agents.activity import Activity

from engine.clock import Clock
from engine.storage import conversation_rows
from engine.storage.conversation_rows import ConversationRef
from engine.storage.store import Store

log = logging.getLogger("nocbot.teams")

SURFACE = "teams"
GENERAL = "General"  # Teams does not name a team's first channel in its events


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    """Where to post: a channel's id (never a thread's "…;messageid=…"), a chat's id."""
    service_url: str
    reference: dict[str, Any]
    """The SDK's ConversationReference, as JSON."""
    name: str | None = None
    team: str | None = None
    team_id: str | None = None

    def called(self, target: str) -> bool:
        """Whether a route's destination names this conversation (its id, its name, team/name)."""
        if target == self.id:
            return True
        wanted = target.casefold()
        names = {self.name, f"{self.team}/{self.name}" if self.team and self.name else None}
        return any(name is not None and name.casefold() == wanted for name in names)

    def as_stored(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "serviceUrl": self.service_url,
            "name": self.name,
            "team": self.team,
            "teamId": self.team_id,
        }

    @classmethod
    def from_stored(cls, row: ConversationRef) -> Conversation:
        stored = row.reference
        return cls(
            id=row.channel,
            service_url=str(stored.get("serviceUrl") or ""),
            reference=dict(stored.get("reference") or {}),
            name=_text(stored.get("name")),
            team=_text(stored.get("team")),
            team_id=_text(stored.get("teamId")),
        )

    def channel(self, channel_id: str, name: str | None) -> Conversation:
        """Another channel of the same team, reached the same way."""
        reference = {
            **self.reference,
            "conversation": {**self.reference.get("conversation", {}), "id": channel_id},
        }
        return replace(self, id=channel_id, reference=reference, name=name)


def conversation_of(activity: Activity) -> Conversation | None:
    """The conversation an activity came from, as something to post to later; None if incomplete."""
    if activity.conversation is None or not activity.conversation.id or not activity.service_url:
        return None
    data = activity.channel_data if isinstance(activity.channel_data, Mapping) else {}
    channel, team = _object(data.get("channel")), _object(data.get("team"))
    conversation_id = _text(channel.get("id")) or activity.conversation.id.split(";", 1)[0]
    team_id = _text(team.get("id"))
    name = _text(channel.get("name")) if _text(channel.get("id")) == conversation_id else None
    if name is None and team_id is not None and conversation_id == team_id:
        name = GENERAL
    reference = activity.get_conversation_reference()
    reference.activity_id = None
    reference.conversation = reference.conversation.model_copy(update={"id": conversation_id})
    return Conversation(
        id=conversation_id,
        service_url=activity.service_url,
        reference=reference.model_dump(by_alias=True, exclude_none=True, mode="json"),
        name=name or _text(activity.conversation.name),
        team=_text(team.get("name")),
        team_id=team_id,
    )


class Ambiguous(Exception):
    def __init__(self, target: str, matches: list[Conversation]) -> None:
        ids = ", ".join(match.id for match in matches)
        super().__init__(f"{target!r} names several Teams conversations ({ids}); route by Team/Channel or id")


class ConversationBook:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def remember(self, conversation: Conversation) -> None:
        """Store it, keeping names already known when this event does not carry them."""
        async with self.store.transaction() as conn:
            known = await conversation_rows.find(conn, SURFACE, conversation.id)
            if known is not None:
                old = Conversation.from_stored(known)
                conversation = replace(
                    conversation,
                    name=conversation.name or old.name,
                    team=conversation.team or old.team,
                    team_id=conversation.team_id or old.team_id,
                )
            await conversation_rows.save(
                conn, SURFACE, conversation.id, conversation.as_stored(), self.clock.now()
            )

    async def knows(self, conversation_id: str) -> bool:
        async with self.store.engine.connect() as conn:
            return await conversation_rows.find(conn, SURFACE, conversation_id) is not None

    async def forget(self, conversation_id: str) -> None:
        async with self.store.transaction() as conn:
            await conversation_rows.remove(conn, SURFACE, conversation_id)

    async def forget_team(self, team_id: str) -> int:
        async with self.store.transaction() as conn:
            rows = await conversation_rows.all_of(conn, SURFACE)
            gone = [row.channel for row in rows if Conversation.from_stored(row).team_id == team_id]
            for channel in gone:
                await conversation_rows.remove(conn, SURFACE, channel)
        return len(gone)

    async def rename_team(self, team_id: str, name: str) -> None:
        async with self.store.transaction() as conn:
            for row in await conversation_rows.all_of(conn, SURFACE):
                known = Conversation.from_stored(row)
                if known.team_id == team_id:
                    renamed = replace(known, team=name)
                    await conversation_rows.save(
                        conn, SURFACE, row.channel, renamed.as_stored(), self.clock.now()
                    )

    async def resolve(self, target: str) -> Conversation | None:
        """The conversation a route's destination names; None if the bot was not added there (yet).

        Raises Ambiguous when a bare name matches channels of several teams.
        """
        async with self.store.engine.connect() as conn:
            exact = await conversation_rows.find(conn, SURFACE, target)
            if exact is not None:
                return Conversation.from_stored(exact)
            known = [Conversation.from_stored(row) for row in await conversation_rows.all_of(conn, SURFACE)]
        matches = [conversation for conversation in known if conversation.called(target)]
        if len(matches) > 1:
            raise Ambiguous(target, matches)
        return matches[0] if matches else None

    async def get(self, conversation_id: str) -> Conversation | None:
        async with self.store.engine.connect() as conn:
            row = await conversation_rows.find(conn, SURFACE, conversation_id)
        return Conversation.from_stored(row) if row is not None else None


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
