"""Fixtures for orchestration tests: a real App on a temp data dir, with a stub renderer.

The stub stands in for the render pipeline at its process boundary (like
httpx's MockTransport): it still does real work, writing a real MP4 with
ffmpeg's test source, but in a fraction of a second, and it can be held at
a gate so a test decides when a job finishes. Tests whose point is the
render itself use the real pipeline instead.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from core.config import Settings

if TYPE_CHECKING:  # imported lazily so the other tests here do not depend on the App's modules
    from core.app import App
    from core.bus import Subscription
    from core.commands import Event
    from core.errors import FramecastError
    from core.render.pipeline import RenderOutcome, RenderRequest
    from core.sandbox.job import ProgressCallback


class StubRenderer:
    """A renderer that writes a 1 s testsrc MP4; ``hold()`` makes jobs wait for ``release()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started: list[str] = []
        self.requests: list[RenderRequest] = []
        self._gate: asyncio.Event | None = None
        self.running = 0
        self.most_running = 0
        self.fail_with: FramecastError | None = None

    def hold(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        if self._gate is not None:
            self._gate.set()

    async def __call__(self, request: RenderRequest, progress: ProgressCallback | None) -> RenderOutcome:
        from core.render.pipeline import RenderOutcome

        self.started.append(request.job_id)
        self.requests.append(request)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if progress is not None:
                progress({"type": "progress", "stage": "render", "percent": 50})
            if self._gate is not None:
                await self._gate.wait()
            job_dir = self.settings.data_dir / request.workspace / "jobs" / request.job_id
            job_dir.mkdir(parents=True, exist_ok=True)
            record = job_dir / "job.md"
            record.write_text(f"# job {request.job_id}\n", encoding="utf-8")
            if self.fail_with is not None:
                return RenderOutcome(request.job_id, job_dir, record, request.tier, error=self.fail_with)
            video = job_dir / "video.mp4"
            proc = await asyncio.create_subprocess_exec(
                "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=24:duration=1",
                "-pix_fmt", "yuv420p", str(video), stdout=subprocess.DEVNULL,
            )
            assert await proc.wait() == 0
            return RenderOutcome(
                job_id=request.job_id, job_dir=job_dir, record=record, tier=request.tier,
                video=video, scene="Stub", duration_s=1.0, watermarked=request.tier.watermark,
                timings={"execute": 0.1},
            )
        finally:
            self.running -= 1


@pytest.fixture
def stub(settings: Settings) -> StubRenderer:
    return StubRenderer(settings)


AppFactory = Callable[..., Awaitable["App"]]


@pytest.fixture
async def make_app(settings: Settings, stub: StubRenderer) -> AsyncIterator[AppFactory]:
    """Build (not start) Apps on the test's data dir; all are stopped at the end."""
    from core.app import App

    apps: list[App] = []

    async def make(**kwargs: Any) -> App:
        kwargs.setdefault("renderer", stub)
        app = await App.create(kwargs.pop("settings", settings), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.stop(grace_s=0)


Collect = Callable[..., Awaitable["list[Event]"]]


@pytest.fixture
def collect() -> Collect:
    """``await collect(subscription, until=predicate)``: events up to and including the match."""

    async def run(subscription: Subscription, until: Callable[[Event], bool], timeout: float = 120) -> list[Event]:
        seen: list[Event] = []

        async def read() -> None:
            async for event in subscription:
                seen.append(event)
                if until(event):
                    return

        await asyncio.wait_for(read(), timeout)
        return seen

    return run
