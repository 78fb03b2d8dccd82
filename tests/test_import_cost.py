"""DAG files import the operators and the sensor on every parse: that import must stay light."""

from __future__ import annotations

import json
import subprocess
import sys

HTTP_LIBRARIES = {
    "requests",
    "urllib3",
    "aiohttp",
    "httpx",
    "httpcore",
    "yarl",
    "multidict",
    "charset_normalizer",
}
PROBE = """
import json, sys
import airflow.sdk
before = set(sys.modules)
import airflow_provider_payjobs.operators.payjobs
import airflow_provider_payjobs.sensors.payjobs
print(json.dumps(sorted({name.split(".")[0] for name in set(sys.modules) - before})))
print(json.dumps(sorted(name for name in set(sys.modules) - before if name.startswith("airflow."))))
"""


def test_parsing_a_dag_imports_no_http_library_and_no_triggerer_code() -> None:
    """HTTP clients load on first use; the trigger classes only when a task defers."""
    done = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True)
    packages, airflow_modules = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert not HTTP_LIBRARIES & set(packages), packages
    assert not [name for name in airflow_modules if name.startswith("airflow.triggers")], airflow_modules
    assert "airflow_provider_payjobs" in packages, "the probe imported the provider at all"
