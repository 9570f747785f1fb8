"""The shipped cluster dialplan parses, tries every node before Asterisk's Queue(), and has an
answer-hook context per node."""

from __future__ import annotations

from pathlib import Path

from ivr.asterisk.conf import load
from ivr.asterisk.dialplan import agi_targets, applications

DIALPLAN = Path(__file__).resolve().parents[2] / "dialplan" / "asterisk"


def test_the_cluster_context_falls_through_every_node_then_to_queue() -> None:
    conf = load(DIALPLAN / "extensions_cluster.conf")
    hooks = conf.first("puente-agent-answered-1")
    assert hooks is not None
    support = [u for u in applications(conf) if u.entry.line < hooks.line]
    agi = [u.args for u in support if u.name == "AGI"]
    # every node gets the call id and queue the node before it set (empty on the first): a caller
    # sent on from a dead node is resumed, not started again
    assert agi == [f"agi://10.0.0.1{n}:4573/support,${{PUENTE_CALL_ID}},${{PUENTE_QUEUE}}" for n in (1, 2, 3)]
    sets = [u.args for u in support if u.name == "Set"]
    assert {"PUENTE_CALL_ID=", "PUENTE_QUEUE=", "PUENTE_RESULT="} <= set(sets)
    names = [u.name for u in support]
    # each node's AGI is followed by the "done?" check, and the last resort is the fallback context
    assert all(names[i + 1] == "GotoIf" for i, n in enumerate(names) if n == "AGI")
    assert support[-2].args == "puente-fallback,s,1"
    base = load(DIALPLAN / "extensions.conf")
    assert base.first("puente-fallback") is not None  # where the fallthrough ends, shipped in extensions.conf


def test_each_node_has_its_own_answer_hook_context() -> None:
    conf = load(DIALPLAN / "extensions_cluster.conf")
    hooks = {t.host for t in agi_targets(conf) if "agent-answered" in t.entry.value}
    assert hooks == {"10.0.0.11", "10.0.0.12", "10.0.0.13"}
    assert all(conf.first(f"puente-agent-answered-{n}") is not None for n in (1, 2, 3))


def test_included_in_the_shipped_configuration_only_the_node_addresses_need_a_change(tmp_path: Path) -> None:
    """``ivr asterisk check`` on the deployed files with the cluster context included: nothing
    but the example node addresses (which every site changes) differs from one node's settings."""
    from ivr.asterisk.check import problems
    from tests.asterisk.support import deployed
    from tests.asterisk.test_check import findings

    conf, data = deployed(tmp_path)
    extensions = conf / "extensions.conf"
    extensions.write_text(extensions.read_text() + "\n#include extensions_cluster.conf\n")
    found = problems(findings(conf, data))
    assert found and all(f.problem.startswith("AGI goes to 10.0.0.1") for f in found), \
        "\n".join(f.render() for f in found)
