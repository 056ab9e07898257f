import pytest

from bot.settings import DEFAULT_DATABASE_URL, SETTINGS, SURFACE_SETTINGS, Settings, SettingsError


def test_defaults_are_the_embedded_database_and_utc() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.timezone == "UTC"
    assert settings.port == 8080


def test_every_declared_setting_is_a_field_with_the_same_default() -> None:
    defaults = Settings.from_env({})
    fields = set(Settings.__dataclass_fields__)
    for spec in SETTINGS:
        assert spec.field in fields, spec.field
        assert getattr(defaults, spec.field) == getattr(Settings(), spec.field), spec.env
    # the rest are the surfaces' own settings objects, each from its own table
    assert fields - {spec.field for spec in SETTINGS} == set(SURFACE_SETTINGS)
    for name in SURFACE_SETTINGS:
        assert getattr(defaults, name) == getattr(Settings(), name), name


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NOCBOT_PORT", "eighty"),
        ("NOCBOT_PORT", "70000"),
        ("NOCBOT_DATABASE_URL", "mysql://x"),
        ("NOCBOT_TIMEZONE", "Mars/Olympus"),
        ("NOCBOT_AUTH_DISABLED", "perhaps"),
        ("NOCBOT_MAX_BODY_BYTES", "-1"),
        ("NOCBOT_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_serving_needs_a_token_unless_auth_is_off_on_loopback() -> None:
    with pytest.raises(SettingsError, match="NOCBOT_INGEST_TOKEN"):
        Settings.from_env({}).check_serving()
    Settings.from_env({"NOCBOT_INGEST_TOKEN": "t"}).check_serving()
    Settings.from_env({"NOCBOT_AUTH_DISABLED": "true"}).check_serving()
    with pytest.raises(SettingsError, match="loopback"):
        Settings.from_env({"NOCBOT_AUTH_DISABLED": "true", "NOCBOT_HOST": "0.0.0.0"}).check_serving()


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_metric_limits_are_validated_naming_the_variable() -> None:
    settings = Settings.from_env({"NOCBOT_METRIC_LIMITS": "disk_used_percent>=95, pool_free<=0"})
    assert settings.metric_limits == ("disk_used_percent>=95", "pool_free<=0")
    with pytest.raises(SettingsError, match="NOCBOT_METRIC_LIMITS"):
        Settings.from_env({"NOCBOT_METRIC_LIMITS": "disk_used_percent>ninety"})
