"""One typed settings object for the whole server.

Values come from, in order of precedence: explicit keyword arguments, ``IVR_*`` environment
variables (nested sections use ``__``, e.g. ``IVR_AGI__PORT=4574``), a YAML config file named by
``IVR_CONFIG`` (or passed to :func:`load_settings`; ``IVR_HOME/puente.yaml`` when neither names one),
then the embedded defaults below. The defaults need no other service: SQLite under ``IVR_HOME/var/``,
HTTP on 127.0.0.1:8080, FastAGI on 127.0.0.1:4573, the built-in SIP endpoint on 127.0.0.1:5060.

``IVR_HOME`` is where Puente keeps its data and finds its configuration, whatever the current
directory: by default the checkout this package runs from (a source install), else the user's data
directory (``$XDG_DATA_HOME/puente``). Relative paths in settings resolve against it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ivr.loops import EventLoopChoice

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


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs, as a JSON
    # list in IVR_HTTP__TRUSTED_PROXIES). Empty: nobody's, every per-IP limit uses the peer address.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # Flood guard, before any routing or body parsing: requests per second one client address may
    # send, and at once; past it the answer is 429 with Retry-After (0 turns it off). /health,
    # /ready and /metrics have a bucket of their own, so a flood does not blind the monitoring.
    flood_rate: float = Field(default=100.0, ge=0)
    flood_burst: int = Field(default=300, ge=1)


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
    # Where the desk parks an agent's channel while their caller is on hold (AMI Redirect; shipped
    # in dialplan/asterisk/extensions.conf). Empty: no hold from the desk on Asterisk.
    agent_hold_context: str = "puente-agent-hold"


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


DigestName = Literal["SHA-256", "MD5"]


def _default_digests() -> list[DigestName]:
    return ["SHA-256", "MD5"]


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
    # Server transactions remembered at once (each lives 64*T1): a request storm evicts the oldest.
    max_transactions: int = Field(default=20_000, ge=100)
    # REGISTER: digest authentication (RFC 8760) against per-agent secrets, never from the repo:
    # IVR_SIP__AGENT_SECRETS__AGENT3=... and/or a YAML file ``agent3: secret`` named here.
    agent_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    secrets_file: Path | None = None
    realm: str = "puente"
    # Offered in this order; SIPp 3.6 and older softphones take only the first challenge: ["MD5"].
    digest_algorithms: list[DigestName] = Field(default_factory=_default_digests, min_length=1)
    nonce_ttl: float = Field(default=300.0, gt=0)  # seconds; an older nonce gets stale=true
    max_bindings_per_aor: int = Field(default=5, ge=1)  # contacts per agent; the oldest gives way
    # Flood guard, before any parsing: messages per second one source (address and port: a phone's
    # or a scanner's socket) may send, and at once; past it they are dropped. All the ports of one
    # address together get flood_address_rate. 0 turns a limit off. Sources in flood_trusted (IPs
    # or CIDRs: a trunk, a proxy in front of Puente) are never limited.
    flood_rate: float = Field(default=100.0, ge=0)
    flood_burst: int = Field(default=200, ge=1)
    flood_address_rate: float = Field(default=1000.0, ge=0)
    flood_trusted: list[IPvAnyNetwork] = Field(default_factory=list)
    # The media thread's niceness (below 0: ahead of everything else on a busy machine, as media
    # servers run their timing threads). Lowering it needs CAP_SYS_NICE; without, it stays at 0.
    media_niceness: int = Field(default=-10, ge=-20, le=19)
    # Who paces outgoing RTP: ``process``, a media process with its own GIL (a busy or preempted
    # event loop cannot delay it; if it dies, streams go through the thread until it is restarted),
    # or ``thread``, a media thread in the server process (shares the GIL with the loop).
    media: Literal["process", "thread"] = "process"
    # The media process's SCHED_FIFO priority (1-99; 0: none, niceness only), as Asterisk's -p and
    # FreeSWITCH's -rp: with the CPUs busy, only real-time scheduling wakes it on time (< 1 ms
    # instead of ~6 ms at p99). Needs CAP_SYS_NICE or RLIMIT_RTPRIO; without, niceness applies.
    media_realtime_priority: int = Field(default=10, ge=0, le=99)


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
    # The approved WhatsApp template a reply to a case goes out with (parameters: reference, text).
    meta_reply_template: str = "puente_case_reply"
    whatsapp_business_number: str = ""
    case_response_target_hours: float = 24.0
    open_rate_limit_per_minute: int = 30  # views of one link (per token)
    miss_rate_limit_per_minute: int = 20  # unknown/expired tokens per client address
    # A link with a booked callback lives until the callback time plus this margin (change, cancel, rate).
    link_after_callback_hours: float = 48.0
    support_number: str = ""  # shown on the page's "too many requests" page ("call us on ...")
    # The schedule whose opening hours the page's "call me back at" slots follow.
    schedule: str = "support"
    callback_slot_minutes: int = 30
    callback_slot_days: int = 3
    callback_default_queue: str = "general"  # when the call never reached a queue
    # No message is sent in the customer's local night: deferred until quiet hours end.
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "09:00"
    deferred_poll_seconds: float = 30.0
    # Post-call rating link when a queue's `deflection: {rating: ...}` does not say.
    rating_after_call: bool = False


class ContactSettings(BaseModel):
    """How customers' numbers are read and which zone they live in (ivr/contact), for callbacks and
    deflection alike."""

    default_region: str = "ES"  # numbers given without a country code are read in this country
    # The main zone of a country that spans several (Spain: Madrid, not the Canaries), unless the
    # caller chose another; also the zone of a number whose country is unknown.
    default_timezone: str = "Europe/Madrid"

    @field_validator("default_region")
    @classmethod
    def _region(cls, region: str) -> str:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {region!r}: use a two-letter country code such as ES")
        return region

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Madrid") from None
        return name


# The names these settings had before contact policy was one module: still read, with a warning.
DEPRECATED_CONTACT_KEYS = {
    ("deflection", "default_region"): "default_region",
    ("callbacks", "default_region"): "default_region",
    ("deflection", "default_timezone"): "default_timezone",
    ("callbacks", "default_timezone"): "default_timezone",
}


class CallbackSettings(BaseModel):
    enabled: bool = True
    caller_id: str = "+34910000000"
    poll_interval: float = 1.0
    lease_seconds: float = 120.0
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


class NodeSettings(BaseModel):
    """This process as one node of the contact centre (see ivr/nodes)."""

    id: str = ""  # empty: the host name. Unique per running process: two processes never share one
    heartbeat_seconds: float = Field(default=5.0, gt=0)  # how often last_seen is written
    # Another node whose heartbeat is older than this is dead: its open calls are closed.
    stale_after_seconds: float = Field(default=30.0, gt=0)


class AcdSettings(BaseModel):
    """The ACD across nodes (docs/architecture.md "Several nodes")."""

    # true: this node's queues, agents and offers are the shared line in PostgreSQL, with every other
    # node that says true on the same database (one contact centre). Needs PostgreSQL.
    shared: bool = False
    # A node that stops renewing (killed) loses its callers' places and its agents' offers after this.
    lease_seconds: float = Field(default=6.0, ge=1.0, le=10.0)
    # A dead node's callers are out of line after the lease but keep their place (arrival, priority)
    # this long: the dialplan sends them to another node, which puts them back where they were.
    orphan_grace_seconds: float = Field(default=600.0, ge=0.0, le=86_400.0)
    # Shared mode: how often each node re-reads the EWT's rates from the shared contacts.
    rates_refresh_seconds: float = Field(default=1.0, gt=0.0, le=60.0)


class FlowSettings(BaseModel):
    """Limits on flow documents (see ivr/flows/yamlload.py) and on a call's time in the IVR."""

    max_bytes: int = Field(default=256 * 1024, ge=1024, le=500_000)  # requests carry at most 512,000 characters
    max_depth: int = Field(default=24, ge=8, le=200)
    max_values: int = Field(default=40_000, ge=100, le=1_000_000)  # YAML scalars + collections
    max_nodes: int = Field(default=1_000, ge=10, le=20_000)  # flow nodes
    validate_seconds: float = Field(default=5.0, gt=0, le=120)  # one document, in a worker process
    # A call that has spent this long in menus (time queued or talking to an agent excluded) hears
    # the goodbye prompt and is ended (disposition time_limit).
    # A flow may set its own `max_ivr_seconds`.
    max_ivr_seconds: float = Field(default=900.0, ge=30, le=4 * 3600)


class AuthSettings(BaseModel):
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


class SupervisionSettings(BaseModel):
    # A component of `ivr serve` that fails after it started is restarted after a jittered delay
    # that doubles from the base with each consecutive failure, up to the cap.
    restart_base_delay: float = Field(default=0.5, gt=0)
    restart_max_delay: float = Field(default=30.0, gt=0)
    # How often the event-loop lag monitor asks the loop to run a callback on time.
    loop_lag_interval: float = Field(default=0.1, gt=0)


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
