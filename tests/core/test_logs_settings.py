from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from ivr.logs import configure_logging, current_call_id, mask_number, mask_text
from ivr.settings import Settings, load_settings, normalise_database_url


@pytest.mark.parametrize(("raw", "masked"), [
    ("+34911234567", "+34*****4567"),
    ("5551234", "55*1234"),
    ("1234", "****"),
    ("", ""),
])
def test_mask_number(raw: str, masked: str) -> None:
    assert mask_number(raw) == masked


def test_numbers_inside_text_are_masked_but_times_are_not() -> None:
    assert mask_text("call from +34 911 23 45 67 at 10:42") == "call from +34*****4567 at 10:42"


def test_addresses_and_asterisk_ids_stay_readable() -> None:
    text = "agi 127.0.0.1:4573 uniqueid 1795426452.27 caller 0034-911-234-567"
    assert mask_text(text) == "agi 127.0.0.1:4573 uniqueid 1795426452.27 caller 00*******4567"


def test_json_log_lines_carry_the_call_id_and_mask_numbers() -> None:
    stream = io.StringIO()
    configure_logging(Settings(log_json=True), stream=stream)
    token = current_call_id.set("1795426452.27")
    try:
        logging.getLogger("ivr.test").info("caller %s pressed 1", "+34911234567", extra={"caller": "+34911234567"})
    finally:
        current_call_id.reset(token)
        logging.getLogger().handlers.clear()
    line = json.loads(stream.getvalue().strip())
    assert line["call_id"] == "1795426452.27"
    assert line["msg"] == "caller +34*****4567 pressed 1"
    assert line["caller"] == "+34*****4567"


def test_defaults_need_no_other_service() -> None:
    s = Settings()
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert (s.agi.host, s.agi.port) == ("127.0.0.1", 4573)
    assert (s.sip.host, s.sip.port) == ("127.0.0.1", 5060)


def test_environment_and_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "puente.yaml"
    cfg.write_text("agi:\n  port: 4600\nhttp:\n  port: 9000\n")
    monkeypatch.setenv("IVR_HTTP__PORT", "9100")
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    s = load_settings(config_file=cfg)
    assert s.agi.port == 4600  # from the file
    assert s.http.port == 9100  # the environment wins over the file


def test_one_languages_speech_setting_leaves_the_others_as_they_were(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """docker-compose.yml sets only Spanish's engine; English used to lose its speech with it."""
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    assert Settings(speech={"languages": {"en": {"engine": "pocketsphinx"}}}).speech.languages["es"].engine == "whisper"
    monkeypatch.setenv("IVR_SPEECH__LANGUAGES__ES__ENGINE", "none")
    monkeypatch.setenv("IVR_SPEECH__LANGUAGES__EN__WHISPER_MIN_SNR_DB", "20")
    cfg = tmp_path / "puente.yaml"
    cfg.write_text("speech:\n  languages:\n    ko: {engine: vosk, model_path: /models/ko}\n")
    languages = load_settings(config_file=cfg).speech.languages
    assert (languages["es"].engine, languages["en"].engine) == ("none", "whisper")
    assert languages["en"].whisper_min_snr_db == 20
    assert (languages["ko"].engine, languages["ko"].model_path) == ("vosk", "/models/ko")


def test_postgres_urls_get_the_async_driver() -> None:
    assert normalise_database_url("postgresql://postgres@127.0.0.1:5432/test") == (
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.mark.parametrize("text", [
    "2026-12-06T23:00:00+00:00",
    "2026-12-06T23:00:00.123456Z",
    "2026-12-06 04:42:51,868 INFO ivr.serve puente is up",
    "next change 2026-12-07 00:00 Mon",
    "call 0b6f2c1e-1234-5678-9abc-def012345678 ended",
    "abcdefab-1234-5678-9abc-def012345678",
    '{"at": "2026-12-06T23:00:00+00:00", "id": "9a8b7c6d-0000-4000-8000-123456789012"}',
])
def test_timestamps_and_uuids_are_not_numbers(text: str) -> None:
    assert mask_text(text) == text


def test_numbers_beside_timestamps_are_still_masked() -> None:
    assert mask_text("2026-12-06T23:00:00+00:00 caller +34911234567: hi") == (
        "2026-12-06T23:00:00+00:00 caller +34*****4567: hi")
    assert mask_text("at 10:42 from 600-111-222") == "at 10:42 from 60***1222"


def test_relative_paths_resolve_against_ivr_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    s = load_settings(var_dir=Path("data"), database_url="sqlite:///db/x.db")
    assert s.home == tmp_path / "home"
    assert s.var_dir == tmp_path / "home" / "data"
    assert s.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'home' / 'db' / 'x.db'}"


def test_the_default_home_is_the_checkout_not_the_current_directory(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from ivr.settings import PROJECT_ROOT

    monkeypatch.delenv("IVR_HOME", raising=False)
    monkeypatch.delenv("IVR_VAR_DIR", raising=False)
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.home == PROJECT_ROOT and s.var_dir == PROJECT_ROOT / "var"
