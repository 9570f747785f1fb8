"""Contact policy (ivr/contact), pure: numbers, the customer's zone, quiet hours, the one setting.

The union of what callbacks and deflection tested separately, and the cases where they differed.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callbacks.errors import InvalidNumber as CallbacksInvalidNumber
from deflection.errors import InvalidNumber as DeflectionInvalidNumber
from ivr.contact import (
    InvalidNumber,
    QuietHours,
    customer_zone,
    is_mobile,
    number_zones,
    parse_hhmm,
    pick_zone,
    polite_time,
    to_e164,
)
from ivr.ports import CallbackRefused, DeflectionRefused
from ivr.serve import warn_deprecated_settings
from ivr.settings import Settings, SettingsError, load_settings

MADRID, CANARY = ZoneInfo("Europe/Madrid"), ZoneInfo("Atlantic/Canary")
MOBILE, CANARY_LINE = "+34612345678", "+34922123456"
QUIET = QuietHours(time(21), time(9))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("raw, e164", [
    ("+34 600 111 222", "+34600111222"),
    ("600111222", "+34600111222"),  # national, default region ES
    ("612 345 678", "+34612345678"),
    ("0034600111222", "+34600111222"),  # the 00 prefix: deflection read it, callbacks refused it
    ("0034 612 345 678", "+34612345678"),
    (" +1 212-555-1234 ", "+12125551234"),
    ("001 212 555 1234", "+12125551234"),
])
def test_e164(raw: str, e164: str) -> None:
    assert to_e164(raw, "ES") == e164


def test_national_numbers_are_read_in_the_default_region() -> None:
    assert to_e164("(212) 555-1234", "US") == "+12125551234"
    with pytest.raises(InvalidNumber):
        to_e164("(212) 555-1234", "ES")


@pytest.mark.parametrize("raw, why", [
    ("", "empty"),
    ("12", "not a valid number"),
    ("+34 123", "not a valid number"),
    ("hello", "not a phone number"),
    ("not a number", "not a phone number"),
    ("+1555123", "not a valid number"),
    ("00", "invalid number"),
])
def test_invalid_numbers_say_why_and_what_to_type(raw: str, why: str) -> None:
    with pytest.raises(InvalidNumber, match="invalid number") as caught:
        to_e164(raw, "ES")
    assert why in str(caught.value)
    if raw:
        assert "+34911234567" in str(caught.value) or "empty" in str(caught.value)


def test_one_invalid_number_class_refuses_callbacks_and_links_alike() -> None:
    assert CallbacksInvalidNumber is InvalidNumber is DeflectionInvalidNumber
    error = InvalidNumber("invalid number: too short")
    assert isinstance(error, CallbackRefused) and isinstance(error, DeflectionRefused)
    assert isinstance(error, ValueError)


def test_mobiles() -> None:
    assert is_mobile("+34612345678") and not is_mobile("+34911234567")
    assert not is_mobile("garbage")


# --------------------------------------------------------------------------- zones


def test_spanish_mobiles_default_to_madrid_and_may_choose_the_canaries() -> None:
    # phonenumbers gives both zones for a +34 mobile, the Canaries first: the main zone leads.
    assert number_zones(MOBILE, "Europe/Madrid") == ("Europe/Madrid", "Atlantic/Canary")
    assert number_zones(CANARY_LINE, "Europe/Madrid") == ("Atlantic/Canary",)
    zones = number_zones(MOBILE, "Europe/Madrid")
    assert pick_zone(zones, None) == "Europe/Madrid"
    assert pick_zone(zones, "Atlantic/Canary") == "Atlantic/Canary"
    assert pick_zone(zones, "America/New_York", None) == "Europe/Madrid"  # not the number's country: ignored
    assert pick_zone(zones, None, "Atlantic/Canary") == "Atlantic/Canary"  # the booking's stored zone
    assert number_zones("not a number", "Europe/Madrid") == ("Europe/Madrid",)


def test_the_customers_zone_is_the_chosen_one_else_the_main_one() -> None:
    assert customer_zone(MOBILE, "Europe/Madrid") == MADRID
    assert customer_zone(MOBILE, "Europe/Madrid", "Europe/Madrid") == MADRID
    assert customer_zone(MOBILE, "Europe/Madrid", "Atlantic/Canary") == CANARY
    assert customer_zone(MOBILE, "Europe/Madrid", "America/New_York") == MADRID  # not one of its zones
    assert customer_zone(MOBILE, "Europe/Madrid", "Not/AZone") == MADRID
    assert customer_zone(CANARY_LINE, "Europe/Madrid") == CANARY  # a Canary fixed line has one zone
    assert customer_zone("+12125551234", "Europe/Madrid") == ZoneInfo("America/New_York")
    assert customer_zone("+15551234", "Europe/Madrid") == MADRID  # unknown: the default zone


def test_a_country_without_the_default_zone_uses_its_middle_zone() -> None:
    # deflection took phonenumbers' first zone (alphabetical), callbacks the median offset: the median.
    names = number_zones("+79161234567", "Europe/Madrid")
    assert len(names) > 1 and "Europe/Madrid" not in names
    offsets = sorted(utc(2026, 1, 15, 12).astimezone(ZoneInfo(n)).utcoffset() for n in names)  # type: ignore[type-var]
    main = customer_zone("+79161234567", "Europe/Madrid")
    assert utc(2026, 1, 15, 12).astimezone(main).utcoffset() == offsets[len(offsets) // 2]
    assert names[0] == main.key
    assert customer_zone("+79161234567", "Europe/Madrid") == customer_zone("+79161234567", "UTC")


# --------------------------------------------------------------------------- quiet hours


@pytest.mark.parametrize("number, at, expected", [
    # Madrid in winter is UTC+1: 22:30 local is quiet until 09:00 local = 08:00 UTC next day
    ("+34911234567", utc(2026, 1, 15, 21, 30), utc(2026, 1, 16, 8, 0)),
    # 12:00 UTC = 13:00 Madrid: allowed at once
    ("+34911234567", utc(2026, 1, 15, 12, 0), utc(2026, 1, 15, 12, 0)),
    # New York (UTC-5): 12:00 UTC is 07:00 local, quiet until 09:00 local = 14:00 UTC
    ("+12125551234", utc(2026, 1, 15, 12, 0), utc(2026, 1, 15, 14, 0)),
    # Sydney (UTC+11 in January): 23:00 UTC = 10:00 local next day: allowed
    ("+61212345678", utc(2026, 1, 15, 23, 0), utc(2026, 1, 15, 23, 0)),
    # Sydney: 11:00 UTC = 22:00 local: wait until 09:00 local = 22:00 UTC
    ("+61212345678", utc(2026, 1, 15, 11, 0), utc(2026, 1, 15, 22, 0)),
    # Spanish mobile, no zone chosen: Madrid, the main zone (callbacks used to wait for 09:00 Canaries)
    ("+34600111222", utc(2026, 1, 15, 7, 30), utc(2026, 1, 15, 8, 0)),
    # A Canary fixed line: 09:00 Canaries
    ("+34922123456", utc(2026, 1, 15, 7, 30), utc(2026, 1, 15, 9, 0)),
    # Madrid in summer (UTC+2): 19:30 UTC = 21:30 local: quiet until 07:00 UTC next day
    ("+34911234567", utc(2026, 7, 15, 19, 30), utc(2026, 7, 16, 7, 0)),
])
def test_quiet_hours_in_the_customers_time_zone(number: str, at: datetime, expected: datetime) -> None:
    polite = polite_time(at, customer_zone(number, "Europe/Madrid"), QUIET)
    assert polite == expected and polite.tzinfo is UTC  # stored and compared in UTC


def test_a_chosen_zone_moves_quiet_hours() -> None:
    at = utc(2026, 1, 15, 7, 30)  # 08:30 Madrid, 07:30 Canaries
    assert polite_time(at, customer_zone(MOBILE, "Europe/Madrid", "Atlantic/Canary"), QUIET) == utc(2026, 1, 15, 9)


def test_quiet_hours_wrap_midnight() -> None:
    # 22:30 Madrid (21:30 UTC in winter): quiet until 09:00 next day.
    assert QUIET.until(utc(2026, 11, 23, 21, 30), MADRID) == datetime(2026, 11, 24, 9, 0, tzinfo=MADRID)
    # 03:00 Madrid: quiet until 09:00 the same day.
    assert QUIET.until(utc(2026, 11, 24, 2, 0), MADRID) == datetime(2026, 11, 24, 9, 0, tzinfo=MADRID)
    assert QUIET.until(utc(2026, 11, 24, 11, 0), MADRID) is None


def test_quiet_hours_within_a_day_and_none() -> None:
    lunch = QuietHours(time(14), time(16))
    assert lunch.is_quiet(time(15)) and not lunch.is_quiet(time(16)) and not lunch.is_quiet(time(13, 59))
    utc_zone = ZoneInfo("UTC")
    assert polite_time(utc(2026, 1, 1, 15), utc_zone, lunch) == utc(2026, 1, 1, 16)
    assert polite_time(utc(2026, 1, 1, 23), utc_zone, None) == utc(2026, 1, 1, 23)
    assert not QuietHours(time(9), time(9)).is_quiet(time(9))


def test_quiet_hours_parse_and_say_which_text_is_wrong() -> None:
    assert QuietHours.parse("21:00", "09:00") == QUIET
    assert parse_hhmm("08:30") == time(8, 30)
    with pytest.raises(ValueError, match="'9pm' is not a time of day"):
        QuietHours.parse("9pm", "09:00")


# --------------------------------------------------------------------------- the one setting


def test_one_default_region_and_zone_for_both_domains() -> None:
    s = Settings(contact={"default_region": "fr", "default_timezone": "Europe/Paris"})
    assert s.contact.default_region == "FR" and s.contact.default_timezone == "Europe/Paris"
    assert not hasattr(s.deflection, "default_region") and not hasattr(s.callbacks, "default_region")
    assert s.deprecated_keys == []


def test_the_old_names_still_work_and_are_reported() -> None:
    s = Settings(deflection={"default_region": "PT"}, callbacks={"default_timezone": "Atlantic/Canary"})
    assert s.contact.default_region == "PT" and s.contact.default_timezone == "Atlantic/Canary"
    assert sorted(s.deprecated_keys) == ["callbacks.default_timezone", "deflection.default_region"]
    both = Settings(contact={"default_region": "ES"}, callbacks={"default_region": "PT"})
    assert both.contact.default_region == "ES"  # the new name wins


def test_old_names_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_CALLBACKS__DEFAULT_REGION", "IT")
    s = Settings()
    assert s.contact.default_region == "IT" and s.deprecated_keys == ["callbacks.default_region"]


@pytest.mark.parametrize("section, message", [
    ({"default_region": "XX"}, "two-letter country code"),
    ({"default_timezone": "Mars/Olympus"}, "IANA name"),
])
def test_bad_contact_settings_name_the_fix(section: dict[str, str], message: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in section.items():
        monkeypatch.setenv(f"IVR_CONTACT__{key.upper()}", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_old_names_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "puente.yaml"
    config.write_text("deflection:\n  default_region: PT\n  link_ttl_hours: 12\n", encoding="utf-8")
    s = load_settings(config)
    assert s.contact.default_region == "PT" and s.deprecated_keys == ["deflection.default_region"]
    assert s.deflection.link_ttl_hours == 12  # the rest of the section is kept


def test_serve_warns_once_per_old_name(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="ivr.serve"):
        warn_deprecated_settings(Settings(callbacks={"default_region": "PT"}))
        warn_deprecated_settings(Settings())
    assert [(r.getMessage(), getattr(r, "setting", None), getattr(r, "use", None)) for r in caplog.records] == [
        ("deprecated setting name: still read, rename it", "callbacks.default_region",
         "contact.default_region (IVR_CONTACT__DEFAULT_REGION)")]


def test_the_contact_module_is_core_and_imports_no_domain() -> None:
    """Callbacks and deflection depend on it, never the other way round."""
    package = Path(__file__).resolve().parents[2] / "ivr" / "contact"
    imported: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert "ivr" in imported and "phonenumbers" in imported
    assert not imported & {"callbacks", "deflection", "api"}
