"""Renders: the Render command, and running queued jobs through the pipeline.

Host-side work (composing code from a prompt, preflight) happens when the
command arrives, timed against the tier's compute budget, so a refusal is
immediate and the queue only ever holds code that passed preflight. The
render itself happens later, when the queue runs the job: this module turns
the pipeline's outcome into the job's final state, events, audit and mirror,
and settles the trial (spent only when a watermarked video is delivered).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import sessions
from core.commands import (
    JobCancelled,
    JobDone,
    JobFailed,
    JobProgress,
    JobQueued,
    JobStarted,
    Notice,
    Render,
    Reply,
)
from core.errors import (
    BudgetError,
    DurationError,
    FramecastError,
    InputError,
    PermissionDenied,
    RateLimited,
)
from core.models import Job, JobState, Session, TrialState, User
from core.policy import Tier, TierSpec, check_duration, over_duration_message
from core.queue import RESTART_MESSAGE
from core.render.pipeline import RenderOutcome, RenderRequest
from core.render.preflight import check_code, check_prompt
from core.sandbox.job import ProgressCallback
from core.store import jobs as job_store
from core.store import users

if TYPE_CHECKING:
    from core.orchestrator import Call, Orchestrator

__all__ = [
    "AI_OFF_IN_CHAT",
    "Prepared",
    "RenderService",
    "Renderer",
    "check_policy_value",
    "export_hint",
    "for_chat",
]

log = logging.getLogger(__name__)

Renderer = Callable[[RenderRequest, ProgressCallback | None], Awaitable[RenderOutcome]]


AI_OFF_IN_CHAT = "AI generation is turned off in this chat (its policy.ai_enabled is false)."


def check_policy_value(key: str, value: object) -> None:
    """Refuse a bad value of a known ``policy.<key>``; other keys pass as they are."""
    if key == "ai_enabled" and not isinstance(value, bool):
        raise InputError(f"policy.ai_enabled must be true or false, not {value!r}.")
    if key == "max_duration_s" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf")
    ):
        raise InputError(f"policy.max_duration_s must be a positive number of seconds, not {value!r}.")


def for_chat(spec: TierSpec, policy: Mapping[str, Any], *, ai: bool, duration: float | None) -> TierSpec:
    """The tier's spec under the chat's policy, refusing what the policy forbids.

    ``ai_enabled: false`` refuses AI (prompt) renders; code renders still run.
    ``max_duration_s`` lowers the tier's cap, never raises it. A stored value
    that is not valid (set before validation existed) is ignored, not trusted.
    """
    if ai and policy.get("ai_enabled") is False:
        raise PermissionDenied(
            AI_OFF_IN_CHAT,
            hint="Send code to render instead (/edit or a .py file), or ask an admin to turn it back on.",
        )
    cap = policy.get("max_duration_s")
    try:
        check_policy_value("max_duration_s", cap)
    except InputError:
        return spec
    assert isinstance(cap, int | float)
    if cap >= spec.max_duration_s:
        return spec
    if duration is not None and duration > cap:
        raise DurationError(
            f"Renders in this chat are limited to {cap:g}s (its policy.max_duration_s; the "
            f"{spec.name.value} tier allows {spec.max_duration_s:g}s).",
            hint=f"Ask for {cap:g}s or less, or ask an admin to change the chat's policy.",
        )
    return spec.model_copy(update={"max_duration_s": float(cap)})


def export_hint(spec: TierSpec) -> str:
    return (
        f"{over_duration_message(spec)} For longer renders, use /code to export the scene and run it "
        "locally: pip install manim, save it as scene.py, then `manim -qh scene.py`."
    )


@dataclass(frozen=True)
class Prepared:
    """Code ready to queue: composed (or supplied), preflighted, within budget."""

    code: str
    origin: str  # ai | user
    summary: str | None
    not_understood: tuple[str, ...]
    duration_s: float | None  # what the composer planned (None for user code)


class RenderService:
    def __init__(self, core: Orchestrator, renderer: Renderer, *, tex_available: bool) -> None:
        self._core = core
        self._renderer = renderer
        self._tex = tex_available

    # ------------------------------------------------------------------ preparing

    def spec_for(self, call: Call, tier: Tier | str, *, ai: bool, duration: float | None = None) -> TierSpec:
        """The tier's spec in the caller's chat (see :func:`for_chat`)."""
        return for_chat(self._core.settings.tiers.get(tier), call.policy, ai=ai, duration=duration)

    async def prepare(
        self, spec: TierSpec, *, prompt: str | None, code: str | None, duration: float | None
    ) -> Prepared:
        """Compose and preflight within the tier's compute budget (BudgetError past it)."""
        check_duration(spec, duration)
        started = time.perf_counter()
        if code is not None:
            prepared = Prepared(check_code(code).code, "user", None, (), None)
        elif prompt is not None:
            text = check_prompt(prompt, max_chars=self._core.settings.codegen.max_prompt_chars)
            try:
                prepared = await asyncio.wait_for(
                    asyncio.to_thread(self._compose, text, spec, duration), timeout=spec.compute_budget_s
                )
            except TimeoutError:
                raise _over_budget(spec, time.perf_counter() - started) from None
        else:
            raise InputError("Nothing to render.", hint="Send a prompt or some code.")
        spent = time.perf_counter() - started
        if spent > spec.compute_budget_s:
            raise _over_budget(spec, spent)
        return prepared

    def _compose(self, prompt: str, spec: TierSpec, duration: float | None) -> Prepared:
        from core.codegen.builtin import compose

        composition = compose(
            prompt, max_duration_s=spec.max_duration_s, duration_s=duration, tex_available=self._tex
        )
        check_code(composition.code)
        return Prepared(
            composition.code, "ai", composition.summary, tuple(composition.not_understood),
            composition.duration_s,
        )

    async def queue_job(
        self, call: Call, user: User, session: Session | None, *, kind: str, tier: Tier,
        prompt: str | None, code: str, duration: float | None, limit_user_queue: bool = True,
    ) -> tuple[Job, int]:
        core = self._core
        job = Job(
            id=job_store.new_job_id(), user_id=user.id, workspace=call.workspace,
            context_id=call.context_id, session_id=session.id if session else None, kind=kind,
            tier=tier.value, prompt=prompt, code=code, requested_duration=duration,
            state=JobState.QUEUED, attempts=0, error_code=None, error_message=None, result=None,
            created_at=call.now, started_at=None, finished_at=None,
        )
        limit = core.settings.queue.per_user_queued
        position = await core.queue.enqueue(job, max_queued=limit if limit_user_queue else None)
        if position == 0:
            raise RateLimited(
                f"You already have {limit} renders waiting, the most you may queue.",
                hint="Wait for one to finish, or cancel one with /cancel <job id>.",
            )
        # Before the next await, so they always precede the job's start and its final record.
        core.mirror.write_job(job.workspace, job)
        core.publish(JobQueued(position=position, **_route(job)))
        await core.audit.record(
            call.who, "render.queued", job.id, workspace=call.workspace,
            detail={"user": user.id, "tier": job.tier, "kind": kind, "position": position},
        )
        return job, position

    # ------------------------------------------------------------------ the command

    async def render(self, call: Call, cmd: Render) -> Reply:
        core = self._core
        core.ratelimit.check(user_id=call.user.id, chat=call.context_id)
        session, project = await sessions.current(core, call)
        ai = cmd.prompt is not None and cmd.code is None
        if ai and not session.ai_enabled:
            raise sessions.ai_off_error()
        spec = self.spec_for(call, call.user.tier, ai=ai, duration=cmd.duration)
        prepared = await self.prepare(spec, prompt=cmd.prompt, code=cmd.code, duration=cmd.duration)
        session = await sessions.take_code(core, call, session, prepared.code, prepared.origin)
        job, position = await self.queue_job(
            call, call.user, session, kind="render", tier=spec.name, prompt=cmd.prompt,
            code=prepared.code, duration=cmd.duration or prepared.duration_s,
        )
        if prepared.summary is not None and cmd.prompt is not None:
            await core.memory.record_plan(project, cmd.prompt, prepared.summary)
        return Reply(_queued_text(job, position, prepared), {"job_id": job.id, "position": position})

    async def scheduled(self, call: Call, prompt: str) -> Job:
        """A scheduled render from the scheduler's user into ``call``'s context (no rate limits)."""
        spec = self.spec_for(call, call.user.tier, ai=True)
        prepared = await self.prepare(spec, prompt=prompt, code=None, duration=None)
        job, _ = await self.queue_job(
            call, call.user, None, kind="scheduled", tier=spec.name, prompt=prompt,
            code=prepared.code, duration=prepared.duration_s, limit_user_queue=False,
        )
        return job

    # ------------------------------------------------------------------ running

    def job_position(self, job: Job, position: int) -> None:
        self._core.publish(JobQueued(position=position, **_route(job)))

    async def run_job(self, job: Job) -> None:
        core = self._core
        core.publish(JobStarted(attempt=job.attempts, **_route(job)))
        # The chat's policy as it is now: a cap lowered while the job waited applies too.
        spec = for_chat(core.settings.tiers.get(job.tier), await core.policy(job.context_id),
                        ai=False, duration=None)
        request = RenderRequest(
            code=job.code, tier=spec, job_id=job.id, duration_s=job.requested_duration,
            prompt=job.prompt, workspace=job.workspace,
        )

        def progress(event: dict[str, Any]) -> None:
            percent = event.get("percent")
            core.publish(JobProgress(
                stage=str(event.get("stage") or event.get("type") or "render"),
                percent=float(percent) if isinstance(percent, (int, float)) else None,
                detail=str(event.get("step") or event.get("animation") or ""),
                **_route(job),
            ))

        try:
            outcome = await self._renderer(request, progress)
        except FramecastError as exc:  # e.g. the sandbox became unavailable
            await self.fail(job, exc)
            return
        except Exception:  # a bug in a renderer: the user still hears, the queue goes on
            log.exception("renderer crashed on job %s", job.id)
            await self.fail(job, FramecastError())
            return
        if outcome.error is not None or outcome.video is None:
            await self.fail(job, outcome.error or FramecastError("The render produced no video."),
                            outcome=outcome)
        else:
            await self._deliver(job, outcome)

    async def _deliver(self, job: Job, outcome: RenderOutcome) -> None:
        core = self._core
        assert outcome.video is not None
        result = outcome.to_dict()
        done = await job_store.finish(core.db, job.id, JobState.DONE, core.clock(), result=result)
        if done is None:  # cancelled while the render was finishing: the cancel was reported
            return
        await core.audit.record(
            "framecast", "render.done", job.id, workspace=job.workspace,
            detail={"user": job.user_id, "duration_s": outcome.duration_s,
                    "watermarked": outcome.watermarked, "timings": result["timings"]},
        )
        core.mirror.write_job(job.workspace, done)
        if job.kind == "trial" and outcome.watermarked:
            await self._set_trial(job, TrialState.SPENT)
        core.post_log(job, f"job {job.id} done: {outcome.video}")
        core.publish(JobDone(
            video=outcome.video, code=job.code, record=outcome.record,
            duration_s=outcome.duration_s or 0.0, watermarked=outcome.watermarked, **_route(job),
        ))

    async def fail(self, job: Job, error: FramecastError, *, outcome: RenderOutcome | None = None) -> None:
        core = self._core
        spec = core.settings.tiers.get(job.tier)
        hint = error.hint
        if error.code in ("E_DURATION", "E_TIMEOUT"):
            hint = export_hint(spec)
        failed = await job_store.finish(
            core.db, job.id, JobState.FAILED, core.clock(), error_code=error.code,
            error_message=error.message, result=outcome.to_dict() if outcome else None,
        )
        if failed is not None:  # None: cancelled meanwhile, and reported as such
            await self._after_failure(failed, error.code, error.message, hint)

    async def job_interrupted(self, job: Job) -> None:
        await self._after_failure(job, "E_RESTART", RESTART_MESSAGE, "Send the request again.")

    async def _after_failure(self, job: Job, code: str, message: str, hint: str | None) -> None:
        core = self._core
        await core.audit.record(
            "framecast", "render.failed", job.id, workspace=job.workspace,
            detail={"user": job.user_id, "code": code},
        )
        core.mirror.write_job(job.workspace, job)
        core.post_log(job, f"job {job.id} failed: {code} {message}")
        core.publish(JobFailed(code=code, message=message, hint=hint, **_route(job)))
        if job.kind == "trial":
            await self._trial_back(job, "failed")

    async def job_cancelled(self, job: Job, by: str) -> None:
        core = self._core
        await core.audit.record(
            by or "framecast", "render.cancelled", job.id, workspace=job.workspace,
            detail={"user": job.user_id},
        )
        core.mirror.write_job(job.workspace, job)
        core.post_log(job, f"job {job.id} cancelled")
        core.publish(JobCancelled(by=by, **_route(job)))
        if job.kind == "trial":
            await self._trial_back(job, "was cancelled")

    async def _trial_back(self, job: Job, what: str) -> None:
        await self._set_trial(job, TrialState.AVAILABLE)
        self._core.publish(Notice(
            text=f"Your trial render {what}, so your one-off trial is still available; "
            "ask again with /trial <prompt>.",
            **_route(job),
        ))

    async def _set_trial(self, job: Job, state: TrialState) -> None:
        core = self._core
        user = await users.set_trial_state(core.db, job.user_id, state, core.clock())
        if user is not None:
            await core.mirror_user(job.workspace, user)


def _over_budget(spec: TierSpec, spent: float) -> BudgetError:
    return BudgetError(
        f"Preparing the scene took {spent:.1f}s, over the {spec.compute_budget_s:g}s "
        f"compute budget of the {spec.name.value} tier.",
        hint="Ask for a simpler animation.",
    )


def _route(job: Job) -> dict[str, Any]:
    return {"user_id": job.user_id, "context_id": job.context_id, "job_id": job.id}


def _queued_text(job: Job, position: int, prepared: Prepared) -> str:
    text = f"Queued job {job.id} (position {position})."
    if prepared.not_understood:
        text += " I did not understand: " + ", ".join(prepared.not_understood) + "."
    return text
