"""The walk-throughs in README.md and docs/sip.md, run as written against a live ``ivr serve``.

A fenced shell block preceded by ``<!-- doc-test: run -->`` runs in ``sh -e``, in order, in the
directory the previous block left (as in one terminal); ``<!-- doc-test: server -->`` (re)starts the
server with that block. The documents keep the default ports; this test moves each one it knows to a
free port (an unknown port fails the test, so a new command cannot slip past it), points agent3 at the
agent phone's port, and keeps data in a temporary ``IVR_HOME``. No date or hour is faked: the
documents themselves must open the line (that is what this test is for).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sipp.sipp import free_media_port, free_port, require_sipp

pytestmark = pytest.mark.sipp

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BLOCK_RE = re.compile(r"<!-- doc-test: (run|server) -->\n```(?:sh|bash)\n(.*?)```", re.S)
SIPP_PORT_RE = re.compile(r"-(p|mp) (\d+)\b")
READY_SECONDS = 30.0
BLOCK_SECONDS = 180.0
# make run's last two steps: what serves the README's walk-through before any server block.
MAKE_RUN = ".venv/bin/ivr db upgrade && exec .venv/bin/ivr serve"


@dataclass(frozen=True)
class Block:
    kind: str  # run | server
    text: str
    line: int


def doc_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in BLOCK_RE.finditer(text)]


class Ports:
    """The documents' default ports -> free ones for this run."""

    def __init__(self) -> None:
        self.sip, self.http = free_port(), free_port(kind=1)
        self.agi, self.audiosocket = free_port(kind=1), free_port(kind=1)
        media: list[int] = []
        while len(media) < 3:  # distinct even pairs (SIPp uses port and port + 2)
            port = free_media_port()
            if all(abs(port - other) > 4 for other in media):
                media.append(port)
        self.sipp = {"5070": free_port(), "5071": free_port(), "5080": free_port(),
                     "6000": media[0], "6010": media[1], "6100": media[2]}

    def rewrite(self, command: str) -> str:
        command = command.replace(".venv/bin/", f"{VENV_BIN}/")
        command = command.replace("127.0.0.1:5060", f"127.0.0.1:{self.sip}")
        command = command.replace("127.0.0.1:8080", f"127.0.0.1:{self.http}")

        def moved(m: re.Match[str]) -> str:
            assert m.group(2) in self.sipp, f"the docs use SIPp port {m.group(2)}: teach tests/e2e/test_docs.py"
            return f"-{m.group(1)} {self.sipp[m.group(2)]}"

        return SIPP_PORT_RE.sub(moved, command)


class Walkthrough:
    """One document's blocks against one server at a time."""

    def __init__(self, tmp: Path) -> None:
        self.ports = Ports()
        self.tmp = tmp
        dialplan = tmp / "dialplan"
        shutil.copytree(ROOT / "dialplan", dialplan, ignore=shutil.ignore_patterns("asterisk"))
        agents = dialplan / "agents.yaml"
        shipped = agents.read_text(encoding="utf-8")
        assert "sip:agent3@127.0.0.1:5080" in shipped  # the agent the documents' agent phone answers for
        agents.write_text(shipped.replace("127.0.0.1:5080", f"127.0.0.1:{self.ports.sipp['5080']}"), encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
        self.env.update({
            "IVR_HOME": str(tmp / "home"),
            "IVR_FLOWS_DIR": str(dialplan / "flows"),
            "IVR_SIP__PORT": str(self.ports.sip),
            "IVR_SIP__RTP_PORT_MIN": "0",
            "IVR_HTTP__PORT": str(self.ports.http),
            "IVR_HTTP__PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports.http}",
            "IVR_AGI__PORT": str(self.ports.agi),
            "IVR_AUDIOSOCKET__PORT": str(self.ports.audiosocket),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
        })
        self.cwd = ROOT
        self.server: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / "serve.log"
        self.transcript: list[str] = []

    def start(self, command: str) -> None:
        self.stop()
        with self.log_path.open("ab") as log:
            self.server = subprocess.Popen(["sh", "-c", self.ports.rewrite(command)], cwd=ROOT, env=self.env,
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + READY_SECONDS
        url = f"http://127.0.0.1:{self.ports.http}/health"
        while time.monotonic() < end:
            if self.server.poll() is not None:
                raise AssertionError(f"the server exited ({self.server.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server was not ready in {READY_SECONDS} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.server is None:
            return
        os.killpg(self.server.pid, signal.SIGTERM)  # the shell and the server it started
        try:
            self.server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        self.server = None

    def run(self, block: Block, doc: str) -> None:
        state = self.tmp / "cwd"
        script = f"{self.ports.rewrite(block.text)}\npwd > '{state}'\n"
        done = subprocess.run(["sh", "-e", "-c", script], cwd=self.cwd, env=self.env, capture_output=True,
                              text=True, timeout=BLOCK_SECONDS, check=False)
        self.transcript.append(f"--- {doc}:{block.line}\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
        assert done.returncode == 0, (f"{doc}:{block.line} failed ({done.returncode}):\n{block.text}\n"
                                      f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}\n{self.log_tail()}")
        self.cwd = Path(state.read_text(encoding="utf-8").strip())

    def ivr_json(self, *args: str) -> Any:
        done = subprocess.run([str(VENV_BIN / "ivr"), *args, "--json"], cwd=self.tmp, env=self.env,
                              capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)

    def call_from(self, caller: str) -> dict[str, Any]:
        mine = [c for c in self.ivr_json("calls", "list") if c["caller"] == caller]
        assert len(mine) == 1, f"calls from {caller}: {mine}\n" + "\n".join(self.transcript)
        record: dict[str, Any] = self.ivr_json("calls", "show", mine[0]["call_id"])
        return record

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def play(doc: str, tmp: Path, first_server: str | None) -> Iterator[Walkthrough]:
    """Every block of ``doc`` played in order (``first_server`` serves until a server block)."""
    require_sipp()
    walk = Walkthrough(tmp)
    blocks = doc_blocks(ROOT / doc)
    assert blocks, f"{doc}: no doc-test blocks"
    assert first_server is not None or blocks[0].kind == "server", f"{doc}: nothing starts the server"
    try:
        if first_server is not None:
            walk.start(first_server)
        for block in blocks:
            if block.kind == "server":
                walk.start(block.text)
            else:
                walk.run(block, doc)
        yield walk
    finally:
        walk.stop()


def kinds(record: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in record["events"]]


def test_the_documents_mark_their_walkthroughs() -> None:
    readme, sip = doc_blocks(ROOT / "README.md"), doc_blocks(ROOT / "docs" / "sip.md")
    assert [b.kind for b in readme] == ["run", "run", "run", "server", "run"]
    assert [b.kind for b in sip] == ["server", "run", "run", "server", "run"]
    for block in readme:
        # from the repository root, with the virtualenv's ivr: no `cd`, no bare `ivr`
        commands = re.sub(r"#.*", "", block.text)
        assert not re.search(r"(^|\s)(cd|ivr) ", commands), block.text


def test_ports_are_moved_and_unknown_ones_refused() -> None:
    ports = Ports()
    moved = ports.rewrite("sipp 127.0.0.1:5060 -p 5080 -mp 6100 && .venv/bin/ivr calls list")
    assert moved == (f"sipp 127.0.0.1:{ports.sip} -p {ports.sipp['5080']} -mp {ports.sipp['6100']} && "
                     f"{VENV_BIN}/ivr calls list")
    with pytest.raises(AssertionError, match="SIPp port 5999"):
        ports.rewrite("sipp -p 5999")


def test_readme_walkthrough(tmp_path: Path) -> None:
    with play("README.md", tmp_path, MAKE_RUN) as walk:
        agent_call = walk.call_from("+34600111222")
        assert agent_call["queue"] == "billing", kinds(agent_call)
        assert agent_call["agent_id"] == "agent3" and agent_call["disposition"] == "connected", kinds(agent_call)
        callback = walk.call_from("+34600111223")
        requested = [e["data"] for e in callback["events"] if e["kind"] == "callback_requested"]
        assert requested and requested[-1]["source"] == "queue_key", kinds(callback)
        assert callback["disposition"] == "callback"
        booked = walk.ivr_json("callbacks", "list")
        assert [(c["number"], c["queue"]) for c in booked] == [("+34600111223", "billing")]


def test_sip_walkthrough(tmp_path: Path) -> None:
    with play("docs/sip.md", tmp_path, None) as walk:
        assert walk.cwd == ROOT / "tests" / "sipp"  # ivr ran from there, and found its data under IVR_HOME
        left = walk.call_from("+34600111224")
        assert left["queue"] == "billing" and left["disposition"] == "abandoned", kinds(left)
        spoken = walk.call_from("+34600111225")
        menu = [e["data"] for e in spoken["events"] if e["kind"] == "input" and e["node"] == "main_menu"]
        assert menu and menu[0]["mode"] == "speech" and spoken["queue"] == "billing", kinds(spoken)
        answered = walk.call_from("+34600111226")
        assert answered["agent_id"] == "agent3" and answered["disposition"] == "connected", kinds(answered)
        callback = walk.call_from("+34600111227")
        assert callback["disposition"] == "callback", kinds(callback)
        assert not (ROOT / "tests" / "sipp" / "var").exists()
