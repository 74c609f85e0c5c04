"""Strict typing is a checked property: `make test` fails when mypy does.

The mypy settings (strict, pydantic plugin) live in pyproject.toml; this test
only runs the same command a developer would. mypy caches in .mypy_cache, so
after the first run it rechecks only what changed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MYPY_TIMEOUT_S = 300


# A little longer than the subprocess timeout, so a slow run fails with
# mypy's own timeout message rather than pytest-timeout's thread dump.
@pytest.mark.timeout(MYPY_TIMEOUT_S + 30)
def test_mypy_strict_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "core", "bot", "tui"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=MYPY_TIMEOUT_S,
    )
    output = result.stdout + result.stderr
    # Compared as plain values so a failure shows mypy's report, not the CompletedProcess repr.
    passed = result.returncode == 0 and "Success: no issues found" in result.stdout
    assert passed, f"mypy core bot tui failed:\n{output}"
