"""Nodes that wait for the caller: menus, digit collection and the language choice.

No-input and no-match share one try counter; after ``max_tries`` the node's fallback runs (the
shipped flow sends a confused caller to a human, never hangs up). A speech choice below the
confidence threshold is confirmed (1 yes / 2 no) before it is taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.channel import Grammar, InputMode, InputResult, InputSpec
from ivr.dialogs.yesno import Answer, ask_yes_no
from ivr.events.flow import CallError, VariableSet
from ivr.events.types import NoInput, NoMatch
from ivr.flows.runtime import CallRun
from ivr.flows.schema import AGENT_DIGIT, AGENT_KEY, CollectNode, Flow, LanguageNode, MenuNode

# "Did you say" <the option's label> "? If that is right, press 1. If not, press 2."
CONFIRM_BEFORE = "confirm/did_you_say"
CONFIRM_AFTER = "confirm/yes_no"
AGENT_LABEL = "option/agent"


def menu_digits(node: MenuNode) -> dict[str, str]:
    """Every accepted key of a menu -> option key."""
    keys = {digit: digit for digit in node.options}
    if node.agent and AGENT_DIGIT not in keys:
        keys[AGENT_DIGIT] = AGENT_KEY
    return keys


def menu_target(node: MenuNode, key: str) -> str:
    if key == AGENT_KEY:
        assert node.agent is not None  # only offered when the menu has an agent route
        return node.agent
    return node.options[key].next


@dataclass(frozen=True, slots=True)
class _Choice:
    key: str | None
    result: InputResult


async def run_menu(
    run: CallRun, node_id: str, node: MenuNode, *, confidence_threshold: float, speech: bool = True
) -> str:
    grammar = Grammar(run.language, node.phrases(run.language)) if node.speech and speech else None
    digits = menu_digits(node)
    prompt_ids = node.prompts
    for _ in range(node.max_tries):
        files = run.files(prompt_ids)
        result = await run.channel.collect(files, InputSpec(max_digits=1, first_timeout=node.timeout, grammar=grammar))
        run.played(files, node=node_id)
        if result.mode is InputMode.NONE or (result.mode is InputMode.DTMF and not result.digits):
            run.publish(NoInput(call_id=run.call_id, node=node_id))
            prompt_ids = node.no_input or node.prompts
            continue
        run.record_input(node_id, result)
        key = digits.get(result.digits[:1]) if result.mode is InputMode.DTMF else result.key
        if key is None or (key != AGENT_KEY and key not in node.options):
            run.publish(NoMatch(call_id=run.call_id, node=node_id, digits=result.digits,
                                transcript=result.transcript))
            prompt_ids = node.no_match or node.prompts
            continue
        if result.mode is InputMode.SPEECH and (result.confidence or 0.0) < confidence_threshold:
            label = _confirm_prompt(node, key)
            confirm = [CONFIRM_BEFORE, label, CONFIRM_AFTER] if label else [CONFIRM_BEFORE, CONFIRM_AFTER]
            answer, _ = await ask_yes_no(run.channel, run.ctx, run.prompts, run.recorder, node=node_id,
                                         prompt_ids=confirm, tries=1)
            if answer is not Answer.YES:
                prompt_ids = node.prompts
                continue
        return menu_target(node, key)
    run.publish(CallError(call_id=run.call_id, node=node_id, error="max_tries", fallback=node.fallback))
    return node.fallback


def _confirm_prompt(node: MenuNode, key: str) -> str | None:
    if key == AGENT_KEY:
        return AGENT_LABEL
    option = node.options.get(key)
    return option.confirm if option is not None else None


async def run_collect(run: CallRun, node_id: str, node: CollectNode) -> str:
    spec = InputSpec(
        max_digits=node.max_length,
        min_digits=node.min_length,
        terminator=node.terminator,
        first_timeout=node.timeout,
        inter_digit_timeout=node.inter_digit_timeout,
    )
    pattern = re.compile(node.pattern) if node.pattern else None
    prompt_ids = node.prompts
    for _ in range(node.max_tries):
        files = run.files(prompt_ids)
        result = await run.channel.collect(files, spec)
        run.played(files, node=node_id)
        if not result.digits:
            run.publish(NoInput(call_id=run.call_id, node=node_id))
            prompt_ids = node.no_input or node.prompts
            continue
        run.record_input(node_id, result)
        value = result.digits
        if not node.min_length <= len(value) <= node.max_length or (pattern and not pattern.fullmatch(value)):
            run.publish(NoMatch(call_id=run.call_id, node=node_id, digits=value))
            prompt_ids = node.invalid or node.prompts
            continue
        run.ctx.variables[node.variable] = value
        run.publish(VariableSet(call_id=run.call_id, node=node_id, variable=node.variable))
        return node.next
    run.publish(CallError(call_id=run.call_id, node=node_id, error="max_tries", fallback=node.fallback))
    return node.fallback


async def run_language(run: CallRun, node_id: str, node: LanguageNode, flow: Flow, *, speech: bool = True) -> str:
    if node.value is not None:
        await run.set_language(node.value, node=node_id)
        return node.next
    default = node.default or flow.languages[0]
    files = run.files(node.prompts, lang=default)
    for digit in sorted(node.options):
        option = node.options[digit]
        if option.prompt:
            files.extend(run.files([option.prompt], lang=option.language))
    # The caller's language is not known yet: one grammar with every option's words.
    grammar = Grammar(default, node.phrases) if node.phrases and speech else None
    chosen = default
    for _ in range(node.max_tries):
        result = await run.channel.collect(files, InputSpec(max_digits=1, first_timeout=node.timeout, grammar=grammar))
        run.played(files, node=node_id)
        if result.mode is InputMode.NONE:
            run.publish(NoInput(call_id=run.call_id, node=node_id))
            continue
        run.record_input(node_id, result)
        key = result.digits[:1] if result.mode is InputMode.DTMF else result.key
        if key in node.options:
            chosen = node.options[key].language
            break
        run.publish(NoMatch(call_id=run.call_id, node=node_id, digits=result.digits))
    await run.set_language(chosen, node=node_id)
    return node.next
