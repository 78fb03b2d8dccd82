"""
`make test-matrix`: the whole test suite on each Airflow version, one after the other.

Each version runs in its own venv (``.venv-<version>``, made by the Makefile), so the legs
share nothing but the source tree. After the last leg, one line per version:

    airflow 3.0.6: 779 passed, 0 failed in 3m52s

The exit status is non-zero if any leg failed or did not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pytest's closing line, e.g. "2 failed, 777 passed, 1 skipped in 220.32s (0:03:40)".
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")
CLOSING = re.compile(r"\b(passed|failed|errors?|skipped|no tests ran)\b.* in [\d.]+s")


def run_leg(version: str) -> tuple[int, dict[str, int], float]:
    """Run pytest in ``.venv-<version>``, echoing its output; its exit code, counts and seconds."""
    python = ROOT / f".venv-{version}" / "bin" / "python"
    print(f"\n=== Airflow {version}: {python.parent.parent.name} ===", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # progress as it happens, not in 8 KB blocks
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    closing = ""
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if CLOSING.search(line):
            closing = line
    code = process.wait()
    counts = {("error" if kind.startswith("error") else kind): int(n) for n, kind in COUNTS.findall(closing)}
    return code, counts, time.monotonic() - started


def summary(version: str, code: int, counts: dict[str, int], seconds: float) -> str:
    """One line for one version; counts pytest did not print are zero."""
    minutes, rest = divmod(round(seconds), 60)
    line = f"airflow {version}: {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed"
    for kind in ("error", "skipped", "xfailed", "xpassed"):
        if counts.get(kind):
            line += f", {counts[kind]} {'errors' if kind == 'error' else kind}"
    if code not in (0, 1):  # 1 is "some tests failed"; anything else means the run itself broke
        line += f" (pytest exit code {code})"
    return f"{line} in {minutes}m{rest:02d}s"


def main(versions: list[str]) -> int:
    if not versions:
        print("usage: test_matrix.py VERSION [VERSION ...]", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = [(version, *run_leg(version)) for version in versions]
    lines = [summary(*result) for result in results]
    passed = sum(counts.get("passed", 0) for _, _, counts, _ in results)
    failed = sum(counts.get("failed", 0) + counts.get("error", 0) for _, _, counts, _ in results)
    minutes, rest = divmod(round(time.monotonic() - started), 60)
    print("\n" + "\n".join(lines))
    print(f"the matrix took {minutes}m{rest:02d}s")
    print(f"matrix: {passed} passed, {failed} failed")
    return 0 if all(code == 0 for _, code, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
