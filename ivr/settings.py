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
from pydantic import BaseModel, Field, IPvAnyNetwork, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ivr.loops import EventLoopChoice

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs, as a JSON
    # list in IVR_HTTP__TRUSTED_PROXIES). Empty: nobody's, every per-IP limit uses the peer address.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)


class AgiSettings(BaseModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 4573
    command_timeout: float = 30.0
    max_line_bytes: int = 8192
    shutdown_grace: float = 10.0
    # Where Asterisk reads Puente's prompts from, as a sound name prefix (``puente/es/greeting``).
    sound_prefix: str = "puente"
    # A connection must deliver its whole agi_* block within this time (slowloris guard).
    header_timeout: float = 5.0
    # Commands that last as long as their media get their own bound: the longest prompt, the
    # longest bridge to an agent, plus a margin for Asterisk's own latency.
    max_prompt_seconds: float = 600.0
    max_bridge_seconds: float = 4 * 3600.0
    timeout_margin: float = 5.0
    moh_class: str = "default"  # musiconhold.conf class for SET MUSIC on
    # The dialplan context Dial's answer hook runs on the agent's channel (U() option; shipped in
    # dialplan/asterisk/extensions.conf). Empty: no hook (ring/talk times then come from Dial's span).
    answer_hook_context: str = "puente-agent-answered"


class AudioSocketSettings(BaseModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9092
    # The address Asterisk must connect to (what goes into ``EXEC AudioSocket``).
    advertised: str = "127.0.0.1:9092"
    # How long Asterisk may take to connect back after ``EXEC AudioSocket`` (and to send its uuid).
    connect_timeout: float = 5.0


class AmiSettings(BaseModel):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "puente"
    secret: str = ""
    reconnect_max_delay: float = 30.0
    # Device states are listed again (DeviceStateList) after login, on FullyBooted and module
    # reloads, and every this many seconds (0: never), so a missed change cannot linger.
    resync_interval: float = 30.0


class SipSettings(BaseModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 5060
    rtp_host: str = "127.0.0.1"
    rtp_port_min: int = 20000
    rtp_port_max: int = 30000
    max_calls: int = 200
    user_agent: str = "Puente"
    # RFC 3261 timers T1/T2 (seconds): retransmission start and cap; 64*T1 is the give-up time.
    t1: float = 0.5
    t2: float = 4.0


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
    # Trailing silence that ends an utterance, and the longest utterance we listen to.
    endpoint_silence_ms: int = 700
    max_utterance_seconds: float = 10.0
    # Decoding workers (processes for PocketSphinx, which holds the GIL; threads for Vosk); each
    # holds one decoder pair per language (~50 MB). Unset: half the cores, 1 to 4.
    workers: int | None = None
    # Utterances waiting or decoding at most (unset: 8 per worker); past it a menu turn is keys only.
    max_pending: int | None = None
    # An utterance not taken by a worker within this many seconds is not decoded (keys this turn).
    decode_deadline_seconds: float = 1.0
    # Below this match score a transcript maps to no option.
    min_match_score: float = 0.6
    # Spectral noise subtraction in front of the recognizers (big gain on noisy lines).
    denoise: bool = True
    # PocketSphinx misreads digital silence: a fixed noise floor (sample std-dev) is added first.
    pocketsphinx_noise_floor: float = 200.0
    # A phone-loop decoder beside each grammar decoder rejects out-of-grammar speech (~25 MB more per worker).
    pocketsphinx_verify: bool = True
    # ``ivr models fetch``: official Vosk models and where they go (``var_dir/models`` when unset).
    vosk_models_url: str = "https://alphacephei.com/vosk/models"
    models_dir: str | None = None
    languages: dict[str, SpeechLanguageSettings] = Field(
        default_factory=lambda: {
            "en": SpeechLanguageSettings(engine="pocketsphinx"),
            # The English acoustic model with Spanish words spelled in its phones (no download).
            "es": SpeechLanguageSettings(engine="pocketsphinx"),
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
    meta_verify_token: str = ""  # the webhook subscription handshake's hub.verify_token
    meta_base_url: str = "https://graph.facebook.com/v20.0"
    meta_template: str = "puente_link"
    whatsapp_business_number: str = ""
    case_response_target_hours: float = 24.0
    open_rate_limit_per_minute: int = 30
    # The schedule whose opening hours the page's "call me back at" slots follow.
    schedule: str = "support"
    callback_slot_minutes: int = 30
    callback_slot_days: int = 3
    callback_default_queue: str = "general"  # when the call never reached a queue
    default_region: str = "ES"  # for numbers given without a country code
    default_timezone: str = "Europe/Madrid"  # the customer's, when the number spans several
    # No message is sent in the customer's local night: deferred until quiet hours end.
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "09:00"
    deferred_poll_seconds: float = 30.0
    # Post-call rating link when a queue's `deflection: {rating: ...}` does not say.
    rating_after_call: bool = False


class CallbackSettings(BaseModel):
    enabled: bool = True
    caller_id: str = "+34910000000"
    poll_interval: float = 1.0
    lease_seconds: float = 120.0
    default_region: str = "ES"
    # Quiet hours use this zone when a number's country says nothing (e.g. an invalid region).
    default_timezone: str = "Europe/Madrid"
    dispatch: bool = True  # run a dispatcher in this process (false: API/CLI only; another node dials)
    batch_size: int = 50  # callbacks claimed per poll
    max_active: int = 200  # callbacks worked at once per dispatcher (each waits in its queue's line)
    wait_slice_seconds: float = 60.0  # re-check the policy this often while waiting for an agent
    script_pickup_seconds: float = 30.0  # an answered Asterisk leg must reach the callback AGI within this
    # How to reach a customer: the Asterisk dial string (agent-first: the agent's AGI dials it;
    # customer-first: the AMI Originate channel) and the built-in endpoint's request URI.
    customer_dial: str = "PJSIP/{number}@trunk"
    customer_originate: str = "Local/{number}@puente-dial-out"  # dialplan/asterisk/extensions.conf
    customer_sip_uri: str = "sip:{number}@gateway.invalid"  # CHANGE: your SIP trunk / gateway
    ami_context: str = "callback-agi"  # the dialplan context that runs AGI(agi://.../callback)
    originator: str = "auto"  # auto (AMI when enabled, else the built-in SIP endpoint), ami, sip


class AuthSettings(BaseModel):
    session_secret: str = ""  # generated and stored under var/ when empty
    token_ttl_hours: float = 12.0
    # argon2id cost (OWASP-recommended defaults); tests lower them to stay fast.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    # Hashing runs in its own thread pool (never on the event loop): this many workers, and at most
    # this many hashes running or waiting; past that a login is answered 503 with Retry-After.
    hash_workers: int = Field(default=2, ge=1, le=32)
    hash_max_pending: int = Field(default=16, ge=1, le=1024)
    # Login throttling (per account and per client IP): after a failure wait delay*2^(n-1) seconds
    # (capped), after max_failures a lock of lock_minutes, doubling with each further lock (capped).
    login_max_failures_account: int = Field(default=5, ge=1)
    login_max_failures_address: int = Field(default=20, ge=1)
    login_free_failures_address: int = Field(default=5, ge=0)  # an address's first failures cause no delay
    login_delay_seconds: float = Field(default=1.0, ge=0)
    login_max_delay_seconds: float = Field(default=30.0, ge=0)
    login_lock_minutes: float = Field(default=15.0, gt=0)
    login_max_lock_minutes: float = Field(default=24 * 60.0, gt=0)
    login_forget_minutes: float = Field(default=60.0, gt=0)  # a record lives this long after its last block
    login_throttle_max_entries: int = Field(default=10_000, ge=10)  # memory bound of each throttle map

    @model_validator(mode="after")
    def _pool_fits(self) -> AuthSettings:
        if self.hash_max_pending < self.hash_workers:
            raise ValueError("auth.hash_max_pending must be at least auth.hash_workers")
        return self


class Settings(BaseSettings):
    """Everything configurable, in one place."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_nested_delimiter="__", extra="ignore")

    config_file: Path | None = None
    site: str = "default"
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
        explicit = getattr(init_settings, "init_kwargs", {}).get("config_file")
        return (init_settings, env_settings, _YamlFileSource(settings_cls, explicit))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.var_dir / 'puente.db').resolve()}"


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the optional YAML config file (``config_file=`` or ``IVR_CONFIG``)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | str | None) -> None:
        super().__init__(settings_cls)
        self._path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self._path or os.environ.get("IVR_CONFIG")
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
    return Settings(config_file=config_file, **overrides)
