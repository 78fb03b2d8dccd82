"""Nothing in the project points outside the repository: every path and link a reader follows is here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The folders beside a developer's checkout (the contract, the seed pages, the notes) are not shipped:
# a page or a test that names them works only on one machine.
OUTSIDE = re.compile(r"\.\./shared|\bshared/(api|seed|notes)\b")
TEXT_SUFFIXES = {".py", ".md", ".cfg", ".toml", ".txt", ".in", ".yaml", ".yml", ".json", ".sh", ""}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    return [ROOT / name for name in listed if name and Path(name).suffix in TEXT_SUFFIXES]


def test_no_tracked_file_points_outside_the_repository() -> None:
    found = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve() or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "these lines point outside the repository:\n" + "\n".join(found)


def test_the_pattern_catches_what_it_is_for() -> None:
    assert OUTSIDE.search("see ../shared/api/contract.md")
    assert OUTSIDE.search("`shared/api/contract.md`")
    assert not OUTSIDE.search("shared_async_client(settings)")
