"""The orchestrator: the one entry point for every command.

``execute`` does the same five things for every command, so no handler can
forget one: resolve the actor to a user and an effective role, log and audit
the ingest (metadata only), check the permission table, run the handler,
and log and audit the outbound reply (or the refusal). The handlers live in
small modules by area (:mod:`core.renders`, :mod:`core.sessions`,
:mod:`core.trial`, :mod:`core.handlers`); the queue calls
back into :mod:`core.renders` to run jobs.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from core import rbac
from core.audit import Audit
from core.bus import EventBus, Subscription
from core.commands import Actor, Command, Event, Reply
from core.config import Settings
from core.errors import AuthError, FramecastError, NotFound
from core.handlers import HANDLERS
from core.identity import Pairing
from core.memory import MemoryService
from core.mirror import Mirror
from core.models import Context, Job, Role, Schedule, User
from core.queue import JobHooks, JobQueue
from core.ratelimit import RateLimiter
from core.renders import Renderer, RenderService
from core.store import users
from core.store.database import Database

__all__ = ["LOCAL_WORKSPACE", "Call", "Orchestrator"]

log = logging.getLogger(__name__)

LOCAL_WORKSPACE = "local"


@dataclass(frozen=True)
class Call:
    """One command being executed: who, with which role, where, when, under which chat policy."""

    actor: Actor
    user: User
    role: Role
    workspace: str
    context_id: str
    now: float
    policy: Mapping[str, Any] = field(default_factory=dict)  # the context's policy.* settings

    @property
    def who(self) -> str:
        return f"{self.actor.connector}:{self.actor.external_id}"


class Orchestrator(JobHooks):
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        audit: Audit,
        mirror: Mirror,
        renderer: Renderer,
        clock: Callable[[], float] = time.time,
        tex_available: bool | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.audit = audit
        self.mirror = mirror
        self.clock = clock
        self.bus = EventBus()
        self.ratelimit = RateLimiter(
            user_per_min=settings.queue.user_rate_per_min,
            chat_per_min=settings.queue.chat_rate_per_min,
            clock=clock,
        )
        self.memory = MemoryService(db, mirror, clock=clock)
        if tex_available is None:
            tex_available = shutil.which("latex") is not None and shutil.which("dvisvgm") is not None
        self.renders = RenderService(self, renderer, tex_available=tex_available)
        self.queue = JobQueue(db, self, concurrency=settings.queue.concurrency, clock=clock)
        # Set by the App when the identity module is present (RequestPairing routes to it).
        self.pairing: Pairing | None = None
        # context id -> its policy as last read or set, so running a job needs no extra read;
        # refreshed by every command in that chat, bounded by the number of chats.
        self._policies: dict[str, Mapping[str, Any]] = {}

    # ------------------------------------------------------------------ events

    def subscribe(
        self, *, user_id: str | None = None, context_id: str | None = None, staff: bool = False
    ) -> AbstractAsyncContextManager[Subscription]:
        return self.bus.subscribe(user_id=user_id, context_id=context_id, staff=staff)

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    # ------------------------------------------------------------------ actors

    async def resolve_actor(self, actor: Actor) -> tuple[User, Role]:
        user, role, _ = await self._resolve(actor)
        return user, role

    async def _resolve(self, actor: Actor) -> tuple[User, Role, Context | None]:
        """The actor's user, effective role and chat context (None for system actors)."""
        now = self.clock()
        if actor.connector == "system":  # the watcher and the scheduler: admins, and not a chat
            user, created = await users.upsert_user_with_identity(
                self.db, connector="system", external_id=actor.external_id,
                display_name=actor.display_name, now=now, role=Role.ADMIN,
                user_id=f"system-{actor.external_id}",
            )
            if created:
                await self.mirror_user(actor.workspace or LOCAL_WORKSPACE, user)
            return user, Role.ADMIN, None
        # The common case, a known user in a known chat: one query.
        known = await users.snapshot(
            self.db, context_id=actor.context_id,
            **({"user_id": actor.external_id} if actor.connector == "admin"
               else {"identity": (actor.connector, actor.external_id)}),
        )
        if known is not None:
            user, created, grants, context = known.user, False, known.grants, known.context
        elif actor.connector == "admin":
            raise AuthError(f"No user {actor.external_id!r}.", hint="Enroll again or ask an admin.")
        else:
            user, created = await users.upsert_user_with_identity(
                self.db, connector=actor.connector, external_id=actor.external_id,
                display_name=actor.display_name, now=now,
            )
            grants, context = await users.grants(self.db, user.id), None
        if context is None:
            context, context_created = await users.ensure_context(
                self.db, connector=actor.connector, chat=actor.chat,
                workspace=actor.workspace or LOCAL_WORKSPACE,
            )
            if context_created:
                self.mirror.write_context(context)
        if created:
            await self.mirror_user(context.workspace, user)
        self._policies[context.id] = context.policy
        role = rbac.effective_role(user.role, grants, workspace=context.workspace, context=context.id)
        return user, role, context

    async def policy(self, context_id: str) -> Mapping[str, Any]:
        """A chat's policy: the copy the last command there read, else the stored one."""
        found = self._policies.get(context_id)
        if found is None:
            context = await users.get_context(self.db, context_id)
            found = self._policies[context_id] = context.policy if context else {}
        return found

    def policy_changed(self, context: Context) -> None:
        self._policies[context.id] = context.policy

    async def mirror_user(self, workspace: str, user: User) -> None:
        self.mirror.write_user(workspace, user, await users.identities(self.db, user.id))

    async def identities_changed(self, context_id: str, user_ids: Sequence[str]) -> None:
        """Rewrite the Markdown of users whose identities or role a pairing changed.

        The files go to the workspace of the chat the pairing was asked from. The
        link is committed already, so a full disk is logged, not raised.
        """
        context = await users.get_context(self.db, context_id)
        workspace = context.workspace if context else LOCAL_WORKSPACE
        for user_id in user_ids:
            user = await users.get(self.db, user_id)
            if user is None:
                continue
            try:
                await self.mirror_user(workspace, user)
            except OSError:
                log.exception("could not mirror user %s after pairing", user_id)

    # ------------------------------------------------------------------ commands

    async def execute(self, cmd: Command) -> Reply:
        """Run one command; raise a FramecastError (already audited and logged) to refuse it."""
        actor = cmd.actor
        user, role, context = await self._resolve(actor)
        workspace = context.workspace if context else actor.workspace or LOCAL_WORKSPACE
        call = Call(actor, user, role, workspace, actor.context_id, self.clock(),
                    context.policy if context else {})
        name = type(cmd).__name__
        self.chat_log(workspace, call.context_id, f"**{actor.display_name}** `{name}` {_summary(cmd)}")
        await self.audit.record(
            call.who, "ingest", call.context_id, workspace=workspace,
            detail={"command": name, "user": user.id, "role": role.value},
        )
        action, handler = HANDLERS[type(cmd)]
        try:
            if action is not None:
                rbac.require(role, action)
            reply = await handler(self, call, cmd)
        except FramecastError as exc:
            await self.audit.record(
                call.who, "refused", call.context_id, workspace=workspace,
                detail={"command": name, "code": exc.code},
            )
            self.chat_log(workspace, call.context_id, f"post (refused {exc.code}): {exc.message}")
            raise
        await self.audit.record(
            "framecast", "post", call.context_id, workspace=workspace,
            detail={"command": name, "chars": len(reply.text)},
        )
        logged = "(a private reply, not logged)" if reply.secret else _short(reply.text)
        self.chat_log(workspace, call.context_id, f"post: {logged}")
        return reply

    async def run_schedule(self, schedule: Schedule) -> None:
        """Queue a scheduled render into the schedule's chat, as the scheduler."""
        context = await users.get_context(self.db, schedule.context_id)
        if context is None:
            raise NotFound(f"No chat context {schedule.context_id!r} for schedule {schedule.id}.")
        actor = Actor("system", "scheduler", "Scheduler", context.chat, context.workspace)
        user, role, _ = await self._resolve(actor)
        call = Call(actor, user, role, context.workspace, context.id, self.clock(), context.policy)
        job = await self.renders.scheduled(call, schedule.prompt)
        await self.audit.record(
            call.who, "schedule.fired", schedule.id, workspace=context.workspace, detail={"job": job.id}
        )

    def chat_log(self, workspace: str, context_id: str, line: str) -> None:
        """Append to logs/<connector>/<chat>.md; a full disk must not fail the command."""
        connector, _, chat = context_id.partition(":")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock()))
        try:
            self.mirror.append_log(workspace, connector, chat, f"{stamp} {line}")
        except OSError:
            log.exception("could not append to the chat log of %s", context_id)

    def post_log(self, job: Job, text: str) -> None:
        """Log an outbound message about a job in its chat's log (connectors deliver it)."""
        self.chat_log(job.workspace, job.context_id, f"post: {text}")

    # ------------------------------------------------------------------ queue hooks

    async def run_job(self, job: Job) -> None:
        await self.renders.run_job(job)

    async def job_cancelled(self, job: Job, by: str) -> None:
        await self.renders.job_cancelled(job, by)

    async def job_interrupted(self, job: Job) -> None:
        await self.renders.job_interrupted(job)

    def job_position(self, job: Job, position: int) -> None:
        self.renders.job_position(job, position)


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _summary(cmd: Command) -> str:
    """What the log shows of a command: its short fields, never whole code."""
    parts = []
    for key, value in vars(cmd).items():
        if key == "actor" or value is None:
            continue
        if key == "code":
            parts.append(f"code=<{len(str(value).splitlines())} lines>")
        else:
            parts.append(f"{key}={_short(str(value), 80)}")
    return " ".join(parts)
