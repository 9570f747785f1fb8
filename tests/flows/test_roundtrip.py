"""Editing one node in place keeps the admin's comments, order, quoting and layout."""

from __future__ import annotations

import difflib

import pytest

from ivr.flows.errors import FlowRefused, InvalidYaml
from ivr.flows.roundtrip import NodeEdit, UnknownNode, edit_node
from ivr.flows.yamlload import FlowLimits, load_flow_yaml
from ivr.settings import PROJECT_ROOT

LIMITS = FlowLimits()
SUPPORT = (PROJECT_ROOT / "dialplan" / "flows" / "support.yaml").read_text(encoding="utf-8")


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_a_menu_key_added_from_the_form_changes_only_that() -> None:
    edited = edit_node(SUPPORT, NodeEdit(node="main_menu", options=(("4", "need_agent"),)), LIMITS)
    assert comments(edited) == comments(SUPPORT) and len(comments(SUPPORT)) > 5
    assert changed_lines(SUPPORT, edited) == ["+      4: {next: need_agent}"]
    data = load_flow_yaml(edited, LIMITS)[1]
    assert data["nodes"]["main_menu"]["options"][4] == {"next": "need_agent"}


def test_prompts_and_next_keep_the_list_style_and_the_comments() -> None:
    edited = edit_node(SUPPORT, NodeEdit(node="holiday_notice", prompts=("after_hours/holiday", "hours"),
                                         next="hours"), LIMITS)
    assert comments(edited) == comments(SUPPORT)
    assert changed_lines(SUPPORT, edited) == [
        "-    prompts: [after_hours/holiday]", "-    next: after_hours_menu",
        "+    prompts: [after_hours/holiday, hours]", "+    next: hours"]


def test_an_existing_option_is_repointed_in_place() -> None:
    edited = edit_node(SUPPORT, NodeEdit(node="main_menu", options=(("1", "need_order"),)), LIMITS)
    assert changed_lines(SUPPORT, edited) == ["-        next: need_billing", "+        next: need_order"]


def test_an_empty_next_removes_it_and_comments_keep_their_column() -> None:
    text = "name: m\nnodes:\n  a: {kind: play, next: b}  # keep me\n  b:\n    kind: hangup\n    x:\n      - 1\n"
    assert edit_node(text, NodeEdit(node="a", next=""), LIMITS) == (
        "name: m\nnodes:\n  a: {kind: play}           # keep me\n  b:\n    kind: hangup\n    x:\n      - 1\n")


def test_unknown_nodes_bad_yaml_and_aliases_are_refused() -> None:
    with pytest.raises(UnknownNode):
        edit_node(SUPPORT, NodeEdit(node="nope", next="x"), LIMITS)
    with pytest.raises(InvalidYaml):
        edit_node("nodes: [unclosed\n", NodeEdit(node="a", next="x"), LIMITS)
    with pytest.raises(FlowRefused, match="YAML aliases"):
        edit_node("nodes: &a {x: *a}\n", NodeEdit(node="x", next="y"), LIMITS)
