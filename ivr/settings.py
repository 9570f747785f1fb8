"""One typed settings object for the whole server.

Values come from, in order of precedence: explicit keyword arguments, ``IVR_*`` environment
variables (nested sections use ``__``, e.g. ``IVR_AGI__PORT=4574``), a YAML config file named by
``IVR_CONFIG`` (or passed to :func:`load_settings`), then the embedded defaults below. The defaults
need no other service: SQLite under ``./var/``, HTTP on 127.0.0.1:8080, FastAGI on 127.0.0.1:4573,
the built-in SIP endpoint on 127.0.0.1:5060.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"


class AgiSettings(BaseModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 4573
    command_timeout: float = 30.0
    max_line_bytes: int = 8192
    shutdown_grace: float = 10.0
    # Where Asterisk reads Puente's prompts from, as a sound name prefix (``puente/es/greeting``).
    sound_prefix: str = "puente"


class AudioSocketSettings(BaseModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9092
    # The address Asterisk must connect to (what goes into ``EXEC AudioSocket``).
    advertised: str = "127.0.0.1:9092"


class AmiSettings(BaseModel):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "puente"
    secret: str = ""
    reconnect_max_delay: float = 30.0


class SipSettings(BaseModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 5060
    rtp_host: str = "127.0.0.1"
    rtp_port_min: int = 20000
    rtp_port_max: int = 30000
    max_calls: int = 200
    user_agent: str = "Puente"


class MqttSettings(BaseModel):
    url: str | None = None  # e.g. mqtt://127.0.0.1:1883
    site: str = "default"
    buffer_size: int = 10_000
    reconnect_max_delay: float = 30.0


class SpeechLanguageSettings(BaseModel):
    engine: Literal["pocketsphinx", "vosk", "none"] = "pocketsphinx"
    model_path: str | None = None


class SpeechSettings(BaseModel):
    enabled: bool = True
    confidence_threshold: float = 0.5
    no_input_timeout: float = 5.0
    languages: dict[str, SpeechLanguageSettings] = Field(
        default_factory=lambda: {
            "en": SpeechLanguageSettings(engine="pocketsphinx"),
            "es": SpeechLanguageSettings(engine="none"),
        }
    )


class DeflectionSettings(BaseModel):
    provider_sms: Literal["outbox", "twilio"] = "outbox"
    provider_whatsapp: Literal["outbox", "meta", "none"] = "none"
    link_ttl_hours: float = 24.0
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_base_url: str = "https://api.twilio.com"
    meta_phone_number_id: str = ""
    meta_access_token: str = ""
    meta_app_secret: str = ""
    meta_base_url: str = "https://graph.facebook.com/v20.0"
    meta_template: str = "puente_link"
    whatsapp_business_number: str = ""
    case_response_target_hours: float = 24.0
    open_rate_limit_per_minute: int = 30


class CallbackSettings(BaseModel):
    enabled: bool = True
    caller_id: str = "+34910000000"
    poll_interval: float = 1.0
    lease_seconds: float = 120.0
    default_region: str = "ES"


class AuthSettings(BaseModel):
    session_secret: str = ""  # generated and stored under var/ when empty
    token_ttl_hours: float = 12.0


class Settings(BaseSettings):
    """Everything configurable, in one place."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_nested_delimiter="__", extra="ignore")

    site: str = "default"
    var_dir: Path = Path("var")
    database_url: str = ""  # default: sqlite under var_dir
    flows_dir: Path = PROJECT_ROOT / "dialplan" / "flows"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    default_language: str = "es"
    languages: list[str] = Field(default_factory=lambda: ["es", "en"])
    log_level: str = "INFO"
    log_json: bool = True
    returning_caller_window_minutes: float = 120.0
    order_lookup_url: str | None = None  # None: the built-in demo table

    http: HttpSettings = Field(default_factory=HttpSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    audiosocket: AudioSocketSettings = Field(default_factory=AudioSocketSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    deflection: DeflectionSettings = Field(default_factory=DeflectionSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlFileSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.var_dir / 'puente.db').resolve()}"


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the optional YAML config file named by ``IVR_CONFIG``."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("IVR_CONFIG")
        if not path:
            return {}
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the config file must hold a mapping")
        return data


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick the async drivers."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    if config_file is not None:
        os.environ["IVR_CONFIG"] = str(config_file)
    return Settings(**overrides)
