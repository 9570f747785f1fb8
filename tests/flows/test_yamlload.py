"""The limited flow loader: hostile YAML gets one clear line, fast, and never anything else."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.flows.errors import FlowError, FlowRefused, InvalidYaml
from ivr.flows.validate import References, check_text
from ivr.flows.yamlload import FlowLimits, load_flow_yaml
from ivr.settings import PROJECT_ROOT

LIMITS = FlowLimits()

# 448 bytes in the report: each level multiplies by ten; six levels are a million values.
BOMB = "\n".join(
    [f'a: &a [{", ".join(["lol"] * 10)}]']
    + [f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]" for prev, name in zip("abcde", "bcdef", strict=True)]
) + "\n"
SELF_ALIAS = "a: &a [*a, *a]\n"


def chain_flow(nodes: int) -> str:
    """A valid flow of ``nodes`` play nodes in a row (about 50 bytes a node)."""
    lines = ["name: big", "default: true", "languages: [es]", "start: n0", "nodes:"]
    lines += [f"  n{i}: {{kind: play, prompts: [hello], next: n{i + 1}}}" for i in range(nodes - 1)]
    lines.append(f"  n{nodes - 1}: {{kind: hangup}}")
    return "\n".join(lines) + "\n"


def refused(text: str, limits: FlowLimits = LIMITS) -> str:
    with pytest.raises(FlowRefused) as caught:
        load_flow_yaml(text, limits)
    return str(caught.value)


def test_the_shipped_flow_reads_as_plain_yaml_does() -> None:
    text = (PROJECT_ROOT / "dialplan" / "flows" / "support.yaml").read_text(encoding="utf-8")
    assert load_flow_yaml(text, LIMITS)[1] == yaml.safe_load(text)


def test_an_anchor_bomb_is_refused_at_its_first_alias_at_once() -> None:
    started = time.perf_counter()
    assert refused(BOMB) == "line 2: YAML aliases (*a) are not allowed in flows"
    assert time.perf_counter() - started < 1.0  # generous: the refusal reads two lines


def test_a_self_referencing_alias_is_refused() -> None:
    assert refused(SELF_ALIAS) == "line 1: YAML aliases (*a) are not allowed in flows"


def test_anchors_without_aliases_and_merge_keys_are_fine() -> None:
    assert load_flow_yaml("a: &x {b: 1}\nc: {<<: {d: 2}, e: 3}\n", LIMITS)[1] == {"a": {"b": 1},
                                                                                "c": {"d": 2, "e": 3}}


@pytest.mark.parametrize("text", ["x: " + "[" * 200 + "]" * 200, "x:\n" + "".join(
    "  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "v: 1\n"])
def test_deep_nesting_is_refused_with_its_line(text: str) -> None:
    message = refused(text)
    assert message.startswith("line ") and message.endswith(f"nested more than {LIMITS.max_depth} levels deep")


def test_very_deep_nesting_is_one_clear_line_too() -> None:
    # libyaml stops at 1000 levels while scanning ahead, before the composer counts them.
    with pytest.raises(FlowError, match="nest") as caught:
        load_flow_yaml("x: " + "[" * 5000 + "]" * 5000, LIMITS)
    assert "\n" not in str(caught.value)


def test_an_oversized_text_is_refused_before_reading_it() -> None:
    text = "x: " + "a" * (LIMITS.max_bytes + 10) + "\n"
    assert refused(text) == f"the flow is {len(text)} bytes; the limit is {LIMITS.max_bytes} bytes"


def test_too_many_values_are_refused() -> None:
    limits = FlowLimits(max_values=1_000)
    message = refused("x: [" + ", ".join(["1"] * 2_000) + "]\n", limits)
    assert message == "line 1: more than 1000 YAML values (a flow is far smaller)"


def test_a_huge_node_count_is_refused() -> None:
    limits = FlowLimits(max_nodes=500)
    assert refused(chain_flow(501), limits) == "the flow has 501 nodes; the limit is 500"
    assert len(load_flow_yaml(chain_flow(500), limits)[1]["nodes"]) == 500


def test_the_checker_takes_a_long_chain_without_recursion() -> None:
    flow, problems = check_text(chain_flow(LIMITS.max_nodes), source="big.yaml", refs=References())
    assert flow is not None and problems == []


# --------------------------------------------------------------------------- random YAML
def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))


_values = st.recursive(_scalars(), lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)), max_leaves=60)


@st.composite
def _aliased(draw: st.DrawFn) -> str:
    """YAML with anchors and aliases sprinkled in, some nested, some self-referencing."""
    names = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=6))
    lines = []
    for i, name in enumerate(names):
        refs = draw(st.lists(st.sampled_from(names[: i + 1]), max_size=12))
        lines.append(f"k{i}: &{name} [{', '.join(['x', *(f'*{r}' for r in refs)])}]")
    return "\n".join(lines) + "\n"


_documents = st.one_of(
    st.text(max_size=400),
    _values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    _values.map(lambda v: yaml.safe_dump({"name": "x", "nodes": v})),
    _aliased(),
    st.integers(min_value=1, max_value=400).map(lambda n: "x: " + "[" * n + "]" * n),
)


@settings(max_examples=300, deadline=2_000, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(_documents)
def test_random_yaml_gives_a_value_or_a_typed_error_fast_and_small(text: str) -> None:
    tracemalloc.start()
    try:
        with contextlib.suppress(FlowRefused, InvalidYaml):  # anything else fails the test
            load_flow_yaml(text, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024
