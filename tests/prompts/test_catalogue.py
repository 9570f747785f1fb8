from __future__ import annotations

from pathlib import Path

import pytest

from ivr.channel import PromptFile
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.errors import CatalogueError, UnknownPrompt
from ivr.prompts.speech_numbers import all_word_ids
from ivr.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "prompts"


@pytest.fixture(scope="module")
def catalogue() -> PromptCatalogue:
    return PromptCatalogue.load(SHIPPED)


def test_shipped_catalogue_is_complete_in_both_languages(catalogue: PromptCatalogue) -> None:
    assert catalogue.languages == ("en", "es")
    for prompt_id in catalogue.ids():
        assert catalogue.has(prompt_id, "es") and catalogue.has(prompt_id, "en"), prompt_id
    needed = {
        "language_choice", "greeting", "after_hours/menu", "hours", "main_menu", "invalid", "no_input",
        "order/enter_number", "order/your_order", "order/shipped", "order/in_transit", "order/delivered",
        "order/processing", "order/not_found", "order/menu", "goodbye", "transferring", "returning_caller",
        "confirm/did_you_say", "confirm/yes_no", "queue/all_busy", "queue/connecting", "queue/offer_callback",
        "queue/offer_link",
    }
    assert needed <= set(catalogue.ids())
    assert all_word_ids() <= set(catalogue.ids())  # every word the number speaker can produce


def test_lookups(catalogue: PromptCatalogue) -> None:
    assert catalogue.file("greeting", "es") == PromptFile("es/greeting")
    assert catalogue.file("num/7", "en") == PromptFile("en/num/7")
    assert catalogue.text("num/21", "es") == "veintiuno"
    assert catalogue.version("greeting") == "1"
    assert catalogue.path("es/num/7") == SHIPPED / "audio" / "es" / "num" / "7.wav"
    assert "English" in catalogue.text("language_choice", "es") and "español" in catalogue.text("language_choice", "en")
    assert not catalogue.has("greeting", "fr") and not catalogue.has("nope", "es")
    with pytest.raises(UnknownPrompt, match="'nope'"):
        catalogue.file("nope", "es")
    with pytest.raises(UnknownPrompt):
        catalogue.text("greeting", "fr")
    with pytest.raises(UnknownPrompt):
        catalogue.path("es/../../etc/passwd")
    with pytest.raises(LookupError):  # UnknownPrompt is a LookupError for callers that expect one
        catalogue.version("nope")


def write(folder: Path, name: str, text: str) -> None:
    (folder / "catalogue").mkdir(parents=True, exist_ok=True)
    (folder / "catalogue" / name).write_text(text, encoding="utf-8")


def test_per_prompt_version_and_one_language_prompts(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'version: "7"\nprompts:\n  x: {es: "equis", version: "8"}\n  y: {en: "why"}\n')
    c = PromptCatalogue.load(tmp_path)
    assert (c.version("x"), c.version("y")) == ("8", "7")
    assert c.has("x", "es") and not c.has("x", "en")
    assert c.find("x", "es") == c.file("x", "es") == PromptFile("es/x") and c.find("x", "en") is None
    assert c.missing_audio() == ["es/x", "en/y"]  # by id, then language


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prompts: {x: {es: a}}", "'version' must be a non-empty string"),
        ("version: 1\nprompts: {x: {es: a}}", "'version' must be a non-empty string"),
        ('version: "1"\nprompts: {}', "'prompts' must be a non-empty mapping"),
        ('version: "1"\nprompts: {Bad Id: {es: a}}', "prompt 'Bad Id': invalid id"),
        ('version: "1"\nprompts: {x: {spanish: a}}', "prompt 'x': 'spanish' is not a language code"),
        ('version: "1"\nprompts: {x: {es: ""}}', "prompt 'x': text for 'es' must be a non-empty string"),
        ('version: "1"\nprompts: {x: {}}', "prompt 'x': no text in any language"),
        ('version: "1"\nprompts: {x: "hola"}', "prompt 'x': must map languages to texts"),
        ('version: "1"\nprompt: {x: {es: a}}', "unknown top-level keys: prompt"),
        ("version: [", "invalid YAML"),
    ],
)
def test_invalid_catalogue_names_file_prompt_and_problem(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "core.yaml", text)
    with pytest.raises(CatalogueError) as err:
        PromptCatalogue.load(tmp_path)
    assert str(tmp_path / "catalogue" / "core.yaml") in str(err.value)
    assert message in str(err.value)


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'version: "1"\nprompts: {goodbye: {es: adiós}}')
    write(tmp_path, "b.yaml", 'version: "1"\nprompts: {goodbye: {es: chao}}')
    with pytest.raises(CatalogueError, match=r"b.yaml: prompt 'goodbye': already defined in a.yaml"):
        PromptCatalogue.load(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="does not exist"):
        PromptCatalogue.load(tmp_path)
