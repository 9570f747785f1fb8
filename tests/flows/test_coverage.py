"""Prompt coverage: a menu's prompt must announce every key and one of each option's words, in
every language of the flow; what it does not is a warning that names the key, the language and the prompt."""

from __future__ import annotations

from ivr.flows.checking import _check_job
from ivr.flows.coverage import coverage_warnings
from ivr.flows.loader import parse_flow_data
from ivr.flows.schema import Flow
from ivr.flows.validate import References
from ivr.flows.yamlload import DEFAULT_LIMITS, load_flow_yaml
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT

SUPPORT = (PROJECT_ROOT / "dialplan" / "flows" / "support.yaml").read_text(encoding="utf-8")
KEY_4 = "      4:\n        next: need_agent\n        say: {es: [cuatro], en: [four]}\n"


def flow_of(text: str) -> Flow:
    flow, problems = parse_flow_data(load_flow_yaml(text, DEFAULT_LIMITS)[1], source="t")
    assert flow is not None, problems
    return flow


def messages(text: str, catalogue: PromptCatalogue) -> list[str]:
    return [f"{w.node}: {w.message}" for w in coverage_warnings(flow_of(text), catalogue, source="t")]


def test_the_shipped_main_menu_announces_every_option(catalogue: PromptCatalogue) -> None:
    assert not [m for m in messages(SUPPORT, catalogue) if m.startswith("main_menu")]


def test_a_key_the_prompt_never_mentions_is_a_warning_in_each_language(catalogue: PromptCatalogue) -> None:
    text = SUPPORT.replace("    agent: need_agent\n", KEY_4 + "    agent: need_agent\n", 1)
    found = [m for m in messages(text, catalogue) if m.startswith("main_menu")]
    assert found == [
        "main_menu: key 4 is not announced in es (prompt main_menu)",
        "main_menu: option 4: none of its words (cuatro) is said in es (prompt main_menu)",
        "main_menu: key 4 is not announced in en (prompt main_menu)",
        "main_menu: option 4: none of its words (four) is said in en (prompt main_menu)",
    ]


def test_words_count_once_one_is_said_and_not_for_a_keys_only_menu(catalogue: PromptCatalogue) -> None:
    # "facturas" is not said, "facturación" is: the option is covered
    assert not [m for m in messages(SUPPORT, catalogue) if "option 1" in m]
    # the shipped after-hours menu says "que le llamemos", none of option 2's Spanish words
    assert messages(SUPPORT, catalogue) == [
        "after_hours_menu: option 2: none of its words (llamada, que me llamen, devolver la llamada) is said in es "
        "(prompt after_hours/menu)"]
    menu = "    prompts: [after_hours/menu]\n"
    keys_only = SUPPORT.replace(menu, menu + "    speech: false\n")
    assert messages(keys_only, catalogue) == []


def test_warnings_come_with_the_check_and_do_not_count_as_problems(catalogue: PromptCatalogue) -> None:
    text = SUPPORT.replace("    agent: need_agent\n", KEY_4 + "    agent: need_agent\n", 1)
    checked = _check_job(text, "t", References(prompts=catalogue), DEFAULT_LIMITS)
    assert checked.problems == [] and checked.flow is not None
    assert "main_menu: key 4 is not announced in es (prompt main_menu)" in [f"{w.node}: {w.message}"
                                                                         for w in checked.warnings]
    assert coverage_warnings(checked.flow, None, source="t") == []  # no catalogue, no check
