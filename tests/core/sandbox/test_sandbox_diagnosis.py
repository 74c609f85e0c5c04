"""Why a job failed: the sandbox's own set-up, or the job itself.

Before each job the bubblewrap runner only checks that bubblewrap runs and
is new enough; the trial sandbox of ``check()`` runs when a job fails the way
bubblewrap fails (exit 1, "bwrap: ..." on stderr), to tell the two apart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import SandboxUnavailable
from core.sandbox import BubblewrapRunner, SandboxJob, limits_for, make_runner

# Answers --version like bubblewrap 0.8 and fails every sandbox the way bubblewrap
# does when the kernel refuses its namespaces.
BROKEN_BWRAP = """#!/bin/sh
if [ "$1" = --version ]; then echo "bubblewrap 0.8.0"; exit 0; fi
echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow" >&2
exit 1
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the sandbox uid can traverse (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        yield Path(tmp)


def job_in(root: Path, *argv: str) -> SandboxJob:
    settings = load_settings()
    (root / "project").mkdir(exist_ok=True)
    return SandboxJob(
        argv=argv, project_dir=root / "project", artifacts_dir=root / "artifacts",
        limits=limits_for(settings, settings.tiers.get("free")),
    )


async def test_a_sandbox_that_cannot_start_is_reported_as_unavailable(
    monkeypatch: pytest.MonkeyPatch, shared_dir: Path
) -> None:
    fake = shared_dir / "bwrap"
    fake.write_text(BROKEN_BWRAP)
    fake.chmod(0o755)
    monkeypatch.setenv("FRAMECAST_SANDBOX__BWRAP", str(fake))
    runner = make_runner(load_settings())
    assert isinstance(runner, BubblewrapRunner)
    with pytest.raises(SandboxUnavailable) as caught:
        await runner.run(job_in(shared_dir, "true"))
    assert caught.value.code == "E_SANDBOX_UNAVAILABLE"
    assert "No permissions to create new namespace" in (caught.value.detail or "")


async def test_a_job_that_merely_looks_like_bubblewrap_failing_keeps_its_result(shared_dir: Path) -> None:
    runner = make_runner(load_settings())
    result = await runner.run(job_in(shared_dir, "sh", "-c", "echo 'bwrap: not really' >&2; exit 1"))
    assert result.exit_code == 1 and not result.ok
    assert "bwrap: not really" in result.stderr_tail
