"""mypy over the files pyproject.toml lists ([tool.mypy]: text, rag, providers, the answer
services and their db modules) must pass, so a wrong call signature (the kind of bug that once
turned a follow-up into "Something went wrong") fails the suite, not a user. `make lint` runs the
same check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_mypy_passes_on_the_checked_packages() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_mypy_checks_the_answer_pipeline() -> None:
    import tomllib

    files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    assert {"techdocs_app/rag", "techdocs_app/providers", "techdocs_app/text"} <= set(files)
