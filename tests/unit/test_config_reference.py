"""The README's configuration reference lists every setting with its real default."""

from pathlib import Path

from bot.pagerduty.settings import PAGERDUTY_SETTINGS
from bot.settings import SETTINGS
from bot.slack.settings import SLACK_SETTINGS
from bot.teams.settings import TEAMS_SETTINGS

ALL_SETTINGS = (*SETTINGS, *SLACK_SETTINGS, *PAGERDUTY_SETTINGS, *TEAMS_SETTINGS)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_with_its_default() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip().strip("`")
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `NOCBOT_")
    }
    for spec in ALL_SETTINGS:
        assert spec.env in rows, f"{spec.env} is missing from the README configuration reference"
        if spec.default:
            assert rows[spec.env] == spec.default, f"{spec.env}: README says {rows[spec.env]!r}"
    assert set(rows) == {spec.env for spec in ALL_SETTINGS}
