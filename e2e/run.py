"""
`make e2e`: build a real Airflow deployment, run every case against it, stop everything.

Prints one line per case with its timing, and the total; exits non-zero when a case fails. The
deployment's logs are copied to ``.e2e/logs/`` when something fails (``--keep`` keeps its whole
temporary folder). ``--ui`` runs the browser check (`make e2e-ui`) instead of the cases.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable

from e2e.cases import CANCEL, PAYOUT, PAYROLL, SENSOR, Cases
from e2e.deployment import ROOT, Deployment
from e2e.watcher_cases import WatcherCases

OUTPUT = ROOT / ".e2e"
PORTAL_URL = "https://portal.sandbox.payquicker.example/jobs/{job_token}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the deployment's temporary folder")
    parser.add_argument("--only", action="append", default=[], help="run only cases whose name has this")
    parser.add_argument("--ui", action="store_true", help="run the browser check instead of the cases")
    arguments = parser.parse_args()
    # Ctrl-C and SIGTERM unwind through the deployment's context manager, which stops everything.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    failures = 0
    extra = {"portal_url": PORTAL_URL} if arguments.ui else {}
    # Kept until its logs are saved (on failure); removed below unless --keep.
    deployment = Deployment(keep=True, connection_extra=extra)
    try:
        with deployment:
            _line("PASS", "deployment up", time.monotonic() - started, _describe(deployment))
            failures = _run_all(deployment, arguments)
    except BaseException as error:
        failures += 1
        _line("FAIL", "deployment", time.monotonic() - started, f"{type(error).__name__}: {error}")
        traceback.print_exc()
        if isinstance(error, KeyboardInterrupt):
            return 130
    finally:
        if failures:
            _save_logs(deployment)
        if not arguments.keep:
            shutil.rmtree(deployment.folder, ignore_errors=True)
        else:
            print(f"Deployment folder kept: {deployment.folder}")
    kind = "browser checks" if arguments.ui else "cases"
    verdict = "FAILED" if failures else "all passed"
    print(f"e2e {kind}: {verdict} ({failures} failed), {time.monotonic() - started:.1f} s in total")
    return 1 if failures else 0


def _run_all(deployment: Deployment, arguments: argparse.Namespace) -> int:
    step = time.monotonic()
    deployment.wait_dags_parsed([PAYOUT, SENSOR, CANCEL, PAYROLL])
    _line("PASS", "example DAGs parsed and unpaused", time.monotonic() - step, "")
    if arguments.ui:
        from e2e.ui_check import browser_checks, browser_page

        with browser_page() as page:  # closed whatever happens
            return run_steps(browser_checks(deployment, OUTPUT, page))
    cases = Cases(deployment)
    every_case = [*cases.all(), *WatcherCases(cases).all()]
    steps = [(name, case) for name, case in every_case if _chosen(name, arguments.only)]
    steps.append(("ledger: every payout exactly once", cases.check_everything_paid_once))
    return run_steps(steps)


def run_steps(steps: list[tuple[str, Callable[[], str]]]) -> int:
    """Run each step, one line each; the number that failed."""
    failures = 0
    for name, check in steps:
        step = time.monotonic()
        try:
            seen = check()
            _line("PASS", name, time.monotonic() - step, seen)
        except Exception as error:
            failures += 1
            _line("FAIL", name, time.monotonic() - step, f"{type(error).__name__}: {error}")
            traceback.print_exc()
    return failures


def _chosen(name: str, only: list[str]) -> bool:
    return not only or any(part in name for part in only)


def _line(verdict: str, name: str, seconds: float, seen: str) -> None:
    print(f"{verdict}  {name:<36} {seconds:6.1f} s  {seen}", flush=True)


def _describe(deployment: Deployment) -> str:
    return (
        f"PostgreSQL on :{deployment.postgres.port}, sandbox, api-server on :{deployment.api_port}, "
        "scheduler (LocalExecutor), dag-processor, triggerer"
    )


def _save_logs(deployment: Deployment) -> None:
    target = OUTPUT / "logs"
    shutil.rmtree(target, ignore_errors=True)
    try:
        shutil.copytree(deployment.logs, target / "processes", dirs_exist_ok=True)
        if (deployment.home / "logs").exists():
            shutil.copytree(deployment.home / "logs", target / "tasks", dirs_exist_ok=True)
        print(f"Logs of the failed run: {target.relative_to(ROOT)}/")
    except OSError as error:
        print(f"Could not keep the logs: {error}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
