"""The Teams app package: a zip Teams accepts — manifest fields of schema 1.17 and the icon sizes."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.cli import main
from integrations.teams_package import TeamsApp, build_package

APP_ID = "0c6f1a0e-2a39-4d6b-9a57-3f1f2d8e9b41"
URL = "https://nocbot.example.com"


def build(tmp_path: Path, *argv: str) -> zipfile.ZipFile:
    output = tmp_path / "nocbot-teams.zip"
    assert main(["teams-package", "--app-id", APP_ID, "--url", URL, "--output", str(output), *argv]) == 0
    return zipfile.ZipFile(output)


def image(archive: zipfile.ZipFile, name: str) -> Image.Image:
    picture = Image.open(io.BytesIO(archive.read(name)))
    picture.load()
    return picture


def rgba(picture: Image.Image) -> list[tuple[int, ...]]:
    data = picture.convert("RGBA").tobytes()
    return [tuple(data[i : i + 4]) for i in range(0, len(data), 4)]


@pytest.fixture
def package(tmp_path: Path) -> zipfile.ZipFile:
    return build(tmp_path)


@pytest.fixture
def manifest(package: zipfile.ZipFile) -> dict[str, Any]:
    document = json.loads(package.read("manifest.json"))
    assert isinstance(document, dict)
    return document


def test_the_zip_holds_the_manifest_and_icons_at_its_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert package.testzip() is None


def test_manifest_fields(manifest: dict[str, Any]) -> None:
    # the properties schema 1.17 requires
    for key in (
        "manifestVersion",
        "version",
        "id",
        "developer",
        "name",
        "description",
        "icons",
        "accentColor",
    ):
        assert key in manifest, key
    assert manifest["manifestVersion"] == "1.17"
    assert manifest["$schema"].endswith("/v1.17/MicrosoftTeams.schema.json")
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["id"] == APP_ID
    assert re.fullmatch(r"#[0-9A-F]{6}", manifest["accentColor"])
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80 and len(manifest["description"]["full"]) <= 4000
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith("https://")
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["validDomains"] == ["nocbot.example.com"]


def test_the_bot_and_its_commands(manifest: dict[str, Any]) -> None:
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    (commands,) = bot["commandLists"]
    titles = [command["title"] for command in commands["commands"]]
    assert titles == ["ask", "status", "silence", "help"]  # the verbs bot.slack.commands understands
    assert len(commands["commands"]) <= 10
    for command in commands["commands"]:
        assert len(command["title"]) <= 32 and 0 < len(command["description"]) <= 128


def test_icons_have_the_sizes_teams_requires(package: zipfile.ZipFile) -> None:
    color = image(package, "color.png")
    outline = image(package, "outline.png")
    assert color.format == outline.format == "PNG"
    assert color.size == (192, 192)
    assert outline.size == (32, 32)


def test_the_outline_icon_is_white_on_transparent(package: zipfile.ZipFile) -> None:
    pixels = rgba(image(package, "outline.png"))
    assert all(alpha == 0 or (r, g, b) == (255, 255, 255) for r, g, b, alpha in pixels)
    opaque = sum(alpha == 255 for *_, alpha in pixels)
    clear = sum(alpha == 0 for *_, alpha in pixels)
    assert opaque > 0.1 * len(pixels) and clear > 0.3 * len(pixels)  # a symbol, not a blank or a block


def test_the_color_icon_is_opaque_with_a_white_symbol(package: zipfile.ZipFile) -> None:
    pixels = rgba(image(package, "color.png"))
    assert all(alpha == 255 for *_, alpha in pixels)
    assert sum((r, g, b) == (255, 255, 255) for r, g, b, _ in pixels) > 0.1 * len(pixels)
    assert pixels[0][:3] == (0x1D, 0x35, 0x57)  # the accent colour behind it


def test_building_twice_gives_the_same_bytes() -> None:
    app = TeamsApp(app_id=APP_ID, url=URL)
    assert build_package(app) == build_package(app)


def test_the_app_version_is_taken(tmp_path: Path) -> None:
    manifest = json.loads(build(tmp_path, "--app-version", "1.2.3").read("manifest.json"))
    assert manifest["version"] == "1.2.3"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--app-id", "not-a-guid", "--url", URL], "not a GUID"),
        (["--app-id", APP_ID, "--url", "http://nocbot.example.com"], "https"),
        (["--app-id", APP_ID, "--url", URL, "--app-version", "1.0"], "MAJOR.MINOR.PATCH"),
        (["--url", URL], "--app-id"),
        (["--app-id", APP_ID], "--url"),
    ],
)
def test_refuses_what_teams_would(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOCBOT_TEAMS_APP_ID", raising=False)
    monkeypatch.delenv("NOCBOT_PUBLIC_URL", raising=False)
    output = tmp_path / "out.zip"
    assert main(["teams-package", *argv, "--output", str(output)]) == 1
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_app_id_and_url_default_to_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOCBOT_TEAMS_APP_ID", APP_ID)
    monkeypatch.setenv("NOCBOT_PUBLIC_URL", "https://bot.example.org/")
    output = tmp_path / "out.zip"
    assert main(["teams-package", "--output", str(output)]) == 0
    manifest = json.loads(zipfile.ZipFile(output).read("manifest.json"))
    assert manifest["bots"][0]["botId"] == APP_ID and manifest["validDomains"] == ["bot.example.org"]
    assert "https://bot.example.org/api/messages" in capsys.readouterr().out
