"""``payjobs-sandbox`` / ``python -m airflow_provider_payjobs.sandbox``: run the sandbox server."""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Sequence

from airflow_provider_payjobs.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PORT
from airflow_provider_payjobs.sandbox.faults import FaultSettings
from airflow_provider_payjobs.sandbox.limits import OutOfBounds
from airflow_provider_payjobs.sandbox.state import SandboxConfig, SandboxState


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="payjobs-sandbox",
        description="A local PayQuicker Payment Jobs API for offline work and tests (docs/sandbox.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port; 0 picks a free one (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--client-id", default=DEFAULT_CLIENT_ID, help=f"OAuth client id (default {DEFAULT_CLIENT_ID})"
    )
    parser.add_argument(
        "--client-secret", default=DEFAULT_CLIENT_SECRET, help="OAuth client secret (default sandbox-secret)"
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
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    from airflow_provider_payjobs.sandbox.server import serve

    arguments = parse_arguments(argv)
    config = SandboxConfig(
        client_id=arguments.client_id,
        client_secret=arguments.client_secret,
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
        (arguments.client_id + arguments.client_secret + arguments.scopes).encode("utf-8")
    except OutOfBounds as error:
        raise SystemExit(f"payjobs-sandbox: {error}") from None
    except UnicodeEncodeError:
        raise SystemExit("payjobs-sandbox: --client-id, --client-secret and --scopes must be UTF-8") from None
    with contextlib.suppress(KeyboardInterrupt):
        serve(
            SandboxState(config, faults, frozen_clock=arguments.frozen_clock), arguments.host, arguments.port
        )


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
