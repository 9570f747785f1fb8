"""Running SIPp (Debian ``sip-tester``) from tests and benchmarks, always bound to loopback.

SIPp runs in this folder (so scenarios name their pcaps relatively); ``workdir`` receives its
error log.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.services import in_ci

SCENARIOS = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"


def require_sipp() -> str:
    """The sipp binary; in CI (``CI=true``) its absence fails the test, elsewhere it skips."""
    path = shutil.which("sipp")
    if path is None:
        if in_ci():
            pytest.fail("sipp is required in CI: scripts/install-system-deps.sh test")
        pytest.skip("sipp (Debian sip-tester) is not installed: scripts/install-system-deps.sh test")
    return path


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free right now on loopback (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def free_media_port() -> int:
    """SIPp's media port and media port + 2 (for pcap play) must be free: pick an even pair."""
    for _ in range(50):
        port = free_port()
        port -= port % 2
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
            ):
                a.bind((LOOPBACK, port))
                b.bind((LOOPBACK, port + 2))
        except OSError:
            continue
        return port
    raise OSError("no free media port pair")


@dataclass
class SippResult:
    returncode: int
    stdout: str
    errors: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        return (
            f"sipp exit {self.returncode}\n--- errors ---\n{self.errors[-3000:]}\n--- screen ---\n{self.stdout[-3000:]}"
        )


def sipp_command(
    scenario: str | Path,
    *,
    workdir: Path,
    target: str | None = None,
    calls: int = 1,
    timeout: float = 30.0,
    service: str = "100",
    rate: float | None = None,
    limit: int | None = None,
    port: int | None = None,
    extra: Sequence[str] = (),
    caller: str = "+34600111222",
) -> list[str]:
    path = Path(scenario)
    if not path.is_absolute() and not path.exists():
        path = SCENARIOS / path
    name = path.stem
    command = [
        require_sipp(),
        *([target] if target else []),
        "-sf",
        str(path),
        "-i",
        LOOPBACK,
        "-bind_local",
        "-ci",
        LOOPBACK,
        "-mi",
        LOOPBACK,
        "-p",
        str(port or free_port()),
        "-mp",
        str(free_media_port()),
        "-m",
        str(calls),
        "-timeout",
        f"{int(timeout)}s",
        "-s",
        service,
        "-nostdin",
        "-key", "caller", caller,
        "-trace_err",
        "-error_file",
        str(workdir / f"{name}_errors.log"),
    ]
    if rate is not None:
        command += ["-r", f"{rate:g}", "-rp", "1000"]
    if limit is not None:
        command += ["-l", str(limit)]
    return command + list(extra)


async def run_sipp(scenario: str | Path, *, workdir: Path, **options: object) -> SippResult:
    command = sipp_command(scenario, workdir=workdir, **options)  # type: ignore[arg-type]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=SCENARIOS
    )
    timeout = float(options.get("timeout", 30.0)) + 10.0  # type: ignore[arg-type]
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    errors_file = workdir / f"{Path(str(scenario)).stem}_errors.log"
    errors = errors_file.read_text(errors="replace") if errors_file.exists() else ""
    assert process.returncode is not None
    return SippResult(process.returncode, stdout.decode(errors="replace"), errors)


@dataclass
class SippAgent:
    """A SIPp UAS running in the background (an agent phone) on a known port."""

    uri: str
    process: asyncio.subprocess.Process
    workdir: Path
    scenario: str

    async def result(self, timeout: float = 30.0) -> SippResult:
        stdout_reader = self.process.stdout
        assert stdout_reader is not None
        data = await asyncio.wait_for(stdout_reader.read(), timeout)
        await asyncio.wait_for(self.process.wait(), timeout)
        errors_file = self.workdir / f"{self.scenario}_errors.log"
        errors = errors_file.read_text(errors="replace") if errors_file.exists() else ""
        assert self.process.returncode is not None
        return SippResult(self.process.returncode, data.decode(errors="replace"), errors)


@contextlib.asynccontextmanager
async def sipp_agent(
    scenario: str, *, workdir: Path, user: str = "agent1", calls: int = 1, timeout: float = 30.0,
    port: int | None = None, extra: Sequence[str] = (),
) -> AsyncIterator[SippAgent]:
    port = port or free_port()
    command = sipp_command(scenario, workdir=workdir, calls=calls, timeout=timeout, port=port, extra=extra)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=SCENARIOS
    )
    agent = SippAgent(f"sip:{user}@{LOOPBACK}:{port}", process, workdir, Path(scenario).stem)
    try:
        await _wait_listening(port, process)
        yield agent
    finally:
        if process.returncode is None:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _wait_listening(port: int, process: asyncio.subprocess.Process, deadline: float = 10.0) -> None:
    """Poll until SIPp has bound its UDP port (binding it ourselves then fails)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while loop.time() < end:
        if process.returncode is not None:
            raise RuntimeError(f"sipp exited early with {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError("sipp did not start listening")
