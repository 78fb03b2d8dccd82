"""Child processes in their own process groups, logged to files, always stopped; and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

POSTGRES_BIN = Path(os.environ.get("PAYJOBS_E2E_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A loopback port free right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ProcessGroup:
    """
    Named child processes, each the leader of its own process group, so that stopping one stops
    everything it started. Output goes to ``<log_dir>/<name>.log``.

    :param log_dir: where each process's output goes.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.running[name] = process
        return process

    def signal(self, name: str, signum: int, *, whole_group: bool) -> None:
        """Send ``signum`` to one process (``kill PID``) or to its whole group (``kill -9 -PGID``)."""
        process = self.running[name]
        try:
            if whole_group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
        except ProcessLookupError:
            pass

    def wait_gone(self, name: str, timeout: float) -> None:
        """Wait until the process and every process of its group have exited."""
        process = self.running[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process.poll()
            if process.returncode is not None and not _group_alive(process.pid):
                del self.running[name]
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} (pid {process.pid}) still running after {timeout:g} s")

    def stop(self, name: str, grace: float = 20.0) -> None:
        """SIGTERM to the group, then SIGKILL to whatever is left after ``grace`` seconds."""
        if name not in self.running:
            return
        self.signal(name, signal.SIGTERM, whole_group=True)
        try:
            self.wait_gone(name, grace)
        except TimeoutError:
            self.signal(name, signal.SIGKILL, whole_group=True)
            self.wait_gone(name, 10)

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            try:
                self.stop(name)
            except Exception as error:  # keep stopping the others
                print(f"could not stop {name}: {error}")

    def exited(self) -> dict[str, int]:
        """Processes that died on their own: name and exit code."""
        return {name: code for name, p in self.running.items() if (code := p.poll()) is not None}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PostgreSQL:
    """
    A throwaway PostgreSQL cluster in ``folder`` on a free loopback port, run by the postgres user
    when this runs as root (PostgreSQL refuses to run as root).

    :param folder: holds the data directory, the socket and the server log.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.log = folder / "postgresql.log"
        self.started = False

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, check=False, cwd=self.folder
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
                  "-w", "-t", "60", "start")  # fmt: skip
        self.started = True
        self._run(str(POSTGRES_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "airflow")  # fmt: skip

    def url(self, driver: str) -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/airflow"

    def stop(self) -> None:
        if self.started:
            self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.started = False
