"""The Markdown projection of framecast's state: what people read (and a little they edit).

SQLite is the index and the authority; these files are a copy for people.
Every file is written atomically (a temp file in the same folder, fsync,
``os.replace``), so a reader or the watcher never sees half a file. The
mirror remembers the SHA-256 of the content of its own last write per path,
so :mod:`core.watcher` can tell its echoes from human edits (for the editable
users/ and contexts/ files, the only ones it watches). Logs and the
audit copy are appended (fsync'd), never rewritten.

Layout, per workspace folder ``<data_dir>/<workspace>/``::

    users/<user>.md                 front matter; ``tier:`` is editable
    contexts/<connector>/<chat>.md  front matter; ``policy.*`` keys are editable
    jobs/<job>.md  approvals/<approval>.md  memory/<project>.md
    audit/<yyyy-mm-dd>.md           one line per audit entry (UTC day)
    logs/<connector>/<chat>.md      one list item per line

Path parts are percent-encoded (``/`` and a leading ``.`` included), so no id
can climb out of its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.errors import InputError
from core.models import Approval, AuditEntry, Context, Identity, Job, MemoryItem, Project, User

__all__ = [
    "Mirror",
    "errors_path",
    "iso",
    "parse_front_matter",
    "render_front_matter",
    "safe_part",
]

_FENCE = "---"
_KEY = re.compile(r"^[a-z_][a-z0-9_.]*$")


def safe_part(value: str) -> str:
    """One path component from an id: readable when it is already a slug, never a path."""
    if not value:
        raise InputError("An empty name cannot be a file name.")
    encoded = quote(value, safe="-_@+=,")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def iso(ts: float | None) -> str:
    """A unix time as ISO 8601 UTC to the second; empty for None."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def errors_path(path: Path) -> Path:
    """Where rejected edits of ``path`` are explained: ``<name>.errors.md`` beside it."""
    return path.with_name(path.name.removesuffix(".md") + ".errors.md")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(str(value).split())


def render_front_matter(fields: Mapping[str, Any]) -> str:
    """``---`` + one ``key: value`` line per field + ``---``; values are single-line."""
    lines = [_FENCE, *(f"{key}: {_scalar(value)}".rstrip() for key, value in fields.items()), _FENCE]
    return "\n".join(lines) + "\n"


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a mirrored file into its front matter fields and its body.

    Raises InputError naming the line for anything that is not ``key: value``.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != _FENCE:
        raise InputError("The file must start with a '---' line (the front matter).")
    fields: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == _FENCE:
            return fields, "\n".join(lines[number:])
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise InputError(f"Line {number} is not 'key: value': {line.strip()!r}.")
        if key in fields:
            raise InputError(f"Line {number} repeats the key {key!r}.")
        fields[key] = value.strip()
    raise InputError("The front matter has no closing '---' line.")


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _listing(data: Mapping[str, Any], indent: str = "") -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.append(f"{indent}- {key}:")
            out.extend(_listing(value, indent + "  "))
        else:
            out.append(f"{indent}- {key}: {_scalar(json.dumps(value) if isinstance(value, list) else value)}")
    return out


class Mirror:
    """Writes the Markdown copy of the state under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._own: dict[Path, str] = {}
        self._fields: dict[Path, dict[str, str]] = {}

    # --- echo detection (used by the watcher) ---------------------------------

    def is_own(self, path: Path, content: bytes) -> bool:
        """True when ``content`` is exactly what the mirror last wrote to ``path``."""
        return self._own.get(path.resolve()) == _digest(content)

    def known_fields(self, path: Path) -> dict[str, str] | None:
        """The front matter the mirror last wrote to ``path`` (None if not this process)."""
        fields = self._fields.get(path.resolve())
        return dict(fields) if fields is not None else None

    # --- files ----------------------------------------------------------------

    def folder(self, workspace: str, *parts: str) -> Path:
        return self.data_dir.joinpath(safe_part(workspace), *(safe_part(p) for p in parts))

    def _write(self, path: Path, text: str, editable: Mapping[str, Any] | None = None) -> Path:
        """Atomically replace ``path``; for an editable file remember its hash and fields.

        Only users/ and contexts/ files are watched for edits, so only theirs are
        remembered: the memory stays bounded by people and chats, not by jobs.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        content = text.encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            if editable is not None:
                # Remember before the rename: the watcher must never see an unknown own write.
                self._own[path] = _digest(content)
                self._fields[path] = {key: _scalar(value) for key, value in editable.items()}
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _document(
        self, path: Path, fields: Mapping[str, Any], body: list[str], *, editable: bool = False
    ) -> Path:
        text = render_front_matter(fields) + "\n" + "\n".join(body) + "\n"
        return self._write(path, text, fields if editable else None)

    def _append(self, path: Path, header: str, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            chunk = (header if os.fstat(fd).st_size == 0 else "") + text
            os.write(fd, chunk.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return path

    # --- editable records -----------------------------------------------------

    def write_user(self, workspace: str, user: User, identities: list[Identity]) -> Path:
        path = self.folder(workspace, "users") / f"{safe_part(user.id)}.md"
        fields = {
            "id": user.id,
            "display_name": user.display_name,
            "tier": user.tier,
            "role": user.role.value,
            "trial": user.trial_state.value,
            "created": iso(user.created_at),
            "updated": iso(user.updated_at),
        }
        body = [
            f"# {_scalar(user.display_name)}",
            "",
            "Editable: `tier:` (free or premium). Saving applies it with the same rules and",
            "audit as the TUI; a refused edit is explained in the `.errors.md` file beside this one.",
            "Other fields are read-only here: change roles through the TUI or the admin API.",
            "",
            "## Linked identities",
            "",
            *([f"- {i.connector}: {i.external_id} ({_scalar(i.display_name)}), linked {iso(i.linked_at)}"
               for i in identities] or ["- none"]),
        ]
        return self._document(path, fields, body, editable=True)

    def write_context(self, context: Context) -> Path:
        path = self.folder(context.workspace, "contexts", context.connector) / f"{safe_part(context.chat)}.md"
        fields: dict[str, Any] = {
            "id": context.id,
            "workspace": context.workspace,
            "connector": context.connector,
            "chat": context.chat,
            "admin_hub": context.admin_hub,
            "policy.ai_enabled": None,
            "policy.max_duration_s": None,
        }
        fields.update({f"policy.{key}": value for key, value in sorted(context.policy.items())})
        body = [
            f"# {context.connector} chat {_scalar(context.chat)}",
            "",
            "Editable: the `policy.*` lines. `policy.ai_enabled: true|false` allows AI code",
            "generation in this chat; `policy.max_duration_s: <seconds>` caps renders below the",
            "tier's limit. Leave a value empty to use the default.",
        ]
        return self._document(path, fields, body, editable=True)

    # --- read-only records ----------------------------------------------------

    def write_job(self, workspace: str, job: Job) -> Path:
        path = self.folder(workspace, "jobs") / f"{safe_part(job.id)}.md"
        fields = {
            "id": job.id,
            "user": job.user_id,
            "context": job.context_id,
            "session": job.session_id,
            "kind": job.kind,
            "tier": job.tier,
            "state": job.state.value,
            "attempts": job.attempts,
            "requested_duration_s": job.requested_duration,
            "created": iso(job.created_at),
            "started": iso(job.started_at),
            "finished": iso(job.finished_at),
        }
        body = [f"# Job {job.id}", "", "## Prompt", "", job.prompt or "_(code only)_", "",
                "## Code", "", "```python", job.code.rstrip(), "```"]
        if job.result:
            body += ["", "## Result", "", *_listing(job.result)]
        if job.error_code:
            body += ["", "## Error", "", f"{job.error_code}: {_scalar(job.error_message)}"]
        return self._document(path, fields, body)

    def write_approval(self, workspace: str, approval: Approval) -> Path:
        path = self.folder(workspace, "approvals") / f"{safe_part(approval.id)}.md"
        fields = {
            "id": approval.id,
            "kind": approval.kind,
            "user": approval.user_id,
            "context": approval.context_id,
            "state": approval.state.value,
            "requested": iso(approval.requested_at),
            "decided_by": approval.decided_by,
            "decided": iso(approval.decided_at),
            "reason": approval.reason,
            "job": approval.job_id,
        }
        body = [f"# {approval.kind.capitalize()} approval {approval.id}", "", *_listing(approval.payload)]
        return self._document(path, fields, body)

    def write_memory(self, workspace: str, project: Project, items: list[MemoryItem]) -> Path:
        path = self.folder(workspace, "memory") / f"{safe_part(project.id)}.md"
        fields = {
            "project": project.id,
            "name": project.name,
            "user": project.user_id,
            "last_interaction": iso(project.last_interaction),
        }
        plans = [item for item in items if item.kind == "plan"]
        notes = [item for item in items if item.kind != "plan"]
        body = [f"# Memory of {_scalar(project.name)}", "", "## Plans", ""]
        for number, plan in enumerate(plans, start=1):
            body += [f"### Plan {number} ({iso(plan.created_at)})", "", plan.content.rstrip(), ""]
        body += ["## Notes", "", *(f"- {_scalar(note.content)}" for note in notes)]
        return self._document(path, fields, body)

    def remove_memory(self, workspace: str, project_id: str) -> None:
        (self.folder(workspace, "memory") / f"{safe_part(project_id)}.md").unlink(missing_ok=True)

    # --- appended logs --------------------------------------------------------

    def append_log(self, workspace: str, connector: str, chat: str, line: str) -> Path:
        path = self.folder(workspace, "logs", connector) / f"{safe_part(chat)}.md"
        first, *rest = line.rstrip("\n").split("\n")
        item = "".join([f"- {first}\n", *(f"  {more}\n" for more in rest)])
        return self._append(path, f"# {connector} chat {chat}\n\n", item)

    def append_audit(self, entry: AuditEntry) -> Path:
        day = datetime.fromtimestamp(entry.ts, UTC).strftime("%Y-%m-%d")
        path = self.folder(entry.workspace, "audit") / f"{day}.md"
        header = (
            f"# Audit {day}\n\nA copy for people. The SQLite `audit` table is authoritative;\n"
            "check it with `framecast audit verify`.\n\n"
        )
        parts = [f"- #{entry.seq}", iso(entry.ts), _scalar(entry.actor), f"`{entry.action}`",
                 _scalar(entry.target)]
        if entry.detail:
            parts.append(json.dumps(entry.detail, sort_keys=True))
        parts.append(f"(hash {entry.hash[:16]})")
        return self._append(path, header, " ".join(parts) + "\n")

    # --- rejected edits -------------------------------------------------------

    def write_errors(self, path: Path, message: str, when: float | None = None) -> Path:
        """Explain beside ``path`` why an edit of it was not applied."""
        stamp = iso(time.time() if when is None else when)
        text = (
            f"# Edit of {path.name} not applied\n\n{stamp}\n\n{message}\n\n"
            f"Fix {path.name} and save it again; this note disappears once an edit is applied.\n"
        )
        return self._write(errors_path(path), text)

    def clear_errors(self, path: Path) -> None:
        errors_path(path).unlink(missing_ok=True)
