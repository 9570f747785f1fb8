"""``ivr serve`` as a subprocess on free loopback ports, with a temp SQLite DB and test agents.

The dialplan folder is copied and adjusted: agents point at SIPp UAS ports picked now, the billing
queue rings for 3 s and always offers the callback key, and the `support` schedule is forced open
(an override in the DB) so the test does not depend on the hour it runs at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.sipp.sipp import free_port, require_sipp

ROOT = Path(__file__).resolve().parents[2]
IVR = [str(Path(sys.executable).parent / "ivr")]  # the console script of this venv
READY_SECONDS = 30.0


@dataclass
class Puente:
    env: dict[str, str]
    sip_port: int
    http_port: int
    agent_ports: dict[str, int]
    log_path: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    def ivr(self, *args: str, timeout: float = 30.0) -> str:
        done = subprocess.run(
            [*IVR, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"ivr {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def calls(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = json.loads(self.ivr("calls", "list", "--json"))
        return listed

    def call(self, call_id: str) -> dict[str, Any]:
        shown: dict[str, Any] = json.loads(self.ivr("calls", "show", call_id, "--json"))
        return shown

    def call_from(self, caller: str, deadline: float = 15.0) -> dict[str, Any]:
        """The (only) call from ``caller``, once it has ended (polled with a deadline)."""
        end = time.monotonic() + deadline
        while True:
            mine = [c for c in self.calls() if c["caller"] == caller]
            if mine and mine[0]["ended_at"]:
                return self.call(mine[0]["call_id"])
            if time.monotonic() > end:
                raise AssertionError(f"no ended call from {caller}: {mine}\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _dialplan(tmp: Path, agent_ports: dict[str, int]) -> Path:
    dialplan = tmp / "dialplan"
    shutil.copytree(ROOT / "dialplan", dialplan, ignore=shutil.ignore_patterns("asterisk"))
    agents = {
        "agents": {
            name: {
                "name": f"E2E {name}",
                "endpoint": f"sip:{name}@127.0.0.1:{port}",
                "skills": {"billing": 2, "support": 1},
            }
            for name, port in agent_ports.items()
        }
    }
    (dialplan / "agents.yaml").write_text(yaml.safe_dump(agents), encoding="utf-8")
    queues = yaml.safe_load((dialplan / "queues.yaml").read_text(encoding="utf-8"))
    billing = queues["queues"]["billing"]
    # expected_handle_seconds: the EWT's prior, near what a SIPp agent's turn takes (not a person's 4 min)
    billing.update(ring_timeout=3, offer_callback_ewt_above=0, wrap_up_seconds=1, expected_handle_seconds=10)
    (dialplan / "queues.yaml").write_text(yaml.safe_dump(queues, allow_unicode=True), encoding="utf-8")
    return dialplan


@pytest.fixture(scope="module")
def puente(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Puente]:
    require_sipp()
    tmp = tmp_path_factory.mktemp("puente")
    agent_ports = {"agent1": free_port()}
    dialplan = _dialplan(tmp, agent_ports)
    sip_port, http_port = free_port(), free_port(kind=1)
    env = {
        **os.environ,
        "IVR_VAR_DIR": str(tmp / "var"),
        "IVR_DATABASE_URL": f"sqlite:///{tmp / 'puente.db'}",
        "IVR_FLOWS_DIR": str(dialplan / "flows"),
        "IVR_SIP__PORT": str(sip_port),
        "IVR_SIP__RTP_PORT_MIN": "0",
        "IVR_HTTP__PORT": str(http_port),
        "IVR_HTTP__PUBLIC_BASE_URL": f"http://127.0.0.1:{http_port}",
        "IVR_AGI__PORT": str(free_port(kind=1)),
        "IVR_AUDIOSOCKET__PORT": str(free_port(kind=1)),
        "IVR_AMI__ENABLED": "false",
        # Callbacks booked by these calls must not be dialled back into the SIPp agents mid-test
        # (by day in Madrid they are due at once); the dispatcher is tested in tests/callbacks.
        "IVR_CALLBACKS__DISPATCH": "false",
        # An agent that may register (tests/e2e/test_sip_edges.py); MD5 first for SIPp 3.6.
        "IVR_SIP__AGENT_SECRETS__AGENT9": "e2e-secret",
        "IVR_SIP__DIGEST_ALGORITHMS": '["MD5", "SHA-256"]',
        "IVR_LOG_JSON": "true",
        "PYTHONPATH": str(ROOT),
        # Whisper's weights joined once for every server of the session, not 145 MB per module.
        "IVR_SPEECH__MODELS_DIR": str(tmp_path_factory.getbasetemp() / "models"),
    }
    env.pop("IVR_CONFIG", None)
    (tmp / "var").mkdir()
    server = Puente(env, sip_port, http_port, agent_ports, tmp / "serve.log")
    server.ivr("db", "upgrade", timeout=60)
    server.ivr("schedules", "override", "support", "open", "--reason", "e2e")
    with server.log_path.open("wb") as log:
        process = subprocess.Popen([*IVR, "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(server, process)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(server: Puente, process: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + READY_SECONDS
    url = f"http://127.0.0.1:{server.http_port}/health"
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"ivr serve exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"ivr serve not ready in {READY_SECONDS} s:\n{server.log_tail()}")
