"""
What importing the operators and the sensor adds to DAG parsing, over ``import airflow.sdk``.

    python benchmarks/import_cost.py [--runs 15]

Each run is a fresh interpreter that imports ``airflow.sdk`` (what every DAG file does), then the
provider's operators and sensor. Printed: the median time and memory (tracemalloc peak of the
second step, still held, and resident memory) the provider adds, the same for ``airflow.sdk`` alone for
scale, and the HTTP libraries the provider's import loaded (there should be none).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HTTP_LIBRARIES = ("requests", "urllib3", "aiohttp", "httpx", "httpcore", "yarl", "multidict")
PROBE = """
import json, os, sys, time, tracemalloc

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

traced = sys.argv[1] == "traced"
rss0, started = resident(), time.perf_counter()
import airflow.sdk
sdk_seconds, rss1 = time.perf_counter() - started, resident()
before = set(sys.modules)
if traced:
    tracemalloc.start()
started = time.perf_counter()
import airflow_provider_payjobs.operators.payjobs
import airflow_provider_payjobs.sensors.payjobs
provider_seconds, rss2 = time.perf_counter() - started, resident()
if traced:  # allocated and still held (tracemalloc slows the import: its run gives no timing)
    print(json.dumps({"provider allocated MiB": tracemalloc.get_traced_memory()[0] / 2**20}))
else:
    added = sorted({name.split(".")[0] for name in set(sys.modules) - before})
    print(json.dumps({"sdk ms": sdk_seconds * 1000, "sdk rss MiB": (rss1 - rss0) / 2**20,
        "provider ms": provider_seconds * 1000, "provider rss MiB": (rss2 - rss1) / 2**20,
        "top-level packages added": added}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    arguments = parser.parse_args(argv)
    runs, traced = [], []
    probe("timed")  # the warm-up run writes the bytecode caches the measured runs read
    for _ in range(arguments.runs):
        runs.append(probe("timed"))
        traced.append(probe("traced"))
    figures = {
        key: round(statistics.median(run[key] for run in runs), 1)
        for key in ("sdk ms", "sdk rss MiB", "provider ms", "provider rss MiB")
    }
    figures["provider allocated MiB"] = round(
        statistics.median(run["provider allocated MiB"] for run in traced), 2
    )
    added = sorted({package for run in runs for package in run["top-level packages added"]})
    figures["packages the provider's import added"] = added
    figures["HTTP libraries loaded"] = [name for name in added if name in HTTP_LIBRARIES]
    figures["runs"] = arguments.runs
    print(json.dumps(figures))
    return 1 if figures["HTTP libraries loaded"] else 0


def probe(mode: str) -> dict:
    # Bytecode is written and reused, as on a scheduler: with PYTHONDONTWRITEBYTECODE set, every
    # run would compile every module again and time the compiler instead of the import.
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], check=True, capture_output=True, text=True, env=environment
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
