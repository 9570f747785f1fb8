"""Labels in flows: ``label: {es: ..., en: ...}`` on nodes and on menu/language options, each checked
(a language code, one line of text) and checked together (every label speaks the same languages)."""

from __future__ import annotations

import yaml

from ivr.flows.schema import MenuNode
from ivr.flows.validate import check_text
from tests.flows.test_validate import GOOD, REFS, problems_of


def labelled(hello: object, option: object = None) -> str:
    data = yaml.safe_load(GOOD)
    data["nodes"]["hello"]["label"] = hello
    if option is not None:
        data["nodes"]["menu"]["options"][1]["label"] = option
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_labels_in_every_language_are_read() -> None:
    flow, found = check_text(labelled({"es": "  Saludo ", "en": "Greeting"}, {"es": "Facturación", "en": "Billing"}),
                             source="f.yaml", refs=REFS)
    assert found == [] and flow is not None
    assert flow.nodes["hello"].label == {"es": "Saludo", "en": "Greeting"}  # spaces tidied
    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode) and menu.options["1"].label["en"] == "Billing"


def test_a_bad_language_code_an_empty_or_a_long_text_is_refused_in_words() -> None:
    assert any("label language 'Spanish' is not a language code (es, en, ...)" in p
               for p in problems_of(labelled({"Spanish": "Saludo"})))
    assert any("label en: the text is empty" in p for p in problems_of(labelled({"en": "   "})))
    assert any("label en: at most 80 characters (it has 81)" in p for p in problems_of(labelled({"en": "x" * 81})))
    assert any("string" in p.lower() for p in problems_of(labelled({"en": 5})))


def test_a_label_missing_a_language_the_others_have_is_a_problem() -> None:
    found = problems_of(labelled({"es": "Saludo", "en": "Greeting"}, {"es": "Facturación"}))
    assert found == ["f.yaml:menu: option 1 label has no en text (other labels in this flow have one): "
                     "add it, e.g. {en: ..., es: ...}"]
