"""Digest authentication (RFC 7616 / RFC 8760): responses, nonces, parsing, replays."""

from __future__ import annotations

import pytest

from ivr.channels.sip.digest import (
    Algorithm,
    Credentials,
    DigestAuthenticator,
    Nonces,
    NonceState,
    Verdict,
    expected_response,
    parse_authorization,
)
from tests.sip.conftest import digest_authorization

# RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
RFC_EXAMPLE = Credentials(
    username="Mufasa",
    realm="http-auth@example.org",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    uri="/dir/index.html",
    response="",
    algorithm="",
    qop="auth",
    nc="00000001",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [(Algorithm.MD5, "8ca523f5e9506fed4657c9700eebdbec"),
     (Algorithm.SHA256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")],
)
def test_rfc7616_examples(algorithm: Algorithm, response: str) -> None:
    assert expected_response(algorithm, RFC_EXAMPLE, password="Circle of Life", method="GET") == response


def test_nonces_are_signed_time_limited_and_unguessable() -> None:
    nonces = Nonces(ttl=30.0)
    first, second = nonces.issue(100.0), nonces.issue(100.0)
    assert first != second  # random part
    assert nonces.check(first, 100.0) is NonceState.VALID
    assert nonces.check(first, 129.9) is NonceState.VALID
    assert nonces.check(first, 130.5) is NonceState.EXPIRED
    assert nonces.check(first, 99.0) is NonceState.EXPIRED  # from the future: not ours to trust
    assert Nonces(ttl=30.0).check(first, 100.0) is NonceState.FOREIGN  # another server (or a restart)
    tampered = first[:-2] + ("AA" if first[-2:] != "AA" else "BB")
    assert nonces.check(tampered, 100.0) is NonceState.FOREIGN
    for junk in ("", "x", "!!!!", "A" * 200, "é"):
        assert nonces.check(junk, 100.0) is NonceState.FOREIGN


def test_parse_authorization() -> None:
    value = ('Digest username="agent3", realm="puente", nonce="abc", uri="sip:127.0.0.1", '
             'response="ABCDEF", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="x\\"y"')
    parsed = parse_authorization(value)
    assert parsed is not None
    assert (parsed.username, parsed.algorithm, parsed.response, parsed.cnonce) == ("agent3", "SHA-256", "abcdef", 'x"y')
    for bad in ("Basic abc", 'Digest username="a"', "Digest " + "a=b, " * 5000, 'Digest username="a, realm=x'):
        assert parse_authorization(bad) is None


@pytest.fixture
def auth() -> DigestAuthenticator:
    return DigestAuthenticator("puente", (Algorithm.SHA256, Algorithm.MD5), nonce_ttl=60.0)


def _verify(auth: DigestAuthenticator, authorization: str, now: float, password: str = "pw") -> Verdict:
    return auth.verify([authorization], user="agent3", password=password, method="REGISTER",
                       uri="sip:puente", now=now)


def test_challenges_offer_sha256_first_then_md5(auth: DigestAuthenticator) -> None:
    sha, md5 = auth.challenges(0.0)
    assert sha.startswith('Digest realm="puente"') and "algorithm=SHA-256" in sha and 'qop="auth"' in sha
    assert "algorithm=MD5" in md5 and "stale" not in md5
    assert all("stale=true" in c for c in auth.challenges(0.0, stale=True))


@pytest.mark.parametrize("index", [0, 1], ids=["SHA-256", "MD5"])
def test_right_wrong_stale_and_replayed(auth: DigestAuthenticator, index: int) -> None:
    challenge = auth.challenges(10.0)[index]

    def sign(password: str = "pw", nc: int = 1, user: str = "agent3", uri: str = "sip:puente") -> str:
        return digest_authorization(challenge, user=user, password=password, method="REGISTER", uri=uri, nc=nc)

    assert _verify(auth, sign(password="nope"), 11.0) is Verdict.WRONG
    assert _verify(auth, sign(user="agent4"), 11.0, password="pw") is Verdict.WRONG  # someone else's AOR
    assert _verify(auth, sign(uri="sip:elsewhere"), 11.0) is Verdict.WRONG
    assert auth.tracked_nonces == 0  # nothing kept for a failed attempt
    assert _verify(auth, sign(), 11.0) is Verdict.OK
    assert _verify(auth, sign(), 12.0) is Verdict.REPLAY  # the same request again
    assert _verify(auth, sign(nc=2), 12.0) is Verdict.OK
    assert _verify(auth, sign(nc=3), 71.0) is Verdict.STALE  # right digest, nonce too old
    assert _verify(auth, sign(password="nope", nc=4), 71.0) is Verdict.WRONG  # stale only for a right digest


def test_missing_or_unusable_credentials_are_challenged(auth: DigestAuthenticator) -> None:
    challenge = auth.challenges(0.0)[0]
    good = digest_authorization(challenge, user="agent3", password="pw", method="REGISTER", uri="sip:puente")
    assert auth.verify([], user="agent3", password="pw", method="REGISTER", uri="sip:puente", now=1.0) \
        is Verdict.MISSING
    assert _verify(auth, good.replace('realm="puente"', 'realm="other"'), 1.0) is Verdict.MISSING
    assert _verify(auth, good.replace("algorithm=SHA-256", "algorithm=SHA-512-256"), 1.0) is Verdict.MISSING
    assert _verify(auth, good.replace("qop=auth", "qop=auth-int"), 1.0) is Verdict.MISSING
    foreign = DigestAuthenticator("puente", (Algorithm.SHA256,), 60.0).challenges(0.0)[0]
    forged = digest_authorization(foreign, user="agent3", password="pw", method="REGISTER", uri="sip:puente")
    assert _verify(auth, forged, 1.0) is Verdict.MISSING  # a nonce this server never issued


def test_replay_table_is_bounded() -> None:
    auth = DigestAuthenticator("puente", (Algorithm.MD5,), 60.0, max_tracked_nonces=8)
    for n in range(50):
        challenge = auth.challenges(float(n))[0]
        authorization = digest_authorization(challenge, user="agent3", password="pw", method="REGISTER",
                                             uri="sip:puente")
        assert _verify(auth, authorization, float(n)) is Verdict.OK
    assert auth.tracked_nonces == 8

