"""Settings of the telephony backends: FastAGI (``IVR_AGI__*``), AudioSocket (``IVR_AUDIOSOCKET__*``),
AMI (``IVR_AMI__*``) and the built-in SIP endpoint (``IVR_SIP__*``); sections of
:class:`ivr.settings.Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr


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
