"""
A local stand-in for the PayQuicker Payment Jobs API: a real HTTP server on loopback.

It speaks the wire contract (OAuth, the four job endpoints, ApiErrorResult errors), moves jobs
through their lifecycle on a clock tests can step, and injects faults on demand. It never
imports the hook: it models the server, not the client.
"""

from __future__ import annotations

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_PORT = 8023
# Where the command reads the client secret from when no flag gives it (docs/sandbox.md).
SECRET_VARIABLE = "PAYJOBS_SANDBOX_CLIENT_SECRET"
