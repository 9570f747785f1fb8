"""``ivr`` as people run it (a subprocess): start-up and configuration failures are one line on
stderr naming the fix, with a non-zero exit and no traceback; ``ivr`` finds its data under IVR_HOME
whatever the current directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sipp.sipp import free_port
from tests.support.services import require_postgres

IVR = str(Path(sys.executable).parent / "ivr")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def one_line_error(self) -> str:
        """The single line of stderr, checked to be a clean failure."""
        assert self.code != 0, self
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("Error: "), self.stderr
        return lines[0]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    # WARNING unless a test says otherwise (the port tests run at the default INFO level)
    env.update({"IVR_HOME": str(home), "IVR_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), **extra})
    return env


def ivr(*args: str, home: Path, cwd: Path | None = None, stdin: str | None = None, timeout: float = 60,
        environ: dict[str, str] | None = None, **env: str) -> Run:
    """``environ``: variables built at run time (a ``**`` of them could name a keyword above)."""
    done = subprocess.run([IVR, *args], env=clean_env(home, **(environ or {}), **env), cwd=cwd or home.parent,
                          input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    created = ivr("db", "upgrade", home=home)
    assert created.code == 0, created
    return home


def serve_ports() -> dict[str, str]:
    return {"IVR_HTTP__PORT": str(free_port(socket.SOCK_STREAM)), "IVR_AGI__PORT": str(free_port(socket.SOCK_STREAM)),
            "IVR_AUDIOSOCKET__PORT": str(free_port(socket.SOCK_STREAM)), "IVR_SIP__PORT": str(free_port()),
            "IVR_SIP__RTP_PORT_MIN": "0", "IVR_CALLBACKS__DISPATCH": "false"}


@pytest.fixture
def held_port() -> Iterator[dict[int, socket.socket]]:
    """Sockets bound on loopback by the test, by kind, closed afterwards."""
    held: dict[int, socket.socket] = {}
    yield held
    for sock in held.values():
        sock.close()


def hold(held: dict[int, socket.socket], kind: int) -> int:
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    held[len(held)] = sock
    port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- listeners
@pytest.mark.parametrize(("setting", "kind", "what"), [
    ("IVR_HTTP__PORT", socket.SOCK_STREAM, "HTTP"),
    ("IVR_AGI__PORT", socket.SOCK_STREAM, "FastAGI"),
    ("IVR_AUDIOSOCKET__PORT", socket.SOCK_STREAM, "AudioSocket"),
    ("IVR_SIP__PORT", socket.SOCK_DGRAM, "SIP (UDP)"),
])
def test_a_port_in_use_is_named_with_its_setting(migrated_home: Path, held_port: dict[int, socket.socket],
                                                  setting: str, kind: int, what: str) -> None:
    port = hold(held_port, kind)
    ports = {**serve_ports(), setting: str(port)}
    # at the default log level: the start's "component started" lines are held back, not printed
    line = ivr("serve", home=migrated_home, environ={**ports, "IVR_LOG_LEVEL": "INFO"}).one_line_error()
    assert f"cannot listen for {what} on 127.0.0.1:{port}" in line
    assert "already in use" in line and f"set {setting} to another port" in line


def test_only_the_first_listener_that_fails_is_named(migrated_home: Path,
                                                     held_port: dict[int, socket.socket]) -> None:
    taken = {"IVR_HTTP__PORT": hold(held_port, socket.SOCK_STREAM), "IVR_SIP__PORT": hold(held_port, socket.SOCK_DGRAM)}
    ports = {**serve_ports(), **{k: str(v) for k, v in taken.items()}}
    line = ivr("serve", home=migrated_home, environ={**ports, "IVR_LOG_LEVEL": "INFO"}).one_line_error()
    named = [setting for setting in taken if setting in line]
    assert len(named) == 1, line


# --------------------------------------------------------------------------- the database
def test_commands_before_db_upgrade_name_it_and_create_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args in (["schedules", "check", "support"], ["schedules", "list"], ["calls", "list"],
                 ["agents", "list"], ["callbacks", "list"], ["serve"]):
        line = ivr(*args, home=home, environ=serve_ports()).one_line_error()
        assert f"no database at {home / 'var' / 'puente.db'}: run `ivr db upgrade`" in line, args
    assert not (home / "var").exists()  # the check created no empty database


def test_a_database_missing_migrations_names_db_upgrade(tmp_path: Path) -> None:
    home = tmp_path / "home"
    partial = ivr("db", "upgrade", "--revision", "calls@head", home=home)
    assert partial.code == 0 and partial.stdout.startswith("created "), partial
    for args in (["schedules", "check", "support"], ["serve"]):
        line = ivr(*args, home=home, environ=serve_ports()).one_line_error()
        assert "lacks migrations" in line and "run `ivr db upgrade`" in line, line
    upgraded = ivr("db", "upgrade", home=home)
    assert upgraded.code == 0 and upgraded.stdout.startswith("upgraded ") and "from calls_0003 to" in upgraded.stdout
    again = ivr("db", "upgrade", home=home)
    assert again.code == 0 and "is already up to date" in again.stdout, again


def test_db_upgrade_says_how_many_tables_it_created(tmp_path: Path) -> None:
    done = ivr("db", "upgrade", home=tmp_path / "home")
    assert done.code == 0, done
    count = int(done.stdout.split()[1])
    assert done.stdout.startswith(f"created {count} tables in sqlite:///") and count > 20, done.stdout
    assert done.stdout.endswith(")\n")


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://root@127.0.0.1/puente", "unsupported database 'mysql': use sqlite:///PATH or postgresql://"),
    ("oracle+cx://x", "unsupported database 'oracle+cx': use sqlite:///PATH or postgresql://"),
])
def test_unsupported_database_schemes_list_the_supported_ones(tmp_path: Path, url: str, expected: str) -> None:
    for args in (["calls", "list"], ["db", "upgrade"], ["serve"]):
        line = ivr(*args, home=tmp_path, IVR_DATABASE_URL=url).one_line_error()
        assert expected in line and "IVR_DATABASE_URL" in line, line


def test_an_unreachable_database_server(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_STREAM)  # nothing listens there
    url = f"postgresql://postgres@127.0.0.1:{port}/test"
    for args in (["calls", "list"], ["db", "upgrade"], ["serve"]):
        line = ivr(*args, home=tmp_path, IVR_DATABASE_URL=url).one_line_error()
        assert f"cannot open the database postgresql://postgres@127.0.0.1:{port}/test: connection refused" in line


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist(tmp_path: Path) -> None:
    require_postgres()
    url = "postgresql://postgres@127.0.0.1:5432/puente_no_such_database"
    for args in (["calls", "list"], ["db", "upgrade"], ["serve"]):
        line = ivr(*args, home=tmp_path, IVR_DATABASE_URL=url).one_line_error()
        assert 'database "puente_no_such_database" does not exist' in line, line


# --------------------------------------------------------------------------- the config file
@pytest.mark.parametrize(("content", "expected"), [
    (None, "cannot read the config file"),
    ("http: [port\n", "is not valid YAML (line"),
    ("- a list\n", "must hold a mapping of settings"),
    ("http:\n  port: eighty\n", "http.port (IVR_HTTP__PORT): Input should be a valid integer"),
])
def test_config_file_problems(tmp_path: Path, content: str | None, expected: str) -> None:
    config = tmp_path / "puente.yaml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    hows: list[tuple[list[str], dict[str, str]]] = [(["--config", str(config)], {}), ([], {"IVR_CONFIG": str(config)})]
    for options, environ in hows:
        line = ivr(*options, "config", "show", home=tmp_path / "home", environ=environ).one_line_error()
        assert expected in line, line


def test_the_config_file_names_and_the_one_beside_the_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "puente.yaml").write_text("site: beside-the-data\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text("site: named\n", encoding="utf-8")
    assert '"site": "beside-the-data"' in ivr("config", "show", home=home).stdout
    assert '"site": "named"' in ivr("config", "show", home=home, IVR_CONFIG=str(other)).stdout
    assert '"site": "named"' in ivr("config", "show", home=home, IVR_CONFIG_FILE=str(other)).stdout


# --------------------------------------------------------------------------- IVR_HOME
def test_ivr_finds_its_data_under_ivr_home_from_any_directory(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert ivr("db", "upgrade", home=home, cwd=elsewhere).code == 0
    assert (home / "var" / "puente.db").is_file()
    listed = ivr("agents", "list", home=home, cwd=elsewhere / ".")
    assert listed.code == 0 and "agent3" in listed.stdout, listed
    assert list(elsewhere.iterdir()) == []  # nothing written where the command ran


# --------------------------------------------------------------------------- smaller things
def test_users_add_without_a_terminal_says_to_use_password_stdin(migrated_home: Path) -> None:
    line = ivr("users", "add", "ana", "--role", "admin", home=migrated_home, stdin="").one_line_error()
    assert "--password-stdin" in line
    added = ivr("users", "add", "ana", "--role", "admin", "--password-stdin", home=migrated_home,
                stdin="a long passphrase\n", IVR_AUTH__PASSWORD_TIME_COST="1", IVR_AUTH__PASSWORD_MEMORY_KIB="8192")
    assert added.code == 0 and added.stdout == "added admin ana\n", added


def test_callbacks_for_an_unknown_queue_list_the_known_ones(migrated_home: Path) -> None:
    line = ivr("callbacks", "create", "+34600111222", "--queue", "nosuch", home=migrated_home).one_line_error()
    assert "no queue 'nosuch': the queues are billing, general, support" in line
    assert "Error" not in line.removeprefix("Error: ")  # people's words, not class names
