"""The caller's route in words: step names from the flow, options by name, ids in words as the fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.readable import readable, words
from ivr.flows.loader import FileFlowProvider

FLOWS = Path(__file__).resolve().parents[2] / "dialplan" / "flows"


def test_steps_and_choices_read_as_words() -> None:
    flows = FileFlowProvider(FLOWS).flow_set
    context: dict[str, Any] = {
        "flow": "support", "language": "es", "path": ["choose_language", "main_menu"], "inputs": [
        {"node": "choose_language", "mode": "dtmf", "digits": "1"},
        {"node": "main_menu", "mode": "dtmf", "digits": "2"},
        {"node": "main_menu", "mode": "dtmf", "digits": "0"},
        {"node": "main_menu", "mode": "dtmf", "digits": "9"},
        {"node": "main_menu", "mode": "none", "digits": ""}]}
    out = readable(context, flows)
    assert out["steps"] == ["Choose language", "Main menu"]
    assert [i["choice"] for i in out["inputs"]] == ["English", "technical support", "an agent", None, None]
    assert context["inputs"][0].get("choice") is None  # the caller's record is not changed


def test_an_unknown_flow_still_reads() -> None:
    flows = FileFlowProvider(FLOWS).flow_set
    out = readable({"flow": "gone", "path": ["after_hours_menu"], "inputs": [{"node": "x", "digits": "1"}]}, flows)
    assert out["steps"] == ["After hours menu"] and out["inputs"][0]["choice"] is None
    assert readable({"path": ["a_b"]}, None)["steps"] == ["A b"] and words("") == ""
