"""What a Teams activity tells about where to post, and which route destination names it."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity

from bot.teams.conversations import Conversation, conversation_of

TEAM = "19:general@thread.tacv2"


def incoming(conversation: str, channel_data: dict[str, Any]) -> Activity:
    return Activity.model_validate(
        {
            "type": "message",
            "id": "1731",
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/emea/",
            "from": {"id": "29:ana", "aadObjectId": "aad-ana"},
            "recipient": {"id": "28:bot", "name": "nocbot"},
            "conversation": {"id": conversation, "conversationType": "channel", "tenantId": "t"},
            "channelData": channel_data,
        }
    )


def test_a_thread_message_gives_its_channel() -> None:
    found = conversation_of(
        incoming(
            "19:ops@thread.tacv2;messageid=1731",
            {"channel": {"id": "19:ops@thread.tacv2"}, "team": {"id": TEAM}},
        )
    )
    assert found is not None
    assert found.id == "19:ops@thread.tacv2"
    assert found.reference["conversation"]["id"] == "19:ops@thread.tacv2"
    assert "activityId" not in found.reference
    assert found.reference["bot"]["id"] == "28:bot"
    assert found.team_id == TEAM and found.name is None


def test_the_general_channel_is_named() -> None:
    found = conversation_of(incoming(TEAM, {"team": {"id": TEAM, "name": "Ops"}}))
    assert found is not None
    assert (found.id, found.name, found.team) == (TEAM, "General", "Ops")


def test_a_route_names_a_conversation_by_id_name_or_team_and_name() -> None:
    conversation = Conversation("19:db@thread.tacv2", "https://x/", {}, name="DB critical", team="Ops")
    assert conversation.called("19:db@thread.tacv2")
    assert conversation.called("db CRITICAL")
    assert conversation.called("Ops/DB critical")
    assert not conversation.called("Other/DB critical")
    assert not conversation.called("General")
