"""The README's console blocks as `make readme` reads them (e2e/readme_blocks.py), and its rules."""

from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

import pytest

from airflow_provider_payjobs.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PORT
from e2e.readme_blocks import SKIPPED, ReadmeBlockError, console_blocks

README = Path(__file__).resolve().parents[1] / "README.md"
FIRST_SCREEN = [
    "Two commands",
    "Your own DAG against the sandbox",
    "See it in the UI",
    "Use the real PayQuicker API",
]


def fenced(language: str, *lines: str) -> str:
    return "\n".join([f"```{language}", *lines, "```"])


def commands_of(text: str, skipped: dict[str, str] | None = None) -> list[str]:
    return [command.text for block in console_blocks(text, skipped or {}) for command in block.commands]


# --- the README itself ---------------------------------------------------------------------------


def readme_commands() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in console_blocks(README.read_text(encoding="utf-8")):
        found.setdefault(block.section, []).extend(command.text for command in block.commands)
    return found


def test_the_first_screen_walks_from_the_two_commands_to_the_real_api_in_order() -> None:
    sections = [block.section for block in console_blocks(README.read_text(encoding="utf-8"))]
    first_seen = list(dict.fromkeys(sections))
    assert first_seen[: len(FIRST_SCREEN)] == FIRST_SCREEN


def test_the_servers_the_readme_starts_name_the_ports_they_listen_on() -> None:
    servers = {
        command.name: command.port
        for block in console_blocks(README.read_text(encoding="utf-8"))
        for command in block.commands
        if command.port is not None
    }
    assert servers == {"make sandbox": DEFAULT_PORT, "airflow standalone": 8080}


def test_the_dag_the_readme_writes_is_python_and_takes_no_payees_from_the_run_conf() -> None:
    (write,) = [
        text for text in readme_commands()["Your own DAG against the sandbox"] if "my_payout.py" in text
    ]
    source = write.split("\n", 1)[1].rsplit("\nEOF", 1)[0]
    tree = ast.parse(source)
    assert "my_payout" in {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
    assert "dag_run" not in source and "conf" not in source


def test_the_readme_exports_the_connection_the_sandbox_prints() -> None:
    exports = [
        text
        for texts in readme_commands().values()
        for text in texts
        if "AIRFLOW_CONN_PAYJOBS_DEFAULT" in text
    ]
    assert exports
    for export in exports:
        connection = json.loads(shlex.split(export)[1].split("=", 1)[1])
        assert connection == {
            "conn_type": "payjobs",
            "login": DEFAULT_CLIENT_ID,
            "password": DEFAULT_CLIENT_SECRET,
            "host": f"http://127.0.0.1:{DEFAULT_PORT}/api/v2",
        }


def test_every_listed_skip_names_a_readme_command_and_gives_a_short_reason() -> None:
    skipped = {
        command.name: command.skip_reason
        for block in console_blocks(README.read_text(encoding="utf-8"))
        for command in block.commands
        if command.skip_reason
    }
    assert skipped == SKIPPED
    assert all(len(reason) <= 80 for reason in SKIPPED.values())


# --- the rules -----------------------------------------------------------------------------------


def test_only_dollar_lines_are_commands_and_what_follows_is_output() -> None:
    text = fenced("console", "$ make demo   # a comment", "Payout finished", "$ echo hi", "hi")
    (block,) = console_blocks(text, {})
    assert [(command.name, command.text) for command in block.commands] == [
        ("make demo", "make demo   # a comment"),
        ("echo hi", "echo hi"),
    ]


def test_blocks_in_other_languages_do_not_run_and_their_comments_are_no_headings() -> None:
    text = "\n".join(
        [
            "## Real section",
            fenced("python", "# not a heading", "print('$ no')"),
            fenced("text", "$ not run either"),
            fenced("console", "$ true"),
        ]
    )
    (block,) = console_blocks(text, {})
    assert block.section == "Real section"
    assert [command.name for command in block.commands] == ["true"]


def test_a_here_document_is_part_of_its_command_up_to_its_end_word() -> None:
    text = fenced("console", "$ cat > f.py <<'EOF'", "$ x = 1  # not a command", "EOF", "$ python f.py")
    assert commands_of(text) == ["cat > f.py <<'EOF'\n$ x = 1  # not a command\nEOF", "python f.py"]


def test_a_line_ending_in_a_backslash_goes_on() -> None:
    text = fenced("console", "$ airflow connections add x \\", "    --conn-type payjobs", "output")
    assert commands_of(text) == ["airflow connections add x \\\n    --conn-type payjobs"]


def test_a_comment_is_left_out_of_the_name_but_a_hash_inside_quotes_is_kept() -> None:
    text = fenced("console", "$ echo '# kept' \"a #b\"   # dropped")
    (block,) = console_blocks(text, {})
    assert block.commands[0].name == "echo '# kept' \"a #b\""


def test_a_command_that_keeps_running_names_its_port() -> None:
    text = fenced("console", "$ make sandbox   # keeps running on port 8023: use a second terminal")
    (block,) = console_blocks(text, {})
    assert block.commands[0].port == 8023
    with pytest.raises(ReadmeBlockError, match=r"README.md:2: .*keeps running on port N"):
        console_blocks(fenced("console", "$ make sandbox   # keeps running: use a second terminal"), {})


def test_a_console_block_without_a_command_is_refused() -> None:
    with pytest.raises(ReadmeBlockError, match=r"README.md:2: a console block with no `\$ ` command"):
        console_blocks("text\n" + fenced("console", "export A=1"), {})


def test_a_here_document_or_block_that_never_ends_is_refused() -> None:
    with pytest.raises(ReadmeBlockError, match="goes on past the end of its block"):
        console_blocks(fenced("console", "$ cat > f <<EOF", "x = 1"), {})
    with pytest.raises(ReadmeBlockError, match="never closed"):
        console_blocks("```console\n$ true\n", {})


def test_a_listed_skip_is_given_its_reason_and_a_stale_one_is_an_error() -> None:
    text = fenced("console", "$ make test   # the suite", "$ make demo")
    (block,) = console_blocks(text, {"make test": "CI's own step"})
    assert [command.skip_reason for command in block.commands] == ["CI's own step", None]
    with pytest.raises(ReadmeBlockError, match=r"no longer has: \['make gone'\]"):
        console_blocks(text, {"make gone": "why"})
