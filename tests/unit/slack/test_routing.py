"""The routing table: first match wins, conditions as documented, bad syntax named precisely."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.routing import IncidentFacts, Route, RoutingError, RoutingTable, parse_routes
from engine.models import Priority

EXAMPLE = "service=payments:#pay-oncall; team=db,priority<=2:#db-critical; *:#incidents"


def facts(*services: str, team: str | None = None, priority: int | None = None) -> IncidentFacts:
    return IncidentFacts(services, team, Priority(priority) if priority is not None else None)


@pytest.mark.parametrize(
    ("incident", "channel"),
    [
        (facts("payments", priority=5), "#pay-oncall"),
        (facts("checkout", "payments"), "#pay-oncall"),  # any of its services
        (facts("orders", team="db", priority=1), "#db-critical"),
        (facts("orders", team="db", priority=2), "#db-critical"),
        (facts("orders", team="db", priority=3), "#incidents"),  # not urgent enough
        (facts("orders", team="db"), "#incidents"),  # unscored never meets a priority condition
        (facts("payments", team="db", priority=1), "#pay-oncall"),  # first match wins
        (facts(), "#incidents"),
    ],
)
def test_the_first_matching_route_picks_the_channel(incident: IncidentFacts, channel: str) -> None:
    assert parse_routes(EXAMPLE).channel_for(incident) == channel


def test_alternatives_and_ids() -> None:
    table = parse_routes("service=search|index,team=core:C0123ABCD;priority<=P1:#sev1")
    assert table.channel_for(facts("index", team="core")) == "C0123ABCD"
    assert table.channel_for(facts("search", team="other", priority=1)) == "#sev1"
    assert table.channel_for(facts("search", team="other", priority=2)) is None  # no default route
    assert table.channels == ("C0123ABCD", "#sev1")


def test_empty_means_no_routes() -> None:
    assert not parse_routes("")
    assert not parse_routes(" ; ")
    assert parse_routes("*:#incidents;")  # a trailing separator is harmless


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("service=payments", "route 1 'service=payments': expected CONDITIONS:#channel"),
        ("service=a:#x;prio<=2:#y", "route 2 'prio<=2:#y': unknown condition 'prio<=2'"),
        ("priority<=7:#x", "bad priority '7'"),
        ("priority<=P0:#x", "bad priority 'P0'"),
        ("service=pay ments:#x", "bad service name 'pay ments'"),
        ("team=db|:#x", "bad team name ''"),
        ("service=a:#Incidents", "bad channel '#Incidents'"),
        ("service=a:incidents", "bad channel 'incidents'"),
        ("service=a,service=b:#x", "service is given twice"),
        (":#x", "no conditions before ':'"),
        ("*,team=a:#x", "'*' cannot be combined"),
        ("*:#x;service=a:#y", "route 1 '*:#x': '*' matches everything"),
        ("severity=critical:#x", "unknown condition 'severity=critical'"),
    ],
)
def test_bad_routes_are_refused_naming_the_part(text: str, named: str) -> None:
    with pytest.raises(RoutingError) as raised:
        parse_routes(text)
    assert named in str(raised.value)


_names = st.frozensets(
    st.sampled_from(["payments", "db", "search-2", "core.api", "team/a"]), min_size=1, max_size=3
)
_conditional_routes = st.builds(
    Route,
    channel=st.sampled_from(["#incidents", "#db-critical", "#pay_oncall", "C0123ABCD", "G9876ZYXW"]),
    services=st.none() | _names,
    teams=st.none() | _names,
    max_priority=st.none() | st.sampled_from(list(Priority)),
).filter(lambda route: not route.is_default)


@given(st.lists(_conditional_routes, max_size=5), st.booleans())
def test_a_table_reads_back_what_it_writes(routes: list[Route], with_default: bool) -> None:
    table = RoutingTable(tuple(routes) + ((Route("#incidents"),) if with_default else ()))
    assert parse_routes(str(table)) == table
