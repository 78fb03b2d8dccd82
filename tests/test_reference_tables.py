"""
The argument tables of ``docs/operators.md`` agree with the classes they describe.

An argument table is a Markdown table whose header is exactly
``| argument | type | default | templated | meaning |``; it describes the class that the nearest
heading above it names. Its rows, one per argument of the class's ``__init__`` (all but ``self``
and ``**kwargs``), hold:

- argument: the name, in backticks;
- type: the annotation as the code writes it, in backticks (a ``|`` in it escaped as ``\\|``);
- default: ``required`` when there is none; else, in backticks, ``repr`` of the default, or for a
  timedelta ``timedelta(...)`` with keyword arguments (``timedelta(hours=24)``), or for a
  boolean read from Airflow's configuration the option as ``[section] key``;
- templated: ``yes`` exactly for the names in the class's ``template_fields``, else empty;
- meaning: not empty (taken from the class's ``:param:`` docstring).

A missing row fails with the row to paste, built from the signature and the docstring.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_payjobs.airflow_support.compat import conf
from airflow_provider_payjobs.operators.payjobs import CancelPaymentJobOperator, CreatePaymentJobOperator
from airflow_provider_payjobs.sensors.payjobs import PaymentJobSensor
from airflow_provider_payjobs.triggers.payjobs import PaymentJobEventTrigger, PaymentJobTrigger

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "operators.md"
CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        CreatePaymentJobOperator,
        CancelPaymentJobOperator,
        PaymentJobSensor,
        PaymentJobTrigger,
        PaymentJobEventTrigger,
    )
}
HEADER = ["argument", "type", "default", "templated", "meaning"]
REQUIRED = "required"
TEMPLATED = "yes"

HEADING = re.compile(r"#{1,6}[ \t]+(.+?)[ \t#]*$")
FENCE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
IN_BACKTICKS = re.compile(r"`([^`]+)`")
CONF_OPTION = re.compile(r"\[(\w+)\] (\w+)")
CLASS_NAME = re.compile(r"\b(" + "|".join(CLASSES) + r")\b")


@dataclass(frozen=True)
class Row:
    """One row of an argument table: its line in the page and its cells by column."""

    line: int
    cells: dict[str, str]

    def code(self, column: str) -> str | None:
        """The cell's text inside its backticks, or None when it is not one code span."""
        match = IN_BACKTICKS.fullmatch(self.cells[column])
        return match.group(1) if match else None


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in UNESCAPED_PIPE.split(inner)]


@cache
def tables() -> dict[str, list[Row]]:
    """The page's argument tables by the class they describe; an unattributable table fails."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    found: dict[str, list[Row]] = {}
    heading, fence, index = "", None, 0
    while index < len(lines):
        line = lines[index]
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            fence = None if line.strip().startswith(fence) else fence
        elif match := HEADING.match(line):
            heading = match.group(1)
        elif line.lstrip().startswith("|") and _cells(line) == HEADER:
            names = set(CLASS_NAME.findall(heading))
            assert len(names) == 1, (
                f"docs/operators.md:{index + 1}: the argument table's heading {heading!r} must name "
                f"exactly one of {sorted(CLASSES)}"
            )
            (name,) = names
            assert name not in found, f"docs/operators.md:{index + 1}: a second table for {name}"
            found[name], index = _rows(lines, index + 2)
            continue
        index += 1
    return found


def _rows(lines: list[str], start: int) -> tuple[list[Row], int]:
    """The rows from ``start`` (after the header and its delimiter row) and the line after them."""
    rows, index = [], start
    while index < len(lines) and lines[index].lstrip().startswith("|"):
        cells = _cells(lines[index])
        assert len(cells) == len(HEADER), f"docs/operators.md:{index + 1}: {len(cells)} cells, not 5"
        rows.append(Row(index + 1, dict(zip(HEADER, cells, strict=True))))
        index += 1
    return rows, index


def parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The constructor's arguments, without ``self`` and ``**kwargs``."""
    # mypy calls any __init__ read off a class unsound; these are the classes' own, read as written.
    signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    return {
        name: parameter
        for name, parameter in list(signature.parameters.items())[1:]
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    }


def rows_by_name(name: str) -> dict[str, Row]:
    """The rows of ``name``'s table by the argument they describe."""
    rows = tables()[name]
    by_name = {row.code("argument") or row.cells["argument"]: row for row in rows}
    assert len(by_name) == len(rows), f"{name}'s table names an argument twice"
    return by_name


def suggested_row(cls: type, name: str, parameter: inspect.Parameter) -> str:
    """The row to paste for an argument the table lacks."""
    if parameter.default is inspect.Parameter.empty:
        default = REQUIRED
    elif isinstance(parameter.default, timedelta):
        default = f"`timedelta(seconds={parameter.default.total_seconds():g})`"
    else:
        default = f"`{parameter.default!r}`"
    templated = TEMPLATED if name in getattr(cls, "template_fields", ()) else ""
    annotation = str(parameter.annotation).replace("|", "\\|")
    return f"| `{name}` | `{annotation}` | {default} | {templated} | {docstring_meaning(cls, name)} |"


def docstring_meaning(cls: type, name: str) -> str:
    """The text of ``:param name:`` in the class docstring, on one line ("TODO" without one)."""
    match = re.search(
        rf"^:param {name}:(.*?)(?=^\S|^$|\Z)", inspect.cleandoc(cls.__doc__ or ""), re.MULTILINE | re.DOTALL
    )
    return " ".join(match.group(1).split()).replace("``", "`").removesuffix(".") if match else "TODO"


@pytest.mark.parametrize("name", CLASSES)
def test_the_table_lists_every_argument_and_no_other(name: str) -> None:
    cls = CLASSES[name]
    assert name in tables(), f"docs/operators.md has no argument table under a heading naming {name}"
    expected, shown = parameters(cls), rows_by_name(name)
    missing = [suggested_row(cls, arg, expected[arg]) for arg in expected if arg not in shown]
    stale = [f"docs/operators.md:{shown[arg].line}: {arg}" for arg in shown if arg not in expected]
    assert not missing, f"{name}'s table lacks these rows (add them):\n" + "\n".join(missing)
    assert not stale, f"{name}'s table shows arguments {name}.__init__ does not have:\n" + "\n".join(stale)
    assert all(row.code("argument") for row in shown.values()), "each argument is written in backticks"
    assert all(row.cells["meaning"] for row in shown.values()), "each row says what its argument means"


@pytest.mark.parametrize("name", CLASSES)
def test_types_are_the_annotations(name: str) -> None:
    shown = rows_by_name(name)
    for arg, parameter in parameters(CLASSES[name]).items():
        if arg in shown:
            row = shown[arg]
            assert row.code("type") == parameter.annotation, (
                f"docs/operators.md:{row.line}: {name}({arg}) is annotated {parameter.annotation!r}"
            )


@pytest.mark.parametrize("name", CLASSES)
def test_defaults_are_the_signatures(name: str) -> None:
    shown = rows_by_name(name)
    for arg, parameter in parameters(CLASSES[name]).items():
        if arg in shown:
            row = shown[arg]
            default = "no default" if parameter.default is inspect.Parameter.empty else parameter.default
            where = f"docs/operators.md:{row.line}: {name}({arg}) has {default!r}"
            assert _default_matches(row, parameter.default), f"{where}, the table says {row.cells['default']}"


def _default_matches(row: Row, default: Any) -> bool:
    if row.cells["default"] == REQUIRED:
        return default is inspect.Parameter.empty
    text = row.code("default")
    if text is None or default is inspect.Parameter.empty:
        return False
    if option := CONF_OPTION.fullmatch(text):
        # test_configured_defaults_follow_their_option shows the default is read, not written down.
        return default is conf.getboolean(option.group(1), option.group(2))
    if isinstance(default, timedelta):
        return _timedelta(text) == default
    return text == repr(default)


def _timedelta(text: str) -> timedelta | None:
    """``timedelta(hours=24)`` and the like, as the page writes a duration."""
    match = re.fullmatch(r"timedelta\(((?:\w+=\d+(?:, )?)+)\)", text)
    if match is None:
        return None
    units = dict(part.split("=") for part in match.group(1).split(", "))
    return timedelta(**{unit: int(amount) for unit, amount in units.items()})


@pytest.mark.parametrize("name", CLASSES)
def test_templated_is_marked_exactly_for_template_fields(name: str) -> None:
    cls = CLASSES[name]
    shown = rows_by_name(name)
    template_fields = tuple(getattr(cls, "template_fields", ()))
    marked = {arg for arg, row in shown.items() if row.cells["templated"] == TEMPLATED}
    odd = [f"line {row.line}" for row in shown.values() if row.cells["templated"] not in {"", TEMPLATED}]
    assert not odd, f"{name}'s templated cells are {TEMPLATED!r} or empty; not so at {', '.join(odd)}"
    assert marked == set(template_fields), (
        f"{name}.template_fields is {template_fields}; the table marks {sorted(marked)}"
    )


def test_configured_defaults_follow_their_option() -> None:
    """A fresh interpreter with each option flipped: the defaults shown as options flip too."""
    shown = {
        (name, arg): CONF_OPTION.fullmatch(row.code("default") or "")
        for name in tables()
        for arg, row in rows_by_name(name).items()
    }
    options = {key: (match.group(1), match.group(2)) for key, match in shown.items() if match}
    assert options, "the page shows no default read from Airflow's configuration (deferrable does)"
    flipped = {option: not conf.getboolean(*option) for option in options.values()}
    env = os.environ | {
        f"AIRFLOW__{section.upper()}__{key.upper()}": str(value) for (section, key), value in flipped.items()
    }
    targets = [(CLASSES[name].__module__, name, arg) for name, arg in options]
    script = (
        "import importlib, inspect, json, sys\n"
        "print(json.dumps([inspect.signature(getattr(importlib.import_module(module), name).__init__)"
        ".parameters[arg].default for module, name, arg in json.loads(sys.argv[1])]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(targets)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    defaults = json.loads(result.stdout.strip().splitlines()[-1])
    for (name, arg), option, default in zip(options, options.values(), defaults, strict=True):
        assert default is flipped[option], (
            f"{name}({arg}) is shown as the option [{option[0]}] {option[1]}, but setting it to "
            f"{flipped[option]} leaves the default {default}"
        )
