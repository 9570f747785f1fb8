"""A deployed copy of the shipped Asterisk configuration: the files, the secrets `render --secrets`
writes, and an Asterisk data directory holding Puente's prompts and some music."""

from __future__ import annotations

import shutil
from pathlib import Path

from ivr.acd.config import load_agents
from ivr.asterisk.render import (
    MANAGER_SECRETS,
    PJSIP_SECRETS,
    render_manager_secrets,
    render_pjsip_secrets,
    write_private,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT, Settings

SHIPPED = PROJECT_ROOT / "dialplan" / "asterisk"
AMI_SECRET = "test-ami-secret"


def deploy_settings(**overrides: object) -> Settings:
    return Settings(ami={"enabled": True, "secret": AMI_SECRET}, **overrides)  # type: ignore[arg-type]


def deployed(tmp_path: Path) -> tuple[Path, Path]:
    """(config dir, data dir) as an operator following the README would have them."""
    conf = tmp_path / "etc-asterisk"
    shutil.copytree(SHIPPED, conf)
    agents = load_agents(PROJECT_ROOT / "dialplan" / "agents.yaml")
    write_private(conf / PJSIP_SECRETS, render_pjsip_secrets(agents, {}, {}).text)
    write_private(conf / MANAGER_SECRETS, render_manager_secrets("puente", AMI_SECRET))
    data = tmp_path / "var-lib-asterisk"
    catalogue = PromptCatalogue.load(PROJECT_ROOT / "prompts")
    for entry in catalogue.entries():
        for lang in entry.texts:
            wav = data / "sounds" / "puente" / lang / f"{entry.prompt_id}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            wav.write_bytes(b"RIFF")
    (data / "moh").mkdir(parents=True)
    (data / "moh" / "macroform-cold_day.wav").write_bytes(b"RIFF")
    return conf, data


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
