"""The package's layers, and the one way imports run between them (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "airflow_provider_payjobs"
NAME = PACKAGE.name
# What each layer may import of the package; anything not named here is refused.
MAY_IMPORT = {
    "client": {"client", "exceptions"},
    "exceptions": {"client"},
    "payout": {"payout", "client", "exceptions"},
    "watcher": {"watcher", "client", "exceptions"},
    "sandbox": {"sandbox"},
}
AIRFLOW_FREE = {"client", "exceptions", "payout", "watcher", "sandbox"}


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement of ``path`` names, lazy imports inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == NAME else []
            found += [(node.lineno, name) for name in names or [node.module]]
    return found


MODULES = sorted(path for path in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    layer = layer_of(path)
    allowed = MAY_IMPORT.get(layer)
    wrong = []
    for line, module in imports_of(path):
        parts = module.split(".")
        if parts[0] == NAME and len(parts) > 1 and allowed is not None and parts[1] not in allowed:
            wrong.append(f"line {line}: {module} ({layer} may import {sorted(allowed)})")
        if layer in AIRFLOW_FREE and parts[0] == "airflow":
            wrong.append(f"line {line}: {module} (the {layer} layer imports no Airflow)")
    assert not wrong, f"{path.relative_to(PACKAGE)} imports the wrong way: " + "; ".join(wrong)


def test_every_module_is_in_a_layer() -> None:
    top_level = {path.stem for path in PACKAGE.glob("*.py")}
    assert top_level == {"__init__", "exceptions"}, f"modules outside the layers: {sorted(top_level)}"
