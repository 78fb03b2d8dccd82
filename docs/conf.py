"""Sphinx configuration: the provider's documentation site, built offline by ``make docs``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]

from airflow_provider_payjobs import __version__  # noqa: E402  (needs the path above)

# autodoc imports Airflow, whose start-up INFO lines would read like build output.
logging.getLogger("airflow").setLevel(logging.WARNING)

project = "airflow-provider-payjobs"
author = "airflow-provider-payjobs contributors"
copyright = "the airflow-provider-payjobs contributors"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "payjobs_docs",  # docs/_ext: README sections, the connection form, the docstring checks
]
# No intersphinx: the build runs offline. References to Airflow and the standard library are
# external names, ignored below; references to this package must resolve.
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "README.md"]
root_doc = "index"
nitpicky = True

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autoclass_content = "class"  # constructor parameters live in the class docstring, as in Airflow
autodoc_inherit_docstrings = False  # an override says what it does here, not what Airflow says
autodoc_default_options = {"show-inheritance": True}  # each directive says :members:

html_theme = "furo"
html_title = f"airflow-provider-payjobs {release}"
html_static_path: list[str] = []
html_show_sourcelink = False

# Modules whose every public class and function must be on the site (the build checks it).
payjobs_public_modules = [
    "airflow_provider_payjobs.hooks.payjobs",
    "airflow_provider_payjobs.operators.payjobs",
    "airflow_provider_payjobs.sensors.payjobs",
    "airflow_provider_payjobs.triggers.payjobs",
    "airflow_provider_payjobs.links.payjobs",
    "airflow_provider_payjobs.exceptions",
    "airflow_provider_payjobs.client.models",
    "airflow_provider_payjobs.client.job_status",
    "airflow_provider_payjobs.watcher.job_events",
    "airflow_provider_payjobs.sandbox.admin",
]

# README anchors used by included README sections, and the pages that hold them on this site.
payjobs_readme = str(ROOT / "README.md")
payjobs_readme_links = {
    "#connection": "connection.md",
    "#security": "security.md",
    "#deploying": "deploying.md",
    "#event-driven-scheduling-dags-that-run-when-a-payout-finishes": "operators.md",
}

# Names outside this package that signatures and base classes mention. With no intersphinx they
# cannot resolve; anything under airflow_provider_payjobs must.
_EXTERNAL_MODULES = (
    "airflow",
    "aiohttp",
    "asyncio",
    "collections",
    "contextlib",
    "datetime",
    "decimal",
    "enum",
    "http",
    "logging",
    "pathlib",
    "pendulum",
    "re",
    "requests",
    "socket",
    "ssl",
    "subprocess",
    "tenacity",
    "threading",
    "types",
    "urllib",
    "uvicorn",
)
nitpick_ignore_regex = [(r"py:.*", rf"({'|'.join(_EXTERNAL_MODULES)})\..+")]
