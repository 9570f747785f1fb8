"""One typed settings object for the whole server.

Values come from, in order of precedence: explicit keyword arguments, ``IVR_*`` environment
variables (nested sections use ``__``, e.g. ``IVR_AGI__PORT=4574``), a YAML config file named by
``IVR_CONFIG`` (or passed to :func:`load_settings`; ``IVR_HOME/puente.yaml`` when neither names one),
then the embedded defaults below. The defaults need no other service: SQLite under ``IVR_HOME/var/``,
HTTP on 127.0.0.1:8080, FastAGI on 127.0.0.1:4573, the built-in SIP endpoint on 127.0.0.1:5060.

``IVR_HOME`` is where Puente keeps its data and finds its configuration, whatever the current
directory: by default the checkout this package runs from (a source install), else the user's data
directory (``$XDG_DATA_HOME/puente``). Relative paths in settings resolve against it.

This module loads the settings; the sections are defined by concern in ``settings_web`` (HTTP,
logins), ``settings_telephony`` (AGI, AudioSocket, AMI, SIP), ``settings_speech``,
``settings_customers`` (contact policy, deflection, callbacks) and ``settings_runtime`` (node, ACD,
flows, supervision, MQTT), and are imported from here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ivr.loops import EventLoopChoice
from ivr.settings_customers import (
    DEPRECATED_CONTACT_KEYS,
    CallbackSettings,
    ContactSettings,
    DeflectionSettings,
)
from ivr.settings_runtime import AcdSettings, FlowSettings, MqttSettings, NodeSettings, SupervisionSettings
from ivr.settings_speech import SpeechLanguageSettings, SpeechSettings
from ivr.settings_telephony import AgiSettings, AmiSettings, AudioSocketSettings, DigestName, SipSettings
from ivr.settings_web import AuthSettings, HttpSettings

# The sections live in the settings_* modules, one concern each; code imports them all from here.
__all__ = [
    "CONFIG_ENV", "CONFIG_ENV_ALIAS", "DATABASE_SCHEMES", "DEPRECATED_CONTACT_KEYS", "HOME_CONFIG_NAME",
    "PROJECT_ROOT", "SUPPORTED_URL_PREFIXES", "AcdSettings", "AgiSettings", "AmiSettings", "AudioSocketSettings",
    "AuthSettings", "CallbackSettings", "ConfigurationError", "ContactSettings", "DeflectionSettings",
    "DigestName", "FlowSettings", "HttpSettings", "MqttSettings", "NodeSettings", "Settings", "SettingsError",
    "SipSettings", "SpeechLanguageSettings", "SpeechSettings", "SupervisionSettings", "config_file_path",
    "default_home", "describe_validation", "load_settings", "normalise_database_url",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "IVR_CONFIG"
CONFIG_ENV_ALIAS = "IVR_CONFIG_FILE"  # the name the reference table once showed; still accepted
HOME_CONFIG_NAME = "puente.yaml"
DATABASE_SCHEMES = ("sqlite:///PATH", "postgresql://USER@HOST:PORT/DB")


class SettingsError(Exception):
    """A configuration problem, told in one line that names the fix."""


def default_home() -> Path:
    """``IVR_HOME``, else the checkout the package runs from, else the user's data directory."""
    named = os.environ.get("IVR_HOME")
    if named:
        return Path(named).expanduser().resolve()
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "dialplan").is_dir():
        return PROJECT_ROOT
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "puente"


class ConfigurationError(SettingsError, ValueError):
    """A configuration problem found while wiring (e.g. an unreadable SIP secrets file): one line
    that names the fix, printed like any other :class:`SettingsError`."""


class Settings(BaseSettings):
    """Everything configurable, in one place."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_nested_delimiter="__", extra="ignore")

    config_file: Path | None = None
    # Where data lives and relative paths resolve (IVR_HOME); see default_home().
    home: Path = Field(default_factory=default_home)
    site: str = "default"
    # The contact centre's own zone: every time a person reads in the web UI (and the wallboard's
    # hours) is shown in it, with its name. An IANA name; checked at start-up.
    timezone: str = "Europe/Madrid"
    var_dir: Path = Path("var")
    database_url: str = ""  # default: sqlite under var_dir
    flows_dir: Path = PROJECT_ROOT / "dialplan" / "flows"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    default_language: str = "es"
    languages: list[str] = Field(default_factory=lambda: ["es", "en"])
    log_level: str = "INFO"
    log_json: bool = True
    # The event loop of `ivr serve`: auto = uvloop when installed, else the standard asyncio loop.
    event_loop: EventLoopChoice = EventLoopChoice.AUTO
    returning_caller_window_minutes: float = 120.0
    # The support flow's order status: GET {url}/{order} (see ivr/flows/lookup.py). Unset: no lookup
    # (the caller hears it cannot be checked and is offered an agent), unless the demo table is on.
    order_lookup_url: str | None = None
    order_lookup_demo: bool = False  # answer from a fixed table of ten made-up orders (demos only)

    http: HttpSettings = Field(default_factory=HttpSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    audiosocket: AudioSocketSettings = Field(default_factory=AudioSocketSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    deflection: DeflectionSettings = Field(default_factory=DeflectionSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    contact: ContactSettings = Field(default_factory=ContactSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    node: NodeSettings = Field(default_factory=NodeSettings)
    acd: AcdSettings = Field(default_factory=AcdSettings)
    flows: FlowSettings = Field(default_factory=FlowSettings)
    supervision: SupervisionSettings = Field(default_factory=SupervisionSettings)
    # Per-queue changes over dialplan/queues.yaml, e.g. IVR_QUEUES__BILLING__OFFER_CALLBACK_EWT_ABOVE=0.
    queues: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        if url and not url.startswith(SUPPORTED_URL_PREFIXES):
            scheme = url.split("://", 1)[0] if "://" in url else url
            raise ValueError(f"unsupported database {scheme!r}: use {' or '.join(DATABASE_SCHEMES)}")
        return url

    # Old names noticed while loading, for `ivr serve` to warn about (settings load before logging).
    deprecated_keys: list[str] = Field(default_factory=list, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _deprecated_contact_keys(cls, data: Any) -> Any:
        """``deflection.default_region`` and friends become ``contact.*`` (the new name wins)."""
        if not isinstance(data, dict):
            return data
        contact = dict(data.get("contact") or {})
        seen: list[str] = []
        for (section, key), new in DEPRECATED_CONTACT_KEYS.items():
            old = data.get(section)
            if isinstance(old, dict) and key in old:
                old = dict(old)
                contact.setdefault(new, old.pop(key))
                data = {**data, section: old}
                seen.append(f"{section}.{key}")
        if seen:
            data = {**data, "contact": contact, "deprecated_keys": seen}
        return data

    @model_validator(mode="after")
    def _resolve_against_home(self) -> Settings:
        """Relative paths mean "under IVR_HOME", never "under the current directory"."""
        self.home = self.home.expanduser().resolve()
        self.var_dir = self._under_home(self.var_dir)
        self.flows_dir = self._under_home(self.flows_dir)
        self.prompts_dir = self._under_home(self.prompts_dir)
        if self.speech.models_dir:
            self.speech.models_dir = str(self._under_home(Path(self.speech.models_dir)))
        return self

    def _under_home(self, path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else self.home / path

    @model_validator(mode="after")
    def _known_timezone(self) -> Settings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not an IANA zone name (e.g. Europe/Madrid)") from None
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        explicit = getattr(init_settings, "init_kwargs", {}).get("config_file")
        return (init_settings, env_settings, _YamlFileSource(settings_cls, explicit))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            url = normalise_database_url(self.database_url)
            prefix = "sqlite+aiosqlite:///"
            if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
                url = prefix + str(self._under_home(Path(url[len(prefix):])))
            return url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'puente.db').resolve()}"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for another database (or an in-memory one)."""
        url = self.effective_database_url
        prefix = "sqlite+aiosqlite:///"
        if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
            return None
        return Path(url[len(prefix):])


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the optional YAML config file (``config_file=`` or ``IVR_CONFIG``)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | str | None) -> None:
        super().__init__(settings_cls)
        self._path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = config_file_path(self._path)
        if path is None:
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise SettingsError(f"cannot read the config file {path}: {exc.strerror or exc}; "
                                f"fix --config / {CONFIG_ENV}") from None
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise SettingsError(f"the config file {path} is not valid YAML{at}: {problem}") from None
        if not isinstance(data, dict):
            raise SettingsError(f"the config file {path} must hold a mapping of settings (e.g. `http: {{port: 8080}}`)")
        return data


def config_file_path(explicit: Path | str | None) -> Path | None:
    """The YAML file to read: given, ``IVR_CONFIG`` (or ``IVR_CONFIG_FILE``), else ``IVR_HOME/puente.yaml``
    when it exists. An empty ``IVR_CONFIG`` means "no file"."""
    if explicit:
        return Path(explicit)
    for name in (CONFIG_ENV, CONFIG_ENV_ALIAS):
        if name in os.environ:
            value = os.environ[name]
            return Path(value) if value else None
    beside_data = default_home() / HOME_CONFIG_NAME
    return beside_data if beside_data.is_file() else None


SUPPORTED_URL_PREFIXES = ("sqlite://", "sqlite+aiosqlite://", "postgresql://", "postgres://",
                          "postgresql+asyncpg://")


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick the async drivers."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """The settings, or :class:`SettingsError` saying in one line what is wrong and where."""
    try:
        return Settings(config_file=config_file, **overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation(exc, config_file_path(config_file))) from None


def describe_validation(exc: ValidationError, path: Path | None) -> str:
    problems = []
    for err in exc.errors()[:3]:
        name = ".".join(str(part) for part in err["loc"])
        env = "IVR_" + "__".join(str(part).upper() for part in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{name} ({env}): {message}")
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    source = f" (environment or {path})" if path else " (environment)"
    return f"invalid settings{source}: " + "; ".join(problems) + more
