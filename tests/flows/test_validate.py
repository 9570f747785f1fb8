"""The flow validator: each rule caught by a small bad flow, one precise line per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ivr.cli import main
from ivr.flows.checking import FlowChecker, check_paths
from ivr.flows.validate import References, check_text
from ivr.settings import PROJECT_ROOT
from tests.support.fakes import make_catalogue

PROMPTS = ["hello", "menu", "bye", "sorry", "confirm/did_you_say", "confirm/yes_no", "option/agent"]
REFS = References(
    prompts=make_catalogue({p: {"es": p, "en": p} for p in PROMPTS} | {"only_es": {"es": "solo"}}),
    queues=frozenset({"general", "billing"}),
    schedules=frozenset({"support"}),
)
GOOD = """
name: tiny
default: true
languages: [es, en]
start: hello
nodes:
  hello: {kind: play, prompts: [hello], next: menu}
  menu:
    kind: menu
    prompts: [menu]
    options:
      1: {next: billing, say: {es: [facturación], en: [billing]}}
      9: {next: bye}
    agent: general
    fallback: general
  billing: {kind: queue, queue: billing}
  general: {kind: queue, queue: general}
  bye: {kind: hangup, prompts: [bye]}
"""


def problems_of(text: str) -> list[str]:
    _, found = check_text(text, source="f.yaml", refs=REFS)
    return [str(p) for p in found]


def mutate(**nodes: object) -> str:
    data = yaml.safe_load(GOOD)
    for node_id, body in nodes.items():
        if body is None:
            del data["nodes"][node_id]
        else:
            data["nodes"][node_id] = body
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_good_flow_has_no_problems() -> None:
    assert problems_of(GOOD) == []


def test_schema_error_names_file_node_and_field() -> None:
    text = mutate(bye={"kind": "hangup", "prompts": "bye", "colour": "red"})
    found = problems_of(text)
    assert "f.yaml:bye: prompts: Input should be a valid list" in found
    assert "f.yaml:bye: colour: Extra inputs are not permitted" in found


def test_unknown_node_kind() -> None:
    found = problems_of(mutate(bye={"kind": "teleport"}))
    assert len(found) == 1 and found[0].startswith("f.yaml:bye: ") and "teleport" in found[0]


def test_invalid_yaml() -> None:
    found = problems_of("name: [unclosed")
    assert len(found) == 1 and found[0].startswith("f.yaml:-: invalid YAML")


def test_unknown_node_reference() -> None:
    assert problems_of(mutate(hello={"kind": "play", "prompts": ["hello"], "next": "nowhere"})) == [
        "f.yaml:hello: next: unknown node 'nowhere'",
        "f.yaml:menu: unreachable from start 'hello'",
        "f.yaml:billing: unreachable from start 'hello'",
        "f.yaml:general: unreachable from start 'hello'",
        "f.yaml:bye: unreachable from start 'hello'",
    ]


def test_unknown_queue_and_schedule() -> None:
    text = mutate(
        billing={"kind": "queue", "queue": "bilings"},
        hello={"kind": "branch_schedule", "schedule": "weekend", "open": "menu", "closed": "bye"},
    )
    assert problems_of(text) == ["f.yaml:hello: unknown schedule 'weekend'", "f.yaml:billing: unknown queue 'bilings'"]


def test_unknown_prompt_and_prompt_missing_for_a_language() -> None:
    text = mutate(hello={"kind": "play", "prompts": ["helo", "only_es"], "next": "menu"})
    assert problems_of(text) == [
        "f.yaml:hello: unknown prompt 'helo'",
        "f.yaml:hello: prompt 'only_es' has no text for language 'en'",
    ]


def test_unreachable_node() -> None:
    data = yaml.safe_load(GOOD)
    data["nodes"]["orphan"] = {"kind": "hangup"}
    assert problems_of(yaml.safe_dump(data, sort_keys=False)) == ["f.yaml:orphan: unreachable from start 'hello'"]


def test_dead_end() -> None:
    found = problems_of(mutate(bye={"kind": "play", "prompts": ["bye"]}))
    assert found == ["f.yaml:bye: dead end: a play node needs a next node (or end the call with a hangup node)"]


def test_input_free_loop() -> None:
    data = yaml.safe_load(GOOD)
    data["nodes"]["menu"]["options"][9] = {"next": "spin_a"}
    data["nodes"]["spin_a"] = {"kind": "play", "prompts": ["sorry"], "next": "spin_b"}
    data["nodes"]["spin_b"] = {"kind": "set", "variables": {"x": "1"}, "next": "spin_a"}
    del data["nodes"]["bye"]
    assert problems_of(yaml.safe_dump(data, sort_keys=False)) == [
        "f.yaml:spin_a: input-free loop: spin_a -> spin_b -> spin_a never asks the caller anything"
    ]


def test_loop_through_a_menu_is_fine() -> None:
    data = yaml.safe_load(GOOD)
    data["nodes"]["menu"]["options"][9] = {"next": "again"}
    data["nodes"]["again"] = {"kind": "goto", "next": "hello"}
    del data["nodes"]["bye"]
    assert problems_of(yaml.safe_dump(data, sort_keys=False)) == []


def test_self_loop() -> None:
    found = problems_of(mutate(bye={"kind": "goto", "next": "bye"}))
    assert found == ["f.yaml:bye: input-free loop: bye -> bye never asks the caller anything"]


def test_duplicate_digit_in_yaml() -> None:
    text = GOOD.replace("      9: {next: bye}", "      9: {next: bye}\n      1: {next: billing}")
    found = problems_of(text)
    assert found == ["f.yaml:menu: options: duplicate key '1' (line 14, first on line 12)"]


def test_option_zero_clashes_with_agent_route() -> None:
    text = GOOD.replace("      9: {next: bye}", "      0: {next: bye}")
    assert problems_of(text) == ["f.yaml:menu: digit 0 is both option 0 and the agent route"]


def test_duplicate_phrases() -> None:
    text = GOOD.replace("      9: {next: bye}", "      9: {next: bye, say: {en: [Billing, agent], es: [pagos, pagos]}}")
    assert problems_of(text) == [
        "f.yaml:menu: duplicate phrase 'pagos' (es) twice in option 9",
        "f.yaml:menu: duplicate phrase 'billing' (en) in option 1 and option 9",
        "f.yaml:menu: phrase 'agent' (en) is both option 9 and the agent route",
    ]


def test_menu_without_route_to_a_human() -> None:
    data = yaml.safe_load(GOOD)
    del data["nodes"]["menu"]["agent"]
    assert problems_of(yaml.safe_dump(data, sort_keys=False)) == [
        'f.yaml:menu: no route to a human: add `agent: <node>` (0, "agent", "asesor") '
        "or `human_route: {opt_out: <reason>}`"
    ]


def test_menu_may_opt_out_with_a_reason() -> None:
    data = yaml.safe_load(GOOD)
    del data["nodes"]["menu"]["agent"]
    data["nodes"]["menu"]["human_route"] = {"opt_out": "after hours: nobody to talk to"}
    assert problems_of(yaml.safe_dump(data, sort_keys=False)) == []
    data["nodes"]["menu"]["human_route"] = {"opt_out": ""}
    assert problems_of(yaml.safe_dump(data, sort_keys=False)) == [
        "f.yaml:menu: human_route.opt_out: String should have at least 3 characters"
    ]


def test_agent_route_must_reach_a_human() -> None:
    text = GOOD.replace("    agent: general", "    agent: bye")
    assert problems_of(text) == ["f.yaml:menu: agent route 'bye' does not lead to a queue or a transfer"]


async def test_two_default_flows_clash(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("name: tiny", "name: other"))
    checker = FlowChecker(REFS)
    try:
        found = [str(p) for p in await check_paths([tmp_path], checker)]
    finally:
        await checker.aclose()
    assert len(found) == 1 and "2 default flows ('other', 'tiny')" in found[0]


# --------------------------------------------------------------------------- the CLI
def test_cli_passes_on_the_shipped_flows() -> None:
    flows_dir = PROJECT_ROOT / "dialplan" / "flows"
    result = CliRunner().invoke(main, ["flows", "check", str(flows_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ok: {flows_dir}\n"  # the verdict on stdout, newline-terminated


def test_cli_reports_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    real_prompts = GOOD.replace("[hello]", "[greeting]").replace("[menu]", "[main_menu]")
    bad.write_text(real_prompts.replace("queue: billing", "queue: nope").replace("prompts: [bye]", "prompts: [nope]"))
    result = CliRunner().invoke(main, ["flows", "check", str(bad)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:billing: unknown queue 'nope'",
        f"{bad}:bye: unknown prompt 'nope'",
        "2 problem(s)",
    ]
    assert result.stdout.endswith("\n")


@pytest.mark.parametrize("option", ["--queues", "--schedules"])
def test_cli_reports_unreadable_reference_files(tmp_path: Path, option: str) -> None:
    result = CliRunner().invoke(main, ["flows", "check", option, str(tmp_path / "missing.yaml"),
                                       str(PROJECT_ROOT / "dialplan" / "flows")])
    assert result.exit_code == 1
    assert "missing.yaml:-: cannot read" in result.stdout


def test_cli_show_json() -> None:
    result = CliRunner().invoke(main, ["flows", "show", "support", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "support" and data["default"] is True
    assert data["nodes"]["main_menu"]["agent"] == "need_agent"
    assert data["nodes"]["order_say_status"]["as"] == "prompt"


def test_cli_show_unknown_flow() -> None:
    result = CliRunner().invoke(main, ["flows", "show", "nope"])
    assert result.exit_code != 0 and "no flow named 'nope'" in result.output


# --------------------------------------------------------------------------- silent callers
def _offer_loop(refused: str, fallback: str = "offer") -> str:
    return mutate(
        menu={"kind": "menu", "prompts": ["menu"], "options": {"1": {"next": "billing"}, "2": {"next": "offer"}},
              "agent": "general", "fallback": fallback},
        offer={"kind": "offer_callback", "queue": "general", "accepted": "bye", "refused": refused},
    )


def loops_of(text: str) -> list[str]:
    return [p for p in problems_of(text) if "loop" in p]


def test_a_loop_a_silent_caller_goes_round_for_ever_is_rejected() -> None:
    # the shipped after-hours menu and callback offer once did this: 496 menu plays to dead air
    assert loops_of(_offer_loop(refused="menu")) == [
        "f.yaml:menu: silent-caller loop: a caller who says nothing goes round menu -> offer -> menu without end; "
        "send one of these no-input exits (fallback / refused / declined) to a human, a goodbye or another way out"
    ]


def test_a_loop_with_a_bounded_way_out_on_silence_is_accepted() -> None:
    # the offer leads back to the menu when refused, but silence in the menu ends with a human
    assert loops_of(_offer_loop(refused="menu", fallback="general")) == []
    # or silence at the offer leaves the loop
    assert loops_of(_offer_loop(refused="bye")) == []


def test_a_loop_through_a_queue_that_overflows_back_is_rejected() -> None:
    text = mutate(general={"kind": "queue", "queue": "general", "overflow": "menu"})
    assert any("silent-caller loop" in p and "general -> menu -> general" in p for p in loops_of(text))


def test_the_shipped_flow_has_no_silent_loop() -> None:
    text = (PROJECT_ROOT / "dialplan" / "flows" / "support.yaml").read_text(encoding="utf-8")
    assert loops_of(text) == []
