"""
The ``payjobs-sandbox`` command, run as a subprocess: where the client secret comes from, that an
own secret is never printed, refusing the published default secret beyond loopback, and a port in
use ending with one clear line instead of a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_wire import token

from airflow_provider_payjobs.sandbox import SECRET_VARIABLE
from airflow_provider_payjobs.sandbox.server import EXPORT_PREFIX, SandboxProcess, start_sandbox

COMMAND = [sys.executable, "-m", "airflow_provider_payjobs.sandbox"]
SCRIPT = Path(sys.executable).with_name("payjobs-sandbox")  # the console script pip installed


def run_command(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command run to its end; it must end by itself (every case here refuses to start)."""
    env = {name: value for name, value in os.environ.items() if name != SECRET_VARIABLE}
    return subprocess.run(
        [*COMMAND, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, **(environment or {})},
    )


@pytest.fixture
def port_in_use() -> Iterator[int]:
    """A loopback port another socket listens on for the length of the test."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def printed_connection(sandbox: SandboxProcess) -> tuple[dict, list[str]]:
    """The connection the command printed, and the lines it printed after the ready line."""
    (export,) = [line for line in sandbox.startup_output if line.startswith(EXPORT_PREFIX)]
    return json.loads(export[len(EXPORT_PREFIX) :].strip().strip("'")), sandbox.startup_output


def assert_one_line_refusal(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == "", result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("payjobs-sandbox: "), result.stderr
    for word in words:
        assert word in last, (word, last)


# A port in use.


def test_a_port_in_use_ends_with_one_line_naming_it(port_in_use: int) -> None:
    result = run_command("--port", str(port_in_use))
    assert_one_line_refusal(result, f"port {port_in_use}", "already in use", "--port")
    assert result.stderr.count("\n") == 1


def test_the_installed_script_says_the_same(port_in_use: int) -> None:
    result = subprocess.run(
        [str(SCRIPT), "--port", str(port_in_use)], capture_output=True, text=True, timeout=60, check=False
    )
    assert_one_line_refusal(result, f"port {port_in_use} on 127.0.0.1 is already in use", "--port")


def test_a_port_out_of_range_is_a_usage_error() -> None:
    result = run_command("--port", "65536")
    assert result.returncode == 2 and "--port must be from 0 to 65535" in result.stderr


# Beyond loopback.


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
@pytest.mark.parametrize(
    "secret", [[], ["--client-secret", "sandbox-secret"]], ids=["default", "default-given"]
)
def test_the_default_secret_beyond_loopback_is_refused(host: str, secret: list[str]) -> None:
    result = run_command("--host", host, "--port", "0", *secret)
    assert_one_line_refusal(result, f"refusing to listen on {host}", "default client secret", SECRET_VARIABLE)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_an_own_secret_beyond_loopback_warns_loudly(host: str, port_in_use: int) -> None:
    # On a port in use, so that the test never really listens on the network: the warning comes first.
    result = run_command("--host", host, "--port", str(port_in_use), environment={SECRET_VARIABLE: "s3cret!"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    warning = result.stderr.splitlines()[0]
    assert warning.startswith(f"WARNING: the sandbox listens on {host} and is REACHABLE FROM THE NETWORK")
    assert f"Client secret from ${SECRET_VARIABLE}" in warning and "s3cret!" not in result.stderr


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2"])
def test_loopback_names_and_addresses_take_the_default_secret_silently(host: str) -> None:
    with start_sandbox("--host", host) as sandbox:
        assert token(sandbox).status_code == 200
        assert not any("WARNING" in line for line in sandbox.startup_output)


# Where the secret comes from; it is never printed.


def test_the_default_secret_is_printed_as_it_is_published_anyway() -> None:
    with start_sandbox() as sandbox:
        connection, lines = printed_connection(sandbox)
        assert connection["password"] == "sandbox-secret" and not any(line.startswith("#") for line in lines)
        assert token(sandbox).status_code == 200


def test_a_secret_from_the_environment(tmp_path: Path) -> None:
    with start_sandbox("--accept-duplicate-client-ids", environment={SECRET_VARIABLE: "from-env"}) as sandbox:
        assert sandbox.client_secret == "from-env"
        assert token(sandbox).status_code == 200
        assert token(sandbox, secret="sandbox-secret").status_code == 401
        assert sandbox.admin.config()["accept_duplicate_client_ids"] is True
        connection, lines = printed_connection(sandbox)
        assert connection["password"] == "<your secret>" and "from-env" not in "".join(lines)
        assert f"# put the client secret from ${SECRET_VARIABLE} in place of <your secret> below\n" in lines


def test_a_secret_from_a_file_with_its_line_break_dropped(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from file, secret\n", encoding="utf-8")
    environment = {SECRET_VARIABLE: "ignored"}  # a flag wins over the environment
    with start_sandbox("--client-secret-file", str(secret_file), environment=environment) as sandbox:
        assert sandbox.client_secret == "from file, secret"
        assert token(sandbox).status_code == 200
        assert token(sandbox, secret="from file, secret\n").status_code == 401
        connection, lines = printed_connection(sandbox)
        assert connection["password"] == "<your secret>" and "from file" not in "".join(lines)
        assert any(f"--client-secret-file {secret_file} in place of <your secret>" in line for line in lines)


def test_a_secret_from_the_flag_is_not_printed_either() -> None:
    environment = {SECRET_VARIABLE: "ignored"}
    with start_sandbox("--client-secret", "from-flag", environment=environment) as sandbox:
        assert token(sandbox).status_code == 200
        connection, lines = printed_connection(sandbox)
        assert connection["password"] == "<your secret>" and "from-flag" not in "".join(lines)
        assert any("from --client-secret in place of" in line for line in lines)


def test_bad_secrets_are_refused_in_one_line(tmp_path: Path) -> None:
    assert_one_line_refusal(
        run_command("--client-secret-file", str(tmp_path / "missing")),
        f"--client-secret-file {tmp_path / 'missing'}: cannot read the secret (No such file",
    )
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    assert_one_line_refusal(run_command("--client-secret-file", str(binary)), "it is not UTF-8 text")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert_one_line_refusal(run_command("--client-secret-file", str(empty)), "the client secret is empty")
    assert_one_line_refusal(
        run_command(environment={SECRET_VARIABLE: ""}), f"${SECRET_VARIABLE}: the client secret is empty"
    )
    both = run_command("--client-secret", "a", "--client-secret-file", str(empty))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
