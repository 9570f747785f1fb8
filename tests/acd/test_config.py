from __future__ import annotations

from pathlib import Path

import pytest

from ivr.acd.config import ConfigError, OverflowKind, load_agents, load_queues, parse_agent, parse_queue
from ivr.settings import PROJECT_ROOT

DIALPLAN = PROJECT_ROOT / "dialplan"


def test_shipped_queues_and_agents_load() -> None:
    queues = load_queues(DIALPLAN / "queues.yaml")
    assert {"billing", "support", "general"} <= set(queues)
    billing = queues["billing"]
    assert billing.overflow.kind is OverflowKind.QUEUE and billing.overflow.target == "general"
    assert billing.service_level.percent == 80 and billing.service_level.seconds == 30
    agents = load_agents(DIALPLAN / "agents.yaml")
    assert agents["agent1"].endpoint == "PJSIP/agent1"
    assert agents["agent3"].endpoint.startswith("sip:")


def test_other_domains_sections_are_kept_raw() -> None:
    q = parse_queue("support", {"skills": ["support"], "callback": {"min_wait_seconds": 30},
                                "deflection": {"rating": True}, "offer_link_ewt_above": None})
    assert q.extra == {"callback": {"min_wait_seconds": 30}, "deflection": {"rating": True}}
    assert q.skills == {"support": 1} and q.offer_link_ewt_above is None
    assert q.to_dict()["callback"] == {"min_wait_seconds": 30}


@pytest.mark.parametrize("raw", [
    {"unknown_key": 1},
    {"overflow": "voicemail"},
    {"overflow": "queue:"},
    {"skills": {"support": -1}},
    {"max_wait_seconds": "soon"},
    {"callback": "yes"},
])
def test_bad_queue_config_is_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse_queue("q", raw)


def test_bad_agents_and_overflow_targets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        parse_agent("a", {"name": "no endpoint"})
    path = tmp_path / "queues.yaml"
    path.write_text("queues:\n  a: {overflow: 'queue:b'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown queue"):
        load_queues(path)
    assert load_agents(tmp_path / "missing.yaml") == {}


def test_settings_override_one_queue_field(tmp_path: Path) -> None:
    from ivr.acd.config import with_overrides

    path = tmp_path / "queues.yaml"
    path.write_text("queues:\n  billing: {offer_callback_ewt_above: 120, service_level: {percent: 80, seconds: 30}}\n"
                    "  general: {}\n")
    queues = load_queues(path)
    # environment values arrive as text: IVR_QUEUES__BILLING__OFFER_CALLBACK_EWT_ABOVE=0
    changed = with_overrides(queues, {"billing": {"offer_callback_ewt_above": "0",
                                                  "service_level": {"seconds": "10"}}}, path)
    assert changed["billing"].offer_callback_ewt_above == 0
    assert changed["billing"].service_level.seconds == 10 and changed["billing"].service_level.percent == 80
    assert changed["general"] == queues["general"]
    assert with_overrides(queues, {"billing": {"offer_link_ewt_above": "null"}}, path)[
        "billing"].offer_link_ewt_above is None
    with pytest.raises(ConfigError, match=r"no queue 'nosuch' .*\(queues: billing, general\)"):
        with_overrides(queues, {"nosuch": {"ring_timeout": "3"}}, path)


def test_ewt_priors_come_from_the_queue_config() -> None:
    shipped = load_queues(PROJECT_ROOT / "dialplan" / "queues.yaml")
    assert shipped["support"].expected_handle_seconds == 300.0
    assert shipped["support"].expected_patience_seconds == 600.0
    default = parse_queue("q", {})
    assert default.expected_handle_seconds == 180.0 and default.expected_patience_seconds is None
    assert parse_queue("q", default.to_dict()) == default  # survives an admin's round trip
    for bad in (0, -5, "soon"):
        with pytest.raises(ConfigError, match="expected_handle_seconds"):
            parse_queue("q", {"expected_handle_seconds": bad})
