"""``payjobs-sandbox`` / ``python -m airflow_provider_payjobs.sandbox``: run the sandbox server."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import math
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from airflow_provider_payjobs.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PORT,
    SECRET_VARIABLE,
)
from airflow_provider_payjobs.sandbox.faults import FaultSettings
from airflow_provider_payjobs.sandbox.limits import OutOfBounds
from airflow_provider_payjobs.sandbox.state import SandboxConfig, SandboxState

SECRET_PLACEHOLDER = "<your secret>"
USAGE_ERROR = 2  # argparse's exit status for a command line it refuses


class CommandError(Exception):
    """A start the command refuses; the message is printed as one line, with exit status 2."""


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="payjobs-sandbox",
        description="A local PayQuicker Payment Jobs API for offline work and tests (docs/sandbox.md).",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; beyond loopback only with your own client secret)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port; 0 picks a free one (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--client-id", default=DEFAULT_CLIENT_ID, help=f"OAuth client id (default {DEFAULT_CLIENT_ID})"
    )
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument(
        "--client-secret",
        help=f"OAuth client secret (default: ${SECRET_VARIABLE} if set, else {DEFAULT_CLIENT_SECRET})",
    )
    secret.add_argument(
        "--client-secret-file",
        metavar="PATH",
        help="read the client secret from this file (UTF-8; one trailing line break is dropped)",
    )
    parser.add_argument(
        "--scopes", default="readonly modify", help="scopes the client may get (default 'readonly modify')"
    )
    parser.add_argument(
        "--step-seconds",
        type=_non_negative,
        default=2.0,
        help="seconds a job stays in each status (default 2)",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=3600, help="access token lifetime in seconds (default 3600)"
    )
    parser.add_argument(
        "--frozen-clock", action="store_true", help="time moves only through POST /_sandbox/clock"
    )
    parser.add_argument(
        "--accept-duplicate-client-ids", action="store_true", help="model a server that does not deduplicate"
    )
    faults = parser.add_argument_group(
        "faults (probabilities from 0 to 1; change at run time with PUT /_sandbox/faults)"
    )
    for flag, help_text in (
        ("--fault-500", "answer 500"),
        ("--fault-502", "answer 502"),
        ("--fault-503", "answer 503"),
        ("--fault-429", "answer 429 with Retry-After"),
        ("--fault-drop", "drop the connection with no answer"),
        ("--fault-commit-then-fail", "on create: save the job, then answer 500 or drop the connection"),
    ):
        faults.add_argument(flag, type=_probability, default=0.0, help=help_text)
    faults.add_argument(
        "--retry-after", type=_non_negative, default=1.0, help="Retry-After seconds of a 429 (default 1)"
    )
    faults.add_argument("--latency-ms", type=_non_negative, default=0.0, help="added latency per API call")
    faults.add_argument("--seed", type=int, default=None, help="seed of the fault dice, for repeatable runs")
    arguments = parser.parse_args(argv)
    if arguments.token_ttl < 1:
        parser.error("--token-ttl must be at least 1")
    if not 0 <= arguments.port <= 65535:
        parser.error(f"--port must be from 0 to 65535, got {arguments.port}")
    return arguments


def client_secret(arguments: argparse.Namespace, environment: Mapping[str, str]) -> tuple[str, str]:
    """
    The client secret and where it came from: the flag, the file, the environment, else the default.

    :param arguments: the parsed command line.
    :param environment: the process environment, where ``PAYJOBS_SANDBOX_CLIENT_SECRET`` may be.
    :raises CommandError: when the file cannot be read or the secret given is empty.
    """
    if arguments.client_secret is not None:
        secret, source = arguments.client_secret, "--client-secret"
    elif arguments.client_secret_file is not None:
        source = f"--client-secret-file {arguments.client_secret_file}"
        try:
            text = Path(arguments.client_secret_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise CommandError(f"{source}: cannot read the secret ({reason})") from None
        secret = text.removesuffix("\n").removesuffix("\r")
    elif SECRET_VARIABLE in environment:
        secret, source = environment[SECRET_VARIABLE], f"${SECRET_VARIABLE}"
    else:
        return DEFAULT_CLIENT_SECRET, "the default"
    if not secret:
        raise CommandError(f"{source}: the client secret is empty")
    return secret, source


def is_loopback(host: str) -> bool:
    """
    Whether every address ``host`` stands for is a loopback one; a name that does not resolve is not.

    :param host: the ``--host`` value: an IPv4 or IPv6 address or a host name.
    """
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    # An IPv4 or IPv6 sockaddr starts with the address as text (typeshed allows an int for other families).
    addresses = {str(address[4][0]).partition("%")[0] for address in found}
    return bool(addresses) and all(ipaddress.ip_address(address).is_loopback for address in addresses)


def exposure_warning(host: str, secret: str, source: str) -> str | None:
    """
    The warning for listening beyond loopback with an own secret; None on loopback.

    :param host: the ``--host`` value.
    :param secret: the client secret in force.
    :param source: where it came from, for the warning.
    :raises CommandError: beyond loopback with the default secret, which is published.
    """
    if is_loopback(host):
        return None
    if secret == DEFAULT_CLIENT_SECRET:
        raise CommandError(
            f"refusing to listen on {host}, beyond loopback, with the default client secret "
            f"{DEFAULT_CLIENT_SECRET!r}, which is published: set your own with ${SECRET_VARIABLE} or "
            "--client-secret-file PATH (or listen on 127.0.0.1)"
        )
    return (
        f"WARNING: the sandbox listens on {host} and is REACHABLE FROM THE NETWORK. It is a test server: "
        "anyone who can reach it and knows the secret can create and cancel jobs, over plain HTTP (the "
        "secret and tokens cross the network unencrypted); its /_sandbox/ admin endpoints still answer "
        "loopback clients only. "
        f"Client secret from {source}."
    )


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    try:
        _run(arguments)
    except CommandError as error:
        print(f"payjobs-sandbox: {error}", file=sys.stderr, flush=True)
        raise SystemExit(USAGE_ERROR) from None


def _run(arguments: argparse.Namespace) -> None:
    from airflow_provider_payjobs.sandbox.server import ListenError, serve

    secret, source = client_secret(arguments, os.environ)
    config = SandboxConfig(
        client_id=arguments.client_id,
        client_secret=secret,
        scopes=frozenset(arguments.scopes.split()),
        step_seconds=arguments.step_seconds,
        token_ttl=arguments.token_ttl,
        accept_duplicate_client_ids=arguments.accept_duplicate_client_ids,
    )
    faults = FaultSettings(
        error_500=arguments.fault_500,
        error_502=arguments.fault_502,
        error_503=arguments.fault_503,
        error_429=arguments.fault_429,
        drop_connection=arguments.fault_drop,
        commit_then_fail=arguments.fault_commit_then_fail,
        retry_after_seconds=arguments.retry_after,
        latency_ms=arguments.latency_ms,
        seed=arguments.seed,
    )
    try:  # the bounds the admin endpoints hold settings to (docs/sandbox.md)
        config.check()
        faults.check()
        # Bytes that are not UTF-8 reach argv as lone surrogates; a credential must be text.
        (arguments.client_id + secret + arguments.scopes).encode("utf-8")
    except OutOfBounds as error:
        raise SystemExit(f"payjobs-sandbox: {error}") from None
    except UnicodeEncodeError:
        raise SystemExit(
            f"payjobs-sandbox: --client-id, the client secret ({source}) and --scopes must be UTF-8"
        ) from None
    warning = exposure_warning(arguments.host, secret, source)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    # The default secret is published anyway; any other is never printed, only where it came from.
    shown, note = (secret, None) if secret == DEFAULT_CLIENT_SECRET else (SECRET_PLACEHOLDER, source)
    state = SandboxState(config, faults, frozen_clock=arguments.frozen_clock)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            serve(state, arguments.host, arguments.port, shown_secret=shown, secret_source=note)
        except ListenError as error:
            raise CommandError(str(error)) from None


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:  # NaN included
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:  # NaN and infinity included; main() checks the upper bounds
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


if __name__ == "__main__":
    main()
