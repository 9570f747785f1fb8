"""Labels: the names agents read on the desk for a flow's steps and options, per language.

A node may carry ``label: {es: ..., en: ...}`` (its step name) and so may a menu or language
option (the option's name). The desk shows them in the agent's language (:mod:`api.readable`).
The schema checks each label (a language code, one line of text); this module checks a flow's
labels together: once any label of a flow speaks a language, every label must, or an agent
reading that language would see some steps named and others not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ivr.flows.schema import Flow, LanguageNode, MenuNode


def labelled(flow: Flow) -> Iterator[tuple[str, str, Mapping[str, str]]]:
    """(node id, what carries it, labels) for everything in the flow that has a label."""
    for node_id, node in flow.nodes.items():
        if node.label:
            yield node_id, "label", node.label
        if isinstance(node, MenuNode | LanguageNode):
            for key, option in node.options.items():
                if option.label:
                    yield node_id, f"option {key} label", option.label


def check_labels(flow: Flow) -> Iterator[tuple[str, str]]:
    """(node id, problem) for each label missing a language the flow's other labels have."""
    found = list(labelled(flow))
    languages = sorted({language for _, _, labels in found for language in labels})
    for node_id, what, labels in found:
        missing = [language for language in languages if language not in labels]
        if missing:
            yield node_id, (f"{what} has no {', '.join(missing)} text (other labels in this flow have one): "
                            f"add it, e.g. {{{', '.join(f'{lang}: ...' for lang in languages)}}}")
