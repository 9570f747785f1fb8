"""The caller's route in words, in the agent's language: step names and option names from the flow's
labels, the ids in words as the fallback; the desk's language from the agent's choice or browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from api.readable import browser_language, desk_language, readable, words
from ivr.flows.loader import FileFlowProvider

FLOWS = Path(__file__).resolve().parents[2] / "dialplan" / "flows"
CONTEXT: dict[str, Any] = {
    "flow": "support", "language": "es", "path": ["choose_language", "returning", "main_menu"], "inputs": [
        {"node": "choose_language", "mode": "dtmf", "digits": "1"},
        {"node": "main_menu", "mode": "dtmf", "digits": "2"},
        {"node": "main_menu", "mode": "dtmf", "digits": "0"},
        {"node": "main_menu", "mode": "dtmf", "digits": "9"},
        {"node": "main_menu", "mode": "none", "digits": ""},
        {"node": "after_hours_callback", "mode": "dtmf", "digits": "1"}]}


def test_steps_and_choices_read_in_english() -> None:
    out = readable(CONTEXT, FileFlowProvider(FLOWS).flow_set, "en")
    assert out["steps"] == ["Language choice", "Back in the queue?", "Main menu"]
    assert [i["choice"] for i in out["inputs"]] == ["English", "Technical support", "an agent", None, None, "yes"]
    assert out["inputs"][5]["step"] == "Callback offer" and out["language_name"] == "Spanish"
    assert CONTEXT["inputs"][0].get("choice") is None  # the caller's record is not changed


def test_steps_and_choices_read_in_spanish() -> None:
    out = readable(CONTEXT, FileFlowProvider(FLOWS).flow_set, "es")
    assert out["steps"] == ["Elección de idioma", "¿Vuelve a la cola?", "Menú principal"]
    assert [i["choice"] for i in out["inputs"]] == ["inglés", "Soporte técnico", "un agente", None, None, "sí"]
    assert out["language_name"] == "español"


@pytest.mark.parametrize(("need", "language", "expected"), [
    ("billing", "en", "Billing"), ("billing", "es", "Facturación"), ("agent", "es", "un agente"),
    ("order_status", "en", "Order status"), ("unknown", "en", None),
])
def test_the_reason_is_named_like_the_choice_that_marked_it(need: str, language: str, expected: str | None) -> None:
    out = readable({**CONTEXT, "variables": {"need": need}}, FileFlowProvider(FLOWS).flow_set, language)
    assert out["reason"] == expected


def test_every_step_and_option_of_the_shipped_flows_has_a_label_in_both_languages() -> None:
    for flow in FileFlowProvider(FLOWS).flow_set.flows():
        for node_id, node in flow.nodes.items():
            assert set(node.label) == {"es", "en"}, node_id
            for key, option in getattr(node, "options", {}).items():
                assert set(option.label) == {"es", "en"}, (node_id, key)


def test_an_unknown_flow_still_reads() -> None:
    flows = FileFlowProvider(FLOWS).flow_set
    out = readable({"flow": "gone", "path": ["after_hours_menu"], "inputs": [{"node": "x", "digits": "1"}]}, flows)
    assert out["steps"] == ["After hours menu"] and out["inputs"][0]["choice"] is None
    assert readable({"path": ["a_b"]}, None)["steps"] == ["A b"] and words("") == ""


@pytest.mark.parametrize(("header", "expected"), [
    ("es-ES,es;q=0.9,en;q=0.8", "es"), ("en-GB,en;q=0.9", "en"), ("fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4", "es"),
    ("de-DE", "en"), ("", "en"), ("es;q=0,en", "en"), ("en;q=0.2,es;q=0.7", "es"), ("es;q=abc,en", "en"),
])
def test_the_browser_language_picks_the_best_desk_language(header: str, expected: str) -> None:
    assert browser_language(header) == expected


def request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = [(b"cookie", cookie.encode()), (b"accept-language", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": headers})


def test_the_agents_choice_wins_over_the_browser() -> None:
    assert desk_language(request(accept="es-ES")) == "es"
    assert desk_language(request(cookie="puente_lang=en", accept="es-ES")) == "en"
    assert desk_language(request(query="lang=es", cookie="puente_lang=en")) == "es"
    assert desk_language(request(cookie="puente_lang=xx", accept="es")) == "es"  # only es or en count
