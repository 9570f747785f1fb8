"""Which Asterisk module provides what Puente and its dialplan use, and what each module needs.

Taken from Asterisk 22.10.1's source (the ``AST_MODULE_INFO`` block of each module: ``.requires``;
``.optional_modules`` are not needed to load). Only the applications, functions and modules the
shipped dialplan and Puente use are listed; an application that is not here is reported as
unknown rather than guessed. Modules built into the core (``pbx_builtins``, ``manager``,
``indications``, ``core_local``, ``dnsmgr``...) cannot be missing and are not listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Dialplan applications -> module (lower-case application names). Answer, Hangup, Goto, GotoIf,
# NoOp, Set, Wait, Progress, Ringing... are core builtins (main/pbx_builtins.c, main/pbx_variables.c);
# Bridge() is in main/features.c (the desk's resume after a hold runs EXEC Bridge).
BUILTIN_APPS = frozenset({
    "bridge",
    "answer", "hangup", "goto", "gotoif", "gotoiftime", "noop", "set", "wait", "waitexten",
    "progress", "ringing", "busy", "congestion", "background", "execiftime", "incomplete", "importvar",
    "raiseexception", "resetcdr", "saydigits", "saynumber", "sayalpha", "sayphonetic", "setamaflags",
})
APP_MODULES: dict[str, str] = {
    "agi": "res_agi",
    "eagi": "res_agi",
    "audiosocket": "app_audiosocket",
    "dial": "app_dial",
    "queue": "app_queue",
    "playback": "app_playback",
    "gosub": "app_stack",
    "gosubif": "app_stack",
    "return": "app_stack",
    "musiconhold": "res_musiconhold",
    "startmusiconhold": "res_musiconhold",
    "stopmusiconhold": "res_musiconhold",
    "verbose": "app_verbose",
    "log": "app_verbose",
    "echo": "app_echo",
}

# Dialplan functions -> module.
FUNC_MODULES: dict[str, str] = {
    "callerid": "func_callerid",
    "connectedline": "func_callerid",
    "channel": "func_channel",
    "if": "func_logic",
    "iftime": "func_logic",
    "isnull": "func_logic",
    "exists": "func_logic",
    "len": "func_strings",
    "filter": "func_strings",
    "device_state": "func_devstate",
    "hangupcause": "func_hangupcause",
    "hangupcause_keys": "func_hangupcause",
}

# module -> the modules its AST_MODULE_INFO ``.requires`` names (Asterisk 22.10.1), builtins left out.
MODULE_REQUIRES: dict[str, tuple[str, ...]] = {
    "res_agi": ("res_speech",),
    "res_speech": (),
    "app_audiosocket": ("res_audiosocket",),
    "chan_audiosocket": ("res_audiosocket",),
    "res_audiosocket": (),
    "app_dial": (),
    "app_queue": (),
    "app_playback": (),
    "app_stack": (),
    "app_verbose": (),
    "res_musiconhold": (),
    "res_manager_devicestate": (),
    "pbx_config": (),
    "res_pjproject": ("res_sorcery_config",),
    "res_pjsip": ("res_pjproject", "res_sorcery_config", "res_sorcery_memory", "res_sorcery_astdb"),
    "res_pjsip_session": ("res_pjsip",),
    "res_pjsip_pubsub": ("res_pjsip",),
    "chan_pjsip": ("res_pjsip", "res_pjsip_session", "res_pjsip_pubsub"),
    "res_rtp_asterisk": ("res_pjproject",),
    "res_pjsip_sdp_rtp": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_registrar": ("res_pjproject", "res_pjsip"),
    "res_pjsip_endpoint_identifier_ip": ("res_pjsip",),
    "res_pjsip_endpoint_identifier_user": ("res_pjsip",),
    "res_pjsip_authenticator_digest": ("res_pjsip",),
    "res_pjsip_outbound_authenticator_digest": ("res_pjsip",),
    "res_pjsip_outbound_registration": ("res_pjsip",),
    "res_pjsip_caller_id": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_nat": ("res_pjsip", "res_pjsip_session"),
    "res_pjsip_rfc3326": ("res_pjsip", "res_pjsip_session"),
    "res_sorcery_config": (),
    "res_sorcery_memory": (),
    "res_sorcery_astdb": (),
    "res_timing_timerfd": (),
    "codec_ulaw": (),
    "codec_alaw": (),
    "codec_gsm": (),
    "codec_resample": (),
    "format_wav": (),
    "format_pcm": (),
    "format_sln": (),
    "format_gsm": (),
    "bridge_simple": (),
    "bridge_native_rtp": (),
    "bridge_softmix": (),
    "bridge_holding": (),
    "bridge_builtin_features": (),
    "func_callerid": (),
    "func_channel": (),
    "func_logic": (),
    "func_strings": (),
    "func_devstate": (),
    "func_hangupcause": (),
}


@dataclass(frozen=True, slots=True)
class Need:
    """A module Puente needs loaded, and why (shown in the check's message)."""

    module: str
    why: str


# What Puente itself uses, whatever the dialplan says: (module, why).
PUENTE_NEEDS: tuple[Need, ...] = (
    Need("pbx_config", "the dialplan in extensions.conf"),
    Need("res_agi", "FastAGI: every call reaches Puente through AGI()"),
    Need("app_audiosocket", "speech: Puente runs EXEC AudioSocket"),
    Need("app_dial", "Puente bridges callers to agents with EXEC Dial"),
    Need("app_stack", "Dial's U()/b() hooks run a Gosub on the agent's channel"),
    Need("app_queue", "the Queue() fallback when Puente is unreachable"),
    Need("res_musiconhold", "Puente's hold loop (SET MUSIC on) and the fallback queues"),
    Need("res_manager_devicestate", "AMI DeviceStateList: Puente resynchronises agents' states"),
    Need("chan_pjsip", "the agents' and the trunk's SIP endpoints"),
    Need("res_pjsip_session", "SIP calls"),
    Need("res_pjsip_sdp_rtp", "audio in SIP calls"),
    Need("res_rtp_asterisk", "RTP audio"),
    Need("res_pjsip_authenticator_digest", "the agents' passwords"),
    Need("res_pjsip_outbound_authenticator_digest", "the trunk's credentials"),
    Need("res_pjsip_registrar", "agents' phones REGISTER"),
    Need("res_pjsip_endpoint_identifier_user", "agents identified by their SIP user"),
    Need("res_pjsip_endpoint_identifier_ip", "the trunk identified by its address"),
    Need("codec_ulaw", "G.711 u-law calls"),
    Need("codec_alaw", "G.711 A-law calls"),
    Need("codec_resample", "playing 16 kHz audio on 8 kHz calls"),
    Need("format_wav", "Puente's prompts are WAV files"),
    Need("format_pcm", "u-law/A-law sound files"),
    Need("format_sln", "raw slin sound files"),
    Need("format_gsm", "Asterisk's own GSM sound files (digits, beeps)"),
    Need("codec_gsm", "playing GSM sound files"),
    Need("bridge_simple", "two-party bridges (caller and agent)"),
    Need("bridge_native_rtp", "native RTP bridging"),
    Need("bridge_holding", "holding bridges"),
    Need("res_timing_timerfd", "a timing source for playback and music on hold"),
)


def module_of_app(app: str) -> str | None:
    """``"AGI"`` -> ``"res_agi"``; None for a builtin; KeyError for one nobody listed."""
    name = app.strip().lower()
    if name in BUILTIN_APPS:
        return None
    return APP_MODULES[name]


def with_requirements(modules: Iterable[str]) -> list[str]:
    """``["chan_pjsip"]`` -> chan_pjsip and everything it requires, transitively, in a stable order."""
    out: list[str] = []
    pending = list(modules)
    while pending:
        module = pending.pop(0)
        if module in out:
            continue
        out.append(module)
        pending += MODULE_REQUIRES.get(module, ())
    return out


def requirement_path(module: str, target: str) -> list[str] | None:
    """How ``module`` comes to need ``target`` (``res_agi -> res_speech``), or None."""
    queue: list[list[str]] = [[module]]
    seen: set[str] = set()
    while queue:
        path = queue.pop(0)
        if path[-1] == target:
            return path
        for nxt in MODULE_REQUIRES.get(path[-1], ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append([*path, nxt])
    return None


def module_name(load_value: str) -> str:
    """``"res_agi.so"`` -> ``"res_agi"``."""
    value = load_value.strip()
    return value[:-3] if value.endswith(".so") else value
