"""
`make demo`: a payout DAG against the local sandbox, on Airflow's embedded SQLite database.

Starts the sandbox, runs ``example_payjobs_payout`` with ``airflow dags test`` (the deferrable
wait included), prints the payout summary, and stops the sandbox, also when something fails.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

from airflow_provider_payjobs.sandbox.server import start_sandbox

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", ROOT / ".airflow"))
LOG = AIRFLOW_HOME / "demo.log"
DAG_ID = "example_payjobs_payout"


def airflow_environment(connection_json: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_PAYJOBS_DEFAULT": connection_json,
    }


def run(command: list[str], environment: dict[str, str], log) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    log.write(f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}\n")
    return result


def main() -> int:
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    started = time.monotonic()
    with LOG.open("w") as log, start_sandbox("--step-seconds", "1") as sandbox:
        print(f"PayQuicker sandbox running at {sandbox.base_url}")
        environment = airflow_environment(sandbox.connection_json())
        print("Preparing Airflow's SQLite database in .airflow/ ...")
        if run([airflow, "db", "migrate"], environment, log).returncode != 0:
            return fail("airflow db migrate failed")
        print(f"Running DAG {DAG_ID} with `airflow dags test` (create, deferrable wait, report) ...")
        result = run([airflow, "dags", "test", DAG_ID], environment, log)
        summary = find_summary(result.stdout + result.stderr)
        if result.returncode != 0 or summary is None:
            return fail(f"the DAG run did not finish (exit {result.returncode})")
        print_summary(summary, sandbox.admin.ledger(), time.monotonic() - started)
    return 0


def find_summary(output: str) -> dict | None:
    for line in output.splitlines():
        if "PAYOUT SUMMARY " in line:
            return ast.literal_eval(line.split("PAYOUT SUMMARY ", 1)[1].strip())
    return None


def print_summary(summary: dict, ledger: list[dict], seconds: float) -> None:
    print()
    print("Payout finished")
    print(f"  job token : {summary['job']}")
    print(f"  status    : {summary['status']}")
    print(
        "  items     : "
        + ", ".join(f"{count} {status}" for status, count in summary["items_by_status"].items())
    )
    print(
        "  totals    : "
        + ", ".join(f"{amount} {currency}" for currency, amount in summary["totals_per_currency"].items())
    )
    print(
        "  paid      : "
        + ", ".join(f"{amount} {currency}" for currency, amount in summary["paid_per_currency"].items())
    )
    print(f"  ledger    : {len(ledger)} payouts recorded by the sandbox")
    shown_log = LOG.relative_to(ROOT) if LOG.is_relative_to(ROOT) else LOG
    print(f"Done in {seconds:.0f} s. Full Airflow log: {shown_log}")


def fail(reason: str) -> int:
    print(f"Demo failed: {reason}. Last lines of {LOG}:", file=sys.stderr)
    lines = LOG.read_text().splitlines() if LOG.exists() else []
    print("\n".join(lines[-40:]), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
