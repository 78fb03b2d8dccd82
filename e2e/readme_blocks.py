"""
The README's console blocks as `make readme` (``e2e/readme_walk.py``) runs them.

The rules a README author follows, held by ``tests/test_readme_blocks.py``:

- Only ```` ```console ```` blocks run, in the order the README gives them. A line starting with
  ``$ `` is a command. The lines after it that do not start with ``$ `` are what it prints: shown
  to the reader, never compared (the runner checks results itself, after a section). A block with
  no command is refused: output alone goes in a ```` ```text ```` block.
- A command goes on over further lines while a line ends in a backslash, and up to the end word
  of a here-document (``cat > file <<'EOF'`` ... ``EOF``), so a block can write a file.
- A command whose comment says ``# keeps running on port N`` (a server) is started in the
  background, as a person would start it in a terminal of its own; the run goes on once port N
  answers on 127.0.0.1. A comment that says "keeps running" without a port is refused.
- A command is skipped only when :data:`SKIPPED` lists it, with the reason; a listed command the
  README no longer has is an error, so the list cannot go stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PROMPT = "$ "
# Exact command text (its comment left out) -> why the README run leaves it out. Short, and few.
_OLDEST_AIRFLOW = (
    'pip install dist/airflow_provider_payjobs-*.whl "apache-airflow==3.0.6" -c constraints/airflow-3.0.6.txt'
)
SKIPPED = {
    "make test": "CI's own step (.ci/run runs `make test` before this)",
    "~/payjobs-venv/bin/pip install .": "the wheel below installs the same: one Airflow install per run",
    _OLDEST_AIRFLOW: "installs Airflow 3.0.6 as `make test-matrix`'s 3.0.6 leg does",
}
_FENCE = re.compile(r"^\s*(`{3,})\s*([\w+-]*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_]\w*)\1")
_KEEPS_RUNNING = re.compile(r"#.*\bkeeps running\b", re.IGNORECASE)
_PORT = re.compile(r"#.*\bkeeps running on port (\d{1,5})\b", re.IGNORECASE)


class ReadmeBlockError(ValueError):
    """A console block that breaks the rules above; the message names the README line."""


@dataclass(frozen=True)
class Command:
    """
    One ``$`` command of a console block.

    :param text: what bash is given: the command's lines, continuation and here-document included.
    :param line: the README line of its ``$``.
    :param name: its first line without the prompt and the comment: what :data:`SKIPPED` lists.
    :param port: the port it listens on when it keeps running, else None.
    :param skip_reason: why the run leaves it out, else None.
    """

    text: str
    line: int
    name: str
    port: int | None = None
    skip_reason: str | None = None


@dataclass(frozen=True)
class Block:
    """
    One console block.

    :param line: the README line of its opening fence.
    :param section: the title of the heading it stands under.
    :param commands: its commands, in order.
    """

    line: int
    section: str
    commands: list[Command] = field(default_factory=list)


def console_blocks(text: str, skipped: dict[str, str] | None = None) -> list[Block]:
    """
    The console blocks of a Markdown text, in order, each with its commands.

    :param text: the Markdown (the README).
    :param skipped: command name -> reason (default :data:`SKIPPED`); each must match a command.
    :raises ReadmeBlockError: on a block with no command, a "keeps running" without a port, an
        unclosed block or here-document, or a listed skip that matches no command.
    """
    skipped = SKIPPED if skipped is None else skipped
    blocks: list[Block] = []
    section = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            heading = _HEADING.match(lines[index])
            if heading:
                section = heading.group(2)
            index += 1
            continue
        body_start = index + 1
        index = _closing_fence(lines, body_start, fence.group(1))
        if fence.group(2) == "console":
            commands = _commands(lines[body_start:index], body_start + 1, skipped)
            if not commands:
                raise ReadmeBlockError(
                    f"README.md:{body_start}: a console block with no `$ ` command; "
                    "use a ```text block for output alone"
                )
            blocks.append(Block(line=body_start, section=section, commands=commands))
        index += 1
    _check_skips_used(blocks, skipped)
    return blocks


def _closing_fence(lines: list[str], start: int, ticks: str) -> int:
    for index in range(start, len(lines)):
        if lines[index].strip() == ticks:
            return index
    raise ReadmeBlockError(f"README.md:{start}: a code block that is never closed")


def _commands(lines: list[str], first_line: int, skipped: dict[str, str]) -> list[Command]:
    """The commands of one block's lines; ``first_line`` is the README line of ``lines[0]``."""
    commands = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith(PROMPT):
            index += 1  # output, shown and not compared
            continue
        line = first_line + index
        parts = [lines[index][len(PROMPT) :]]
        heredoc = _HEREDOC.search(parts[0])
        index += 1
        while parts[-1].endswith("\\") or heredoc:
            if index == len(lines):
                raise ReadmeBlockError(f"README.md:{line}: the command goes on past the end of its block")
            parts.append(lines[index])
            if heredoc and lines[index].strip() == heredoc.group(2):
                heredoc = None
            index += 1
        first = parts[0]
        name = _without_comment(first)
        commands.append(
            Command(
                text="\n".join(parts),
                line=line,
                name=name,
                port=_port(first, line),
                skip_reason=skipped.get(name),
            )
        )
    return commands


def _port(first: str, line: int) -> int | None:
    if not _KEEPS_RUNNING.search(first):
        return None
    found = _PORT.search(first)
    if found is None or not 0 < int(found.group(1)) < 65536:
        raise ReadmeBlockError(
            f"README.md:{line}: a command that keeps running must say on which port, "
            "`# keeps running on port N`, so the run knows when it is up"
        )
    return int(found.group(1))


def _without_comment(first: str) -> str:
    """The first line of a command without its comment: a ``#`` after a space, outside quotes."""
    quote = ""
    for position, character in enumerate(first):
        if quote:
            quote = "" if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character == "#" and (position == 0 or first[position - 1].isspace()):
            return first[:position].strip()
    return first.strip()


def _check_skips_used(blocks: list[Block], skipped: dict[str, str]) -> None:
    names = {command.name for block in blocks for command in block.commands}
    stale = sorted(set(skipped) - names)
    if stale:
        raise ReadmeBlockError(
            f"skipped commands the README no longer has: {stale}; remove them from SKIPPED"
        )
