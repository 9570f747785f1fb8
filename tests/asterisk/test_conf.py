"""Asterisk's .conf format: sections, templates, additions, comments, includes, line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.asterisk.conf import ConfError, load, parse_text, strip_comment
from ivr.asterisk.dialplan import agi_targets, applications, functions, queue_names
from ivr.asterisk.modules import module_of_app, requirement_path, with_requirements


def test_comments_and_escaped_semicolons() -> None:
    assert strip_comment("key = a\\;b ; note") == "key = a;b"
    assert strip_comment("; all comment") == ""
    text = "[s]\na = 1 ;-- block\nstill --; b = 2\n;-- whole\nc = 3\n--;\nd = 4\n"
    section = parse_text(text, "x.conf").sections[0]
    assert [(e.key, e.value, e.line) for e in section.entries] == [("a", "1", 2), ("b", "2", 3), ("d", "4", 7)]


def test_templates_inheritance_and_additions_resolve_in_asterisks_order() -> None:
    text = """
[tmpl](!)
allow = ulaw
context = a

[ep](tmpl)
context = b

[ep](+)
extra = yes
"""
    conf = parse_text(text, "p.conf")
    assert [s.name for s in conf.sections] == ["tmpl", "ep", "ep"]
    (ep,) = conf.resolved()
    assert ep.value("context") == "b" and ep.value("allow") == "ulaw" and ep.value("extra") == "yes"
    assert ep.line == 6


def test_arrow_entries_and_errors_name_the_line() -> None:
    conf = parse_text("[modules]\nload => res_agi.so\n", "m.conf")
    entry = conf.sections[0].entries[0]
    assert (entry.key, entry.value, entry.arrow, entry.line) == ("load", "res_agi.so", True, 2)
    with pytest.raises(ConfError, match=r"m.conf:2: .*before any \[section\]"):
        parse_text("\nload => x.so\n", "m.conf")
    with pytest.raises(ConfError, match=r"m.conf:2: cannot read"):
        parse_text("[s]\nnot a setting\n", "m.conf")


def test_includes_beside_the_file_are_followed(tmp_path: Path) -> None:
    (tmp_path / "main.conf").write_text("[puente]\nread = call\n#tryinclude extra.conf\n#tryinclude absent.conf\n")
    (tmp_path / "extra.conf").write_text("[puente](+)\nsecret = x\n")
    conf = load(tmp_path / "main.conf")
    (user,) = conf.resolved()
    assert user.value("secret") == "x"
    assert user.get("secret") is not None and user.get("secret").file.endswith("extra.conf")  # type: ignore[union-attr]


def test_dialplan_uses_are_found_with_their_lines() -> None:
    text = """[globals]
Q = general
[ctx]
exten => s,1,Answer()
 same => n(x),AGI(agi://10.0.0.5:4600/support)
 same => n,Set(L=${IF($["${A}" != ""]?${CALLERID(num)}:x)})
 same => n,Queue(puente-${Q},,,,600)
 same => n,Queue(puente-${IF($[1]?a:b)})
exten => 1001,hint,PJSIP/1001
"""
    conf = parse_text(text, "e.conf")
    assert [(u.name, u.entry.line) for u in applications(conf)] == [
        ("Answer", 4), ("AGI", 5), ("Set", 6), ("Queue", 7), ("Queue", 8)]
    assert sorted({u.name for u in functions(conf)}) == ["CALLERID", "IF"]
    (target,) = agi_targets(conf)
    assert (target.host, target.port, target.entry.line) == ("10.0.0.5", 4600, 5)
    assert [(name, entry.line) for name, entry in queue_names(conf)] == [("puente-general", 7)]


def test_module_table_follows_asterisk_22_requires() -> None:
    assert module_of_app("AGI") == "res_agi"
    assert module_of_app("Answer") is None
    assert requirement_path("res_agi", "res_speech") == ["res_agi", "res_speech"]
    assert requirement_path("chan_pjsip", "res_sorcery_config") is not None
    chain = with_requirements(["chan_pjsip"])
    assert {"res_pjsip", "res_pjsip_session", "res_pjsip_pubsub", "res_pjproject", "res_sorcery_config",
            "res_sorcery_memory", "res_sorcery_astdb"} <= set(chain)


def test_the_real_asterisk_config_that_loaded_satisfies_the_table(asterisk_captures: Path) -> None:
    """Asterisk 22.10.1 loaded these modules.conf files (autoload = no): whatever the table says
    they require, they list, so the table asks for nothing Asterisk does not."""
    for path in (asterisk_captures / "asterisk-config" / "modules.conf",
                 asterisk_captures / "round2" / "asterisk-config" / "modules.conf"):
        section = load(path).first("modules")
        assert section is not None
        loaded = {e.value.removesuffix(".so") for e in section.all("load")}
        assert set(with_requirements(loaded)) == loaded, path
