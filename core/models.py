"""Domain records shared by the store, the orchestrator, the mirror and the admin API.

Plain frozen dataclasses: the store builds them from rows, the mirror renders
them as Markdown, the admin API serialises them with :func:`as_json`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Approval",
    "ApprovalState",
    "AuditEntry",
    "Context",
    "Identity",
    "Job",
    "JobState",
    "MemoryItem",
    "Project",
    "Role",
    "Schedule",
    "Session",
    "TrialState",
    "User",
    "as_json",
]


class Role(StrEnum):
    """Staff and chat roles, strongest first."""

    OVERLORD = "overlord"
    ADMIN = "admin"
    OPERATOR = "operator"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_ROLE_RANK = {
    Role.VIEWER: 0,
    Role.MEMBER: 1,
    Role.OPERATOR: 2,
    Role.ADMIN: 3,
    Role.OVERLORD: 4,
}


class TrialState(StrEnum):
    AVAILABLE = "available"
    PENDING = "pending"
    APPROVED = "approved"
    SPENT = "spent"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class User:
    id: str
    display_name: str
    role: Role
    tier: str  # free | premium (the trial is a job kind, not a tier a user holds)
    trial_state: TrialState
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Identity:
    connector: str  # console | telegram | discord
    external_id: str
    user_id: str
    display_name: str
    linked_at: float


@dataclass(frozen=True)
class Context:
    """A policy boundary: one chat (channel, group, DM) of one connector."""

    id: str  # "<connector>:<chat>"
    workspace: str
    connector: str
    chat: str
    admin_hub: bool
    policy: dict[str, Any]


@dataclass(frozen=True)
class Project:
    id: str
    user_id: str
    workspace: str
    name: str
    created_at: float
    last_interaction: float


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    project_id: str
    context_id: str
    ai_enabled: bool
    code: str | None
    code_origin: str | None  # ai | user
    started_at: float
    last_seen: float
    ended_at: float | None


@dataclass(frozen=True)
class Job:
    id: str
    user_id: str
    workspace: str
    context_id: str
    session_id: str | None
    kind: str  # render | trial | scheduled
    tier: str  # free | premium | trial
    prompt: str | None
    code: str
    requested_duration: float | None
    state: JobState
    attempts: int
    error_code: str | None
    error_message: str | None
    result: dict[str, Any] | None
    created_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class Approval:
    id: str
    kind: str  # trial
    user_id: str
    context_id: str
    payload: dict[str, Any]
    state: ApprovalState
    requested_at: float
    decided_by: str | None
    decided_at: float | None
    reason: str | None
    job_id: str | None


@dataclass(frozen=True)
class MemoryItem:
    id: int
    project_id: str
    kind: str  # plan | note
    content: str
    created_at: float


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: float
    actor: str
    action: str
    target: str
    workspace: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Schedule:
    id: str
    cron: str
    prompt: str
    context_id: str
    created_by: str
    created_at: float
    enabled: bool


def as_json(record: Any) -> dict[str, Any]:
    """A record as a JSON-ready dict (enums become their values)."""
    return {
        key: (value.value if isinstance(value, StrEnum) else value)
        for key, value in dataclasses.asdict(record).items()
    }
