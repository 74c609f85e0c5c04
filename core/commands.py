"""The command/event API: what connectors, the TUI and the admin API speak.

A connector turns a chat message into a *command* (imperative, frozen,
carrying the :class:`Actor` who asked) and hands it to
``Orchestrator.execute``; it gets a :class:`Reply` back or a
``FramecastError`` it shows as is. Everything that happens later (queue
position, progress, the finished video, banners) arrives as *events*
(past tense) on a subscription. Core knows nothing of any chat API.

Actors:
- chat users: ``Actor("telegram", "<telegram user id>", "Ada", "<chat id>")``;
- staff through the admin API: ``Actor("admin", "<internal user id>", ...)``;
- the Markdown watcher and the scheduler: ``Actor("system", "mirror"|"scheduler", ...)``,
  who hold the admin role.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.models import Approval, ApprovalState, User

__all__ = [
    "Actor",
    "AddNote",
    "ApprovalDecided",
    "ApprovalRequested",
    "Approve",
    "Banner",
    "Cancel",
    "ClearMemory",
    "Command",
    "Deny",
    "EditCode",
    "Event",
    "JobCancelled",
    "JobDone",
    "JobFailed",
    "JobProgress",
    "JobQueued",
    "JobStarted",
    "ListApprovals",
    "ListJobs",
    "ListUsers",
    "NewSession",
    "Notice",
    "Render",
    "Reply",
    "RequestPairing",
    "RequestTrial",
    "SetContextPolicy",
    "SetRole",
    "SetTier",
    "ShowCode",
    "UserChanged",
]


@dataclass(frozen=True)
class Actor:
    """Who asked, and where: one identity of one connector in one chat.

    ``workspace`` is the Markdown workspace the chat belongs to (a guild, a
    group, a private space); ``None`` means the local workspace.
    """

    connector: str
    external_id: str
    display_name: str
    chat: str
    workspace: str | None = None

    @property
    def context_id(self) -> str:
        return f"{self.connector}:{self.chat}"


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    actor: Actor


@dataclass(frozen=True)
class Render(Command):
    """Render from a prompt (AI/composer) or from code the user supplies."""

    prompt: str | None = None
    code: str | None = None
    duration: float | None = None


@dataclass(frozen=True)
class EditCode(Command):
    """Replace the session's code with the user's edit and preview it."""

    code: str


@dataclass(frozen=True)
class RequestTrial(Command):
    prompt: str


@dataclass(frozen=True)
class Approve(Command):
    approval_id: str


@dataclass(frozen=True)
class Deny(Command):
    approval_id: str
    reason: str = ""


@dataclass(frozen=True)
class Cancel(Command):
    job_id: str


@dataclass(frozen=True)
class ClearMemory(Command):
    project: str | None = None


@dataclass(frozen=True)
class AddNote(Command):
    """Remember a non-sensitive note in the project's memory."""

    text: str
    project: str | None = None


@dataclass(frozen=True)
class NewSession(Command):
    pass


@dataclass(frozen=True)
class ShowCode(Command):
    pass


@dataclass(frozen=True)
class SetTier(Command):
    user_id: str
    tier: str


@dataclass(frozen=True)
class SetRole(Command):
    user_id: str
    role: str
    scope: str | None = None


@dataclass(frozen=True)
class SetContextPolicy(Command):
    """Replace a chat context's policy (e.g. from an edited contexts/<id>.md)."""

    context_id: str
    policy: dict[str, Any]


@dataclass(frozen=True)
class RequestPairing(Command):
    pass


@dataclass(frozen=True)
class ListJobs(Command):
    """Staff: every job; members (through VIEW_OWN): their own."""

    state: str | None = None


@dataclass(frozen=True)
class ListApprovals(Command):
    state: ApprovalState | None = ApprovalState.PENDING


@dataclass(frozen=True)
class ListUsers(Command):
    pass


@dataclass(frozen=True)
class Reply:
    """The immediate answer to a command: text for people, data for programs."""

    text: str
    data: dict[str, Any] | None = None
    # A secret for the asker's eyes only (a pairing code): never written to chat logs.
    secret: bool = False


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened. Routed to subscribers by user, context or staff.

    An event with neither ``user_id`` nor ``context_id`` reaches staff only.
    """

    user_id: str | None = None
    context_id: str | None = None
    job_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobQueued(Event):
    position: int


@dataclass(frozen=True, kw_only=True)
class JobStarted(Event):
    attempt: int = 1


@dataclass(frozen=True, kw_only=True)
class JobProgress(Event):
    stage: str
    percent: float | None = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class JobDone(Event):
    video: Path
    code: str
    record: Path
    duration_s: float
    watermarked: bool


@dataclass(frozen=True, kw_only=True)
class JobFailed(Event):
    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobCancelled(Event):
    by: str = ""


@dataclass(frozen=True, kw_only=True)
class ApprovalRequested(Event):
    approval: Approval


@dataclass(frozen=True, kw_only=True)
class ApprovalDecided(Event):
    approval: Approval


@dataclass(frozen=True, kw_only=True)
class Banner(Event):
    """A sticky message about the session (e.g. AI assistance switched off)."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    text: str


@dataclass(frozen=True, kw_only=True)
class UserChanged(Event):
    user: User
