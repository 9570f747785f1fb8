"""REGISTER with digest authentication: who may register, bindings, expiry, storms, secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ivr.channels.sip.credentials import AgentSecrets, load_agent_secrets
from ivr.channels.sip.message import SipRequest, parse_message
from ivr.channels.sip.registrar import Binding, RegisterReply, Registrations
from ivr.settings import ConfigurationError, Settings, SipSettings
from tests.sip.conftest import digest_authorization

URI = "sip:127.0.0.1:5060"


def register(
    user: str = "agent3",
    *,
    contact: str = "sip:agent3@192.0.2.7:5062",
    expires: int | None = 120,
    authorization: str = "",
    call_id: str = "reg-1",
    cseq: int = 1,
) -> SipRequest:
    lines = [
        f"REGISTER {URI} SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK{call_id}{cseq}",
        f"From: <sip:{user}@127.0.0.1>;tag=f{cseq}",
        f"To: <sip:{user}@127.0.0.1>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: {contact if contact == '*' else f'<{contact}>'}",
    ]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization:
        lines.append(f"Authorization: {authorization}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, SipRequest)
    return message


def registrations(**overrides: object) -> Registrations:
    settings = SipSettings.model_validate({"nonce_ttl": 60.0} | overrides)
    return Registrations(settings, AgentSecrets.of({"agent3": "s3cret", "agent4": "other"}))


def authenticated(
    regs: Registrations, now: float, *, algorithm: str = "SHA-256", password: str = "s3cret", user: str = "agent3",
    nc: int = 1, **fields: object,
) -> tuple[RegisterReply, SipRequest]:
    """Challenge, then answer the challenge of ``algorithm`` (as a softphone does)."""
    challenge = regs.handle(register(user, **fields), now)  # type: ignore[arg-type]
    assert challenge.status == 401
    offered = [value for name, value in challenge.headers if name == "WWW-Authenticate"]
    chosen = next(c for c in offered if f"algorithm={algorithm}" in c)
    auth = digest_authorization(chosen, user=user, password=password, method="REGISTER", uri=URI, nc=nc)
    request = register(user, authorization=auth, cseq=2, **fields)  # type: ignore[arg-type]
    return regs.handle(request, now), request


def test_unauthenticated_gets_401_with_sha256_then_md5_and_changes_nothing() -> None:
    regs = registrations()
    reply = regs.handle(register(), 0.0)
    assert (reply.status, reply.reason) == (401, "Unauthorized")
    offered = [value for name, value in reply.headers if name == "WWW-Authenticate"]
    assert len(offered) == 2
    assert "algorithm=SHA-256" in offered[0] and "algorithm=MD5" in offered[1]
    assert all('realm="puente"' in c and 'qop="auth"' in c for c in offered)
    assert len(regs.registrar) == 0 and regs.registrar.lookup("agent3", 0.0) is None


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_right_password_registers(algorithm: str) -> None:
    regs = registrations()
    reply, _ = authenticated(regs, 10.0, algorithm=algorithm)
    assert reply.status == 200
    assert reply.headers == (("Contact", "<sip:agent3@192.0.2.7:5062>;expires=120"),)
    assert regs.registrar.lookup("agent3", 10.0) == "sip:agent3@192.0.2.7:5062"


def test_wrong_password_is_403_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    regs = registrations()
    authenticated(regs, 0.0, contact="sip:agent3@192.0.2.7:5062")
    with caplog.at_level(logging.WARNING, "ivr.sip.registrar"):
        reply, _ = authenticated(regs, 1.0, password="guess", contact="sip:attacker@203.0.113.9:5060")
    assert (reply.status, reply.reason) == (403, "Forbidden")
    assert regs.registrar.lookup("agent3", 1.0) == "sip:agent3@192.0.2.7:5062"  # still the agent's phone
    assert "wrong credentials" in caplog.text
    # Another agent's valid secret does not open agent3's AOR either.
    reply, _ = authenticated(regs, 2.0, user="agent3", password="other", contact="sip:attacker@203.0.113.9:5060")
    assert reply.status == 403 and len(regs.registrar) == 1


def test_agent_without_a_secret_cannot_register(caplog: pytest.LogCaptureFixture) -> None:
    regs = registrations()
    with caplog.at_level(logging.WARNING, "ivr.sip.registrar"):
        reply = regs.handle(register("agent9"), 0.0)
        regs.handle(register("agent9", cseq=2), 0.0)
    assert reply.status == 403 and "no secret" in reply.reason
    assert len(regs.registrar) == 0
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1  # once per agent, not once per request
    assert "IVR_SIP__AGENT_SECRETS__AGENT9=<secret>" in lines[0] and "IVR_SIP__SECRETS_FILE" in lines[0]


def test_stale_nonce_gets_stale_true_and_replay_changes_nothing() -> None:
    regs = registrations()
    reply, request = authenticated(regs, 0.0, expires=3600)
    assert reply.status == 200
    regs.registrar.unbind("agent3", None)
    replayed = regs.handle(request, 5.0)  # the same authenticated REGISTER, captured and sent again
    assert replayed.status == 401 and len(regs.registrar) == 0
    late = regs.handle(request, 61.0)  # too late for the nonce: a right digest gets stale=true
    assert late.status == 401
    assert all("stale=true" in value for name, value in late.headers if name == "WWW-Authenticate")
    assert len(regs.registrar) == 0


def test_bindings_are_capped_per_aor_and_listed() -> None:
    regs = registrations(max_bindings_per_aor=3)
    for port in range(5060, 5066):
        reply, _ = authenticated(regs, float(port - 5060), contact=f"sip:agent3@192.0.2.7:{port}", expires=100)
        assert reply.status == 200
    contacts = [value for name, value in reply.headers if name == "Contact"]
    assert len(regs.registrar) == 3 and len(contacts) == 3
    assert contacts[0].startswith("<sip:agent3@192.0.2.7:5065>")  # newest first; the oldest gave way
    assert regs.registrar.lookup("agent3", 6.0) == "sip:agent3@192.0.2.7:5065"


def test_bindings_expire_at_their_expires() -> None:
    regs = registrations()
    authenticated(regs, 0.0, expires=30)
    assert regs.registrar.lookup("agent3", 29.9) == "sip:agent3@192.0.2.7:5062"
    assert regs.registrar.lookup("agent3", 30.0) is None
    assert len(regs.registrar) == 1
    regs.registrar.expire(30.0)  # the endpoint's housekeeping
    assert len(regs.registrar) == 0 and regs.registrar.aors == 0


def test_unregister_one_and_all() -> None:
    regs = registrations()
    authenticated(regs, 0.0, contact="sip:agent3@192.0.2.7:5062")
    authenticated(regs, 0.0, contact="sip:agent3@192.0.2.8:5062")
    assert len(regs.registrar) == 2
    reply, _ = authenticated(regs, 1.0, contact="sip:agent3@192.0.2.7:5062", expires=0)
    assert reply.status == 200 and len(regs.registrar) == 1
    reply, _ = authenticated(regs, 1.0, contact="*", expires=0)
    assert reply.status == 200 and len(regs.registrar) == 0


def test_a_register_storm_leaves_no_state(caplog: pytest.LogCaptureFixture) -> None:
    regs = registrations()
    caplog.set_level(logging.WARNING, "ivr.sip.registrar")
    for n in range(5000):
        assert regs.handle(register(f"user{n}", call_id=f"s{n}"), float(n) / 100).status == 403
        assert regs.handle(register("agent3", call_id=f"t{n}"), float(n) / 100).status == 401
        forged = register("agent3", call_id=f"u{n}", authorization=(
            'Digest username="agent3", realm="puente", nonce="AAAA", uri="sip:127.0.0.1:5060", '
            f'response="{n:032x}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"'))
        assert regs.handle(forged, float(n) / 100).status == 401
    assert len(regs.registrar) == 0 and regs.registrar.aors == 0
    assert regs.auth.tracked_nonces == 0
    assert regs.unconfigured_remembered <= 256  # the "no secret" log lines remembered, bounded
    # 5,000 made-up names in 50 s: a few lines, not a line per packet (logging is loop time)
    assert sum("no SIP secret configured" in r.getMessage() for r in caplog.records) == 10


def test_secrets_from_the_environment_and_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets_file = tmp_path / "sip-secrets.yaml"
    secrets_file.write_text("agent3: from-file\nagent5: 12345\n", encoding="utf-8")
    secrets_file.chmod(0o600)
    monkeypatch.setenv("IVR_SIP__SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("IVR_SIP__AGENT_SECRETS__AGENT3", "from-env")
    secrets = load_agent_secrets(Settings().sip)
    assert secrets.get("agent3") == "from-env"  # the environment wins
    assert secrets.get("AGENT5") == "12345" and secrets.get("agent6") is None
    assert "from-env" not in repr(secrets) and "from-env" not in Settings().sip.model_dump_json()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read it"), ("- a\n- b\n", "must be a mapping"), ("a: [1]\n", "must be 'agent: secret'"),
     ("a: 'b\n", "not valid YAML")],
)
def test_a_bad_secrets_file_is_one_clear_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "secrets.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_agent_secrets(SipSettings(secrets_file=path))
    assert "\n" not in str(raised.value) and "IVR_SIP__SECRETS_FILE" in str(raised.value)


@pytest.mark.parametrize("now", [1021.801558050539, 470.376313632781, 0.0, 86400.5])
def test_a_fresh_binding_lists_the_seconds_granted(now: float) -> None:
    """At the first two clock readings ``now + 60 - now`` is 59.99999999999999: truncating listed 59."""
    binding = Binding("agent2", "sip:ana@127.0.0.1:5070", now + 60)
    assert binding.seconds_left(now) == 60
    assert binding.seconds_left(now + 59.7) == 1 and binding.seconds_left(now + 80) == 1
