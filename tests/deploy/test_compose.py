"""docker-compose.yml can't run here (no Docker engine), so check what `docker compose config` would:
the structure, interpolation, named volumes, and that every file it mounts exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def load() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def interpolations(value: Any) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    if isinstance(value, dict):
        for v in value.values():
            found += interpolations(v)
    elif isinstance(value, list):
        for v in value:
            found += interpolations(v)
    elif isinstance(value, str):
        for m in VAR_RE.finditer(value.replace("$$", "")):
            found.append((m.group(1) or m.group(4), m.group(2)))
    return found


def test_services_are_the_documented_four_and_the_asterisk_check() -> None:
    services = load()["services"]
    assert set(services) == {"asterisk", "puente", "postgres", "mosquitto", "asterisk-check"}
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
    assert (ROOT / "Dockerfile").is_file()


def test_every_bind_mount_exists_and_named_volumes_are_declared() -> None:
    data = load()
    declared = set(data.get("volumes", {}))
    for name, svc in data["services"].items():
        for spec in svc.get("volumes", []):
            source = spec.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: mounts missing {source}"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_asterisk_gets_puente_dialplan_and_prompts() -> None:
    asterisk = load()["services"]["asterisk"]
    assert "./dialplan/asterisk:/etc/asterisk:ro" in asterisk["volumes"]
    assert any(v.startswith("prompts:") for v in asterisk["volumes"])


def test_secrets_come_from_the_environment_and_are_documented() -> None:
    data = load()
    example = (ROOT / "deploy" / "env.example").read_text()
    documented = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    required = {name for name, op in interpolations(data) if op == ":?"}
    assert {"POSTGRES_PASSWORD", "AMI_SECRET"} <= required
    assert required <= documented
    text = COMPOSE.read_text()
    assert "password:" not in text.lower().replace("postgres_password:", "")


@pytest.mark.parametrize("service", ["postgres", "mosquitto"])
def test_backing_services_publish_on_loopback_only(service: str) -> None:
    for port in load()["services"][service].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), port


@pytest.mark.parametrize("service", ["puente", "asterisk-check"])
def test_environment_names_real_settings(service: str) -> None:
    """Every IVR_* variable maps to a setting, down to the nested field: a setting nothing reads
    (IVR_AUTH__SESSION_SECRET was one) is removed from Settings, and then from here."""
    from pydantic import BaseModel

    from ivr.settings import Settings

    env = load()["services"][service]["environment"]
    for key in env:
        assert key.startswith("IVR_")
        model: type[BaseModel] = Settings
        parts = key[4:].lower().split("__")
        for i, part in enumerate(parts):
            if model is Settings and part == "speech" and parts[1:2] == ["languages"]:
                break  # IVR_SPEECH__LANGUAGES__<LANG>__...: a mapping keyed by language
            assert part in model.model_fields, f"{key} does not map to a setting"
            annotation = model.model_fields[part].annotation
            if i < len(parts) - 1:
                assert isinstance(annotation, type) and issubclass(annotation, BaseModel), key
                model = annotation


def test_the_asterisk_check_reads_what_asterisk_reads_and_reports_to_puente() -> None:
    from ivr.observability.health import ASTERISK_CHECK_FILE

    services = load()["services"]
    check, asterisk, puente = services["asterisk-check"], services["asterisk"], services["puente"]
    assert "./dialplan/asterisk:/etc/asterisk:ro" in check["volumes"]
    assert "./dialplan/asterisk:/etc/asterisk:ro" in asterisk["volumes"]
    assert check["command"][:4] == ["ivr", "asterisk", "check", "/etc/asterisk"]
    assert check["restart"] == "no"
    # it runs once Asterisk is started and Puente healthy (its prompts built), with Puente's own check
    assert check["depends_on"] == {"asterisk": {"condition": "service_started"},
                                   "puente": {"condition": "service_healthy"}}
    probe = " ".join(puente["healthcheck"]["test"])
    assert "/health" in probe
    # the sounds Asterisk plays are the ones checked
    sounds = next(v for v in asterisk["volumes"] if v.startswith("prompts:"))
    assert sounds in check["volumes"]
    assert check["command"][check["command"].index("--data-dir") + 1] + "/sounds/puente:ro" == sounds.split(":", 1)[1]
    # the result lands where Puente's /ready reads it (var_dir = /app/var in the image)
    record = check["command"][check["command"].index("--record") + 1]
    assert record == f"/app/var/{ASTERISK_CHECK_FILE}"
    assert "puente-var:/app/var" in check["volumes"] and "puente-var:/app/var" in puente["volumes"]
    # and Puente and the check read the same agents and queues
    assert "./dialplan:/app/dialplan:ro" in check["volumes"] and "./dialplan:/app/dialplan:ro" in puente["volumes"]
