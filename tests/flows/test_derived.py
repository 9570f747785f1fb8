"""Values derived from a flow (a menu's phrases, the returning-caller step) are built once, and stay true
to the model's own fields."""

from __future__ import annotations

from ivr.flows.schema import Flow, LanguageNode, MenuNode


def _menu(agent: str | None = "human") -> MenuNode:
    return MenuNode.model_validate({
        "kind": "menu", "prompts": ["menu/main"], "fallback": "human", "agent": agent,
        "options": {1: {"next": "billing", "say": {"en": ["Billing  Question"], "es": ["Facturación"]}}},
    })


def test_menu_phrases_per_language_with_the_agent_words_of_that_language_only() -> None:
    menu = _menu()
    assert menu.phrases("en") == {"billing question": "1", "agent": "agent", "operator": "agent",
                                  "representative": "agent", "a person": "agent"}
    assert menu.phrases("es")["facturación"] == "1" and "agent" not in menu.phrases("es")
    assert menu.phrases("en") is menu.phrases("en")  # built once: every menu turn asks


def test_a_copy_with_other_fields_builds_its_own_phrases() -> None:
    menu = _menu()
    assert "agent" in menu.phrases("en")
    without = menu.model_copy(update={"agent": None})
    assert without.phrases("en") == {"billing question": "1"}
    assert "agent" in menu.phrases("en")


def test_language_choice_phrases_hold_every_option() -> None:
    node = LanguageNode.model_validate({
        "kind": "language", "next": "main",
        "options": {1: {"language": "es", "say": ["Español"]}, 2: {"language": "en", "say": ["English", "Inglés"]}},
    })
    assert node.phrases == {"español": "1", "english": "2", "inglés": "2"}
    assert node.model_copy(update={"options": {}}).phrases == {}


def test_the_flow_knows_its_returning_caller_step() -> None:
    flow = Flow.model_validate({
        "name": "t", "default": True, "languages": ["en"], "start": "hi",
        "nodes": {"hi": {"kind": "returning_caller", "prompts": ["returning_caller"], "accepted": "bye",
                        "declined": "bye", "not_returning": "bye"},
                  "bye": {"kind": "hangup"}},
    })
    assert flow.returning_caller is flow.nodes["hi"]
    without = flow.model_copy(update={"nodes": {"bye": flow.nodes["bye"]}, "start": "bye"})
    assert without.returning_caller is None
