"""Per-agent SIP secrets for REGISTER, from the environment or a secrets file (never the repo).

``IVR_SIP__AGENT_SECRETS__AGENT3=...`` sets agent3's secret; ``IVR_SIP__SECRETS_FILE`` names a
YAML file of ``agent: secret`` lines kept outside the repository (readable by Puente only). The
environment wins over the file. Names are matched without regard to case (environment variable
names lose their case on the way in).
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import SecretStr

from ivr.settings import ConfigurationError, SipSettings

log = logging.getLogger("ivr.sip.credentials")

_MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class AgentSecrets:
    """Agent name (lower case) -> secret. Holds no secret in its repr."""

    _secrets: Mapping[str, str]

    def get(self, agent: str) -> str | None:
        return self._secrets.get(agent.lower())

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"AgentSecrets({len(self._secrets)} agents)"

    @classmethod
    def of(cls, secrets: Mapping[str, str]) -> AgentSecrets:
        return cls(MappingProxyType({name.lower(): value for name, value in secrets.items() if value}))


def load_agent_secrets(settings: SipSettings) -> AgentSecrets:
    """The secrets in force; a bad secrets file is a :class:`ConfigurationError` naming the fix."""
    merged: dict[str, str] = {}
    if settings.secrets_file is not None:
        merged.update(_read_file(settings.secrets_file))
    merged.update({name: _plain(value) for name, value in settings.agent_secrets.items()})
    return AgentSecrets.of(merged)


def _plain(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _read_file(path: Path) -> dict[str, str]:
    where = f"IVR_SIP__SECRETS_FILE={path}"
    try:
        info = path.stat()
        if info.st_size > _MAX_FILE_BYTES:
            raise ConfigurationError(f"{where}: the file is over 1 MB; it should hold 'agent: secret' lines")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read it ({exc.strerror}); create it or unset the setting") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{where}: not UTF-8 text; write 'agent: secret' lines") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the SIP secrets file is readable by other users; chmod 600 it", extra={"path": str(path)})
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigurationError(f"{where}: not valid YAML; write 'agent: secret' lines") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where}: must be a mapping of 'agent: secret' lines")
    secrets: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not isinstance(value, str | int) or isinstance(value, bool):
            raise ConfigurationError(f"{where}: entry {str(name)[:40]!r} must be 'agent: secret' (a string)")
        secrets[name] = str(value)
    return secrets
