"""The alert-source examples work against the real app: the shipped Alertmanager and Grafana
configurations point at the endpoint that accepts what those tools send, and the README's CI/CD
change-event command stores a change."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.conftest import AppClient, auth

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Grafana alerting's webhook body, as Grafana documents it (webhook notifier, "Example JSON body").
GRAFANA_WEBHOOK: dict[str, Any] = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {
                "description": "The system has high CPU usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone eu-1",
            },
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n - team = blue\n - zone = us-1\n",
}


def grafana_settings() -> dict[str, Any]:
    document = yaml.safe_load((EXAMPLES / "grafana-contact-point.yaml").read_text(encoding="utf-8"))
    assert document["apiVersion"] == 1
    (contact_point,) = document["contactPoints"]
    (receiver,) = contact_point["receivers"]
    assert receiver["type"] == "webhook" and receiver["disableResolveMessage"] is False
    settings: dict[str, Any] = receiver["settings"]
    return settings


def alertmanager_config() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "alertmanager.yml").read_text(encoding="utf-8"))
    return document


async def alerts_listed(client: AppClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await (await client.get("/api/v1/alerts", headers=auth())).json())["items"]
    return items


async def test_the_grafana_contact_point_posts_where_grafana_bodies_are_accepted(client: AppClient) -> None:
    settings = grafana_settings()
    assert settings["httpMethod"] == "POST" and settings["authorization_scheme"] == "Bearer"
    path = urlsplit(settings["url"]).path
    response = await client.post(path, json=GRAFANA_WEBHOOK, headers=auth())
    assert response.status == 200, await response.text()
    assert (await response.json())["new"] == 2
    memory = next(a for a in await alerts_listed(client) if a["name"] == "High memory usage")
    assert memory["labels"]["zone"] == "us-1" and memory["status"] == "firing"
    assert memory["starts_at"] == "2021-10-12T07:51:03.157076Z"  # +02:00 read as such
    assert memory["ends_at"] is None

    resolved = copy.deepcopy(GRAFANA_WEBHOOK)
    resolved["status"] = "resolved"
    resolved["alerts"] = resolved["alerts"][:1]
    resolved["alerts"][0].update(status="resolved", endsAt="2021-10-12T10:01:03+02:00")
    assert (await client.post(path, json=resolved, headers=auth())).status == 200
    memory = next(a for a in await alerts_listed(client) if a["name"] == "High memory usage")
    assert memory["status"] == "resolved"


async def test_other_webhook_versions_are_still_refused(client: AppClient) -> None:
    body = {**GRAFANA_WEBHOOK, "version": "2"}
    response = await client.post("/api/v1/alerts/alertmanager", json=body, headers=auth())
    assert response.status == 400 and (await response.json())["field"] == "version"


async def test_the_alertmanager_example_reaches_the_alertmanager_endpoint(client: AppClient) -> None:
    config = alertmanager_config()
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    route = config["route"]
    assert route["receiver"] in receivers
    assert route["group_by"] == ["..."]  # nocbot groups; Alertmanager only forwards
    (webhook,) = receivers[route["receiver"]]["webhook_configs"]
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert "credentials_file" in webhook["http_config"]["authorization"]
    body = json.loads((FIXTURES / "alertmanager" / "firing.json").read_text())
    response = await client.post(urlsplit(webhook["url"]).path, json=body, headers=auth())
    assert response.status == 200 and (await response.json())["new"] == 2


def readme_change_event_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Change events from CI/CD", 1)[1].split("\n## ", 1)[0]
    command = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert command is not None, "the section shows the curl command"
    return command.group(1)


async def test_the_readme_ci_cd_command_stores_a_change(client: AppClient) -> None:
    command = readme_change_event_command()
    assert "/api/v1/changes" in command and "Authorization: Bearer $NOCBOT_INGEST_TOKEN" in command
    heredoc = re.search(r"<<(\w+)\n(.*?)\n\1\n", command, re.DOTALL)
    assert heredoc is not None, "the body is an unquoted here-document, so the shell fills in the variables"
    pipeline = {
        "CI_PIPELINE_ID": "4711",
        "GITLAB_USER_LOGIN": "ana",
        "CI_COMMIT_SHORT_SHA": "1a2b3c4d",
        "CI_ENVIRONMENT_NAME": "production",
    }
    body = json.loads(Template(heredoc.group(2)).substitute(pipeline))
    response = await client.post("/api/v1/changes", json=body, headers=auth())
    assert response.status == 200, await response.text()
    assert (await response.json())["stored"] == 1
    again = await client.post("/api/v1/changes", json=body, headers=auth())
    assert (await again.json())["duplicate"] == 1  # a retried job stores nothing twice
