"""
`make readme`: the README followed line by line, as a newcomer would, on a fresh clone.

The repository's HEAD is cloned into a temporary folder, and every ``$`` command of the README's
console blocks runs there, in order, in ONE bash session, as in a person's terminal: what one
command exports or activates, the next one has. The session's HOME is a temporary folder too
(with a copy of your pip configuration; pip's cache is yours, so a venv installs from it), and
it inherits no AIRFLOW_* variable. What a command prints is kept in ``.e2e/readme/session.log``.

How blocks are read (servers that keep running, skips and their reasons):
``e2e/readme_blocks.py``. After the last block of some sections the runner checks what the
section promises:

- "Your own DAG against the sandbox": the sandbox the section started paid the user's DAG: its
  ledger holds the payouts of one job, all COMPLETED, and ``airflow dags test`` logged that job
  and a DAG run that succeeded.
- "See it in the UI": in Debian's chromium, headless (``e2e/ui_check.py``), the admin signs in
  to ``airflow standalone`` with the password from the file the README names, and opens Add
  Connection with the type "PayQuicker Payment Jobs", whose relabelled fields are checked.

One line per block with its time, then the checks and the total. Every background process is
stopped at the end, also when a block fails or on Ctrl-C. ``--readme PATH`` runs another README
(an edited one, before it is committed) in the clone; ``--keep`` keeps the temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from e2e.readme_blocks import Block, Command, console_blocks

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / ".e2e" / "readme"
COMMAND_TIMEOUT = 900.0  # seconds; a fresh venv's install is the longest command
SERVER_START_TIMEOUT = 240.0  # seconds until a server's port answers (airflow standalone is slow)
STOP_TIMEOUT = 30.0  # seconds a stopped server has after SIGTERM, before SIGKILL
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"  # Airflow 3's simple auth manager
# What the session must not inherit: the caller's Airflow, venv and make settings.
NOT_INHERITED = ("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")


class WalkError(Exception):
    """A README step that did not do what the README says; the message says which and why."""


@dataclass
class Server:
    """A command that keeps running, started in the background in its own process group."""

    command: Command
    process_group: int
    log: Path


class Session:
    """
    One bash session, fed one command at a time, as a terminal would be.

    :param folder: the working directory (the clone).
    :param environment: the session's environment.
    :param log: where everything the session prints is written.
    """

    def __init__(self, folder: Path, environment: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.log: IO[str] = log.open("w", encoding="utf-8")
        self.marker = f"__readme_walk_{secrets.token_hex(8)}__"
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.servers: list[Server] = []
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=folder,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # the session and its foreground commands: one group to stop
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.run("set -m")  # each background job gets a process group of its own, to stop it whole

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, text: str, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:
        """
        Run one command in the session; its exit status and what it printed.

        Its stdin is /dev/null, so nothing it reads can swallow the session's next command.
        """
        self.log.write(f"$ {text}\n")
        self.log.flush()
        self._send(f"{{ {text}\n}} </dev/null\nprintf '\\n{self.marker} %s\\n' \"$?\"\n")
        printed: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise WalkError(f"still running after {timeout:.0f} s: {text.splitlines()[0]}") from None
            if line is None:
                raise WalkError(f"the bash session ended during: {text.splitlines()[0]}")
            if line.startswith(self.marker):
                # Less the line break printed before the marker (the command's last line may lack one).
                return int(line.split()[1]), "".join(printed).removesuffix("\n")
            printed.append(line)
            self.log.write(line)
            self.log.flush()

    def start(self, command: Command, log: Path) -> Server:
        """Start a command that keeps running in the background; its output goes to ``log``."""
        status, printed = self.run(f'{{ {command.text}\n}} </dev/null >"{log}" 2>&1 &\necho "$!"')
        if status != 0:
            raise WalkError(f"could not start {command.name} in the background: {printed}")
        server = Server(command=command, process_group=int(printed.split()[-1]), log=log)
        self.servers.append(server)
        return server

    def value(self, expression: str) -> str:
        """What the session prints for ``expression`` (a shell word such as ``"$AIRFLOW_HOME"``)."""
        status, printed = self.run(f"printf '%s' {expression}")
        if status != 0:
            raise WalkError(f"the session could not print {expression}")
        return printed

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def close(self) -> None:
        """Stop every background server, then the session and whatever it still runs."""
        for server in reversed(self.servers):
            stop_group(server.process_group)
        if self.process.poll() is None:
            with suppress(OSError):
                self._send("exit\n")
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT)
        stop_group(self.process.pid)
        self.log.close()


def stop_group(process_group: int) -> None:
    """SIGTERM a process group, and SIGKILL what is left of it after :data:`STOP_TIMEOUT`."""
    with suppress(OSError):
        os.killpg(process_group, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and _group_alive(process_group):
        time.sleep(0.2)
    with suppress(OSError):
        os.killpg(process_group, signal.SIGKILL)


def _group_alive(process_group: int) -> bool:
    try:
        os.killpg(process_group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_answers(port: int) -> bool:
    """Whether something accepts a TCP connection on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(server: Server, timeout: float = SERVER_START_TIMEOUT) -> None:
    """Return once the server's port answers; fail at once when its processes have all ended."""
    port = server.command.port
    assert port is not None
    deadline = time.monotonic() + timeout
    while not port_answers(port):
        if not _group_alive(server.process_group):
            raise WalkError(f"{server.command.name} ended before port {port} answered:\n{_tail(server.log)}")
        if time.monotonic() > deadline:
            raise WalkError(f"port {port} did not answer {timeout:.0f} s after `{server.command.name}`")
        time.sleep(0.5)


@dataclass
class Walk:
    """
    One run of the README's blocks in a session, and what they left to check.

    :param session: the bash session in the clone.
    :param output: where logs and screenshots go.
    """

    session: Session
    output: Path
    printed: dict[str, list[str]] = field(default_factory=dict)  # section -> what its commands printed
    servers: dict[str, Server] = field(default_factory=dict)  # command name -> server

    def block(self, block: Block) -> str:
        """Run one block's commands; what it did, for its line."""
        done = []
        for command in block.commands:
            if command.skip_reason:
                done.append(f"{_short(command.name)} skipped ({command.skip_reason})")
                continue
            if command.port is not None:
                self._start(command)
                done.append(f"{_short(command.name)} (port {command.port} answers)")
                continue
            status, printed = self.session.run(command.text)
            self.printed.setdefault(block.section, []).append(printed)
            if status != 0:
                where = f"README.md:{command.line}: `{command.name}`"
                raise WalkError(f"{where} exited with {status}:\n{_last_lines(printed)}")
            done.append(_short(command.name))
        return "; ".join(done)

    def _start(self, command: Command) -> None:
        assert command.port is not None
        if port_answers(command.port):
            raise WalkError(
                f"README.md:{command.line}: port {command.port} is taken on this machine before "
                f"`{command.name}`, which would fail for a reader too: stop what listens there"
            )
        name = command.name.split()[0] if command.name.split() else "server"
        log = self.output / f"{name}-{command.port}.log"
        server = self.session.start(command, log)
        self.servers[command.name] = server
        wait_for_port(server)


# --- what sections promise -----------------------------------------------------------------------


def check_own_dag_paid(walk: Walk) -> str:
    """The sandbox started in the section paid the user's DAG: one job, every payout COMPLETED."""
    sandbox = next((server for name, server in walk.servers.items() if "sandbox" in name), None)
    if sandbox is None:
        raise WalkError("the section started no sandbox")
    ledger = requests.get(f"http://127.0.0.1:{sandbox.command.port}/_sandbox/ledger", timeout=10).json()
    jobs = {entry["job_token"] for entry in ledger}
    statuses = {entry["status"] for entry in ledger}
    if len(jobs) != 1 or statuses != {"COMPLETED"}:
        raise WalkError(f"the sandbox's ledger should hold one job's payouts, all COMPLETED: {ledger}")
    (job,) = jobs
    printed = "".join(walk.printed.get("Your own DAG against the sandbox", []))
    finished = [line for line in printed.splitlines() if "DagRun Finished:" in line]
    if f"PAYOUT {job} COMPLETED" not in printed or not finished or "state=success" not in finished[-1]:
        raise WalkError(
            f"`airflow dags test` did not log `PAYOUT {job} COMPLETED` and a successful DAG run: {finished}"
        )
    return f"the sandbox paid {len(ledger)} payouts in {job}, the job of the DAG run that succeeded"


def check_connection_form(walk: Walk) -> str:
    """Sign in to `airflow standalone` as the README says and open the PayQuicker connection form."""
    from e2e.ui_check import UiChecks, browser_page

    standalone = next((server for name, server in walk.servers.items() if "standalone" in name), None)
    if standalone is None:
        raise WalkError("the section started no `airflow standalone`")
    passwords = Path(walk.session.value('"$AIRFLOW_HOME"')) / PASSWORDS_FILE
    site = StandaloneSite(
        base_url=f"http://127.0.0.1:{standalone.command.port}",
        password=json.loads(passwords.read_text(encoding="utf-8"))["admin"],
    )
    with browser_page() as page:
        checks = UiChecks(site, walk.output, page)  # type: ignore[arg-type]  # reads base_url and password
        return f"{checks.sign_in()}; {checks.connection_form()}"


@dataclass
class StandaloneSite:
    """What :class:`e2e.ui_check.UiChecks` reads of a deployment: the UI's address, the password."""

    base_url: str
    password: str
    api: Any = None
    sandbox: Any = None


SECTION_CHECKS: dict[str, Callable[[Walk], str]] = {
    "Your own DAG against the sandbox": check_own_dag_paid,
    "See it in the UI": check_connection_form,
}


# --- the run -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", type=Path, help="run this README in the clone instead of its own")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (clone and home)")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="payjobs-readme-"))
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    failures = 0
    session = None
    try:
        clone = _clone(folder / "airflow-provider-payjobs", arguments.readme)
        blocks = console_blocks((clone / "README.md").read_text(encoding="utf-8"))
        _line("PASS", "fresh clone", time.monotonic() - started, f"HEAD {_head()[:12]}, {len(blocks)} blocks")
        session = Session(clone, _environment(folder / "home"), OUTPUT / "session.log")
        failures = _run_blocks(Walk(session, OUTPUT), blocks)
    except KeyboardInterrupt:
        print("interrupted: stopping what the README started", flush=True)
        failures += 1
    except Exception as error:
        failures += 1
        _line("FAIL", "setup", time.monotonic() - started, f"{type(error).__name__}: {error}")
    finally:
        if session is not None:
            session.close()
        if arguments.keep:
            print(f"Temporary folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    verdict = "FAILED" if failures else "all passed"
    print(
        f"README walk: {verdict} ({failures} failed), {time.monotonic() - started:.1f} s in total; "
        f"session log: {(OUTPUT / 'session.log').relative_to(ROOT)}"
    )
    return 1 if failures else 0


def _run_blocks(walk: Walk, blocks: list[Block]) -> int:
    """Each block, one line each, and the section checks; stops at the first failure (steps build on it)."""
    for position, block in enumerate(blocks):
        step = time.monotonic()
        label = f"README.md:{block.line} {block.section}"
        try:
            done = walk.block(block)
            _line("PASS", label, time.monotonic() - step, done)
            section_ends = position + 1 == len(blocks) or blocks[position + 1].section != block.section
            check = SECTION_CHECKS.get(block.section) if section_ends else None
            if check is not None:
                step = time.monotonic()
                seen = check(walk)
                _line("PASS", f"check: {block.section}", time.monotonic() - step, seen)
        except Exception as error:
            _line("FAIL", label, time.monotonic() - step, f"{type(error).__name__}: {error}")
            if not isinstance(error, WalkError):
                traceback.print_exc()
            return 1
    return 0


def _clone(target: Path, readme: Path | None) -> Path:
    """A fresh clone of this checkout's HEAD (what is committed), with ``readme`` put in if given."""
    head = _head()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "--quiet", "--detach", head], check=True)
    if readme is not None:
        shutil.copyfile(readme, target / "README.md")
    return target


def _head() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def _environment(home: Path) -> dict[str, str]:
    """A newcomer's environment: a temporary HOME with your pip configuration, and pip's cache."""
    real_home = Path.home()
    home.mkdir(parents=True)
    config = Path(os.environ.get("XDG_CONFIG_HOME", real_home / ".config"))
    for source, target in (
        (config / "pip" / "pip.conf", home / ".config" / "pip" / "pip.conf"),
        (real_home / ".pip" / "pip.conf", home / ".pip" / "pip.conf"),
    ):
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    cache = os.environ.get("PIP_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME", real_home / ".cache")) / "pip"
    )
    own_venv = str(ROOT / ".venv" / "bin")
    path = os.pathsep.join(part for part in os.environ.get("PATH", "").split(os.pathsep) if part != own_venv)
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(NOT_INHERITED) and not key.startswith("XDG_")
    }
    return {**inherited, "HOME": str(home), "PATH": path, "PIP_CACHE_DIR": cache, "TERM": "dumb"}


def _line(verdict: str, name: str, seconds: float, seen: str) -> None:
    print(f"{verdict}  {name:<52} {seconds:6.1f} s  {seen}", flush=True)


def _short(text: str, limit: int = 60) -> str:
    first = text.splitlines()[0] if text else text
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _last_lines(text: str, count: int = 40) -> str:
    return "\n".join(text.splitlines()[-count:])


def _tail(path: Path, count: int = 40) -> str:
    return _last_lines(path.read_text(encoding="utf-8", errors="replace"), count) if path.exists() else ""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
