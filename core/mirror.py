"""The Markdown projection of framecast's state: what people read (and a little they edit).

SQLite is the index and the authority; these files are a copy for people.
Every record file is a *projection* of rows, written atomically (a temp file
in the same folder, then ``os.replace``), so a reader or the watcher never
sees half a file. They are not fsync'd: a process crash loses nothing (the
kernel has the data), and after a machine crash :func:`core.rebuild.rebuild` (``framecast
mirror rebuild``, run by the App on the first start after an unclean stop)
rewrites every projection, audit copy included, from SQLite. That is what
makes skipping a 0.5 ms fsync per file honest. The
mirror remembers the SHA-256 of the content of its own last write per path,
so :mod:`core.watcher` can tell its echoes from human edits (for the editable
users/ and contexts/ files, the only ones it watches). Logs and the
audit copy are appended, never rewritten; chat logs exist nowhere else, so
:meth:`Mirror.sync` fsyncs the files appended to since its last call, which
the App does every second and at stop (group commit: one fsync per file and
second instead of one per line).

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

import asyncio
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from core.errors import InputError
from core.models import Approval, AuditEntry, Context, Identity, Job, MemoryItem, Project, User

__all__ = [
    "Mirror",
    "audit_line",
    "errors_path",
    "iso",
    "parse_front_matter",
    "render_front_matter",
    "safe_part",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")
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


def _in_folder(path: Path, create: Callable[[], _T]) -> _T:
    """Run ``create`` (which makes a file beside ``path``), making the folder only when missing.

    Trying first saves the mkdir system calls on every write but a folder's first.
    """
    try:
        return create()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return create()


class _Writer:
    """One thread that writes deferred projections, newest content per path, in arrival order.

    A path written twice before the thread gets to it is written once (a job
    queued and finished within a few ms costs one file write). ``None`` content
    removes the file. What has not been written when the process dies is
    restored by :func:`rebuild`.
    """

    def __init__(self, write: Callable[[Path, str], Path]) -> None:
        self._write = write
        self._pending: dict[Path, str | None] = {}
        self._busy = False
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="framecast-mirror", daemon=True)
        self._thread.start()

    def put(self, path: Path, text: str | None) -> None:
        with self._changed:
            self._pending.pop(path, None)  # re-inserted last: keeps the order of latest writes
            self._pending[path] = text
            self._changed.notify_all()

    def flush(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not self._pending and not self._busy)

    def close(self) -> None:
        self.flush()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                batch, self._pending, self._busy = self._pending, {}, True
            for path, text in batch.items():
                try:
                    if text is None:
                        path.unlink(missing_ok=True)
                    else:
                        self._write(path, text)
                except OSError:  # a full disk loses a copy, never the state: rebuild restores it
                    log.exception("could not write %s", path)
            with self._changed:
                self._busy = False
                self._changed.notify_all()


def audit_line(entry: AuditEntry) -> str:
    parts = [
        f"- #{entry.seq}", iso(entry.ts), _scalar(entry.actor), f"`{entry.action}`", _scalar(entry.target)
    ]
    if entry.detail:
        parts.append(json.dumps(entry.detail, sort_keys=True))
    parts.append(f"(hash {entry.hash[:16]})")
    return " ".join(parts) + "\n"


class Mirror:
    """Writes the Markdown copy of the state under ``data_dir``."""

    def __init__(self, data_dir: Path, *, deferred: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        # With ``deferred``, read-only projections (jobs, approvals, memory) are written by a
        # thread, off the event loop: on ext4 creating or replacing a small file costs
        # 0.2-0.7 ms, the largest part of a job's overhead. Editable files stay synchronous.
        self._writer = _Writer(self.write) if deferred else None
        self._own: dict[Path, str] = {}
        self._fields: dict[Path, dict[str, str]] = {}
        self._unsynced: set[Path] = set()  # appended to since the last sync()
        self._sync_lock = threading.Lock()

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

    def write(self, path: Path, text: str, editable: Mapping[str, Any] | None = None) -> Path:
        """Atomically replace ``path``; for an editable file remember its hash and fields.

        Only users/ and contexts/ files are watched for edits, so only theirs are
        remembered: the memory stays bounded by people and chats, not by jobs.
        """
        content = text.encode("utf-8")
        fd, tmp = _in_folder(
            path, lambda: tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        )
        try:
            try:
                os.fchmod(fd, 0o644)
                os.write(fd, content)
            finally:
                os.close(fd)
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
        if self._writer is not None and not editable:
            self._writer.put(path, text)
            return path
        return self.write(path, text, fields if editable else None)

    def _append(self, path: Path, header: str, text: str) -> Path:
        fd = _in_folder(path, lambda: os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        try:
            chunk = (header if os.fstat(fd).st_size == 0 else "") + text
            os.write(fd, chunk.encode("utf-8"))
        finally:
            os.close(fd)
        with self._sync_lock:
            self._unsynced.add(path)
        return path

    def sync(self) -> int:
        """fsync every file appended to since the last call; the number synced.

        Safe to call from a worker thread while the event loop keeps appending:
        a file appended to meanwhile is simply synced again next time.
        """
        with self._sync_lock:
            paths, self._unsynced = self._unsynced, set()
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # removed by hand meanwhile: nothing to keep
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return len(paths)

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
        path = self.folder(workspace, "memory") / f"{safe_part(project_id)}.md"
        if self._writer is not None:
            self._writer.put(path, None)  # after any write of it still waiting
        else:
            path.unlink(missing_ok=True)

    def flush(self) -> None:
        """Wait until every deferred write has reached the files (a no-op without ``deferred``)."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush, then stop the writer thread. The mirror writes synchronously afterwards."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    # --- appended logs --------------------------------------------------------

    def append_log(self, workspace: str, connector: str, chat: str, line: str) -> Path:
        path = self.folder(workspace, "logs", connector) / f"{safe_part(chat)}.md"
        first, *rest = line.rstrip("\n").split("\n")
        item = "".join([f"- {first}\n", *(f"  {more}\n" for more in rest)])
        return self._append(path, f"# {connector} chat {chat}\n\n", item)

    def append_audit(self, entry: AuditEntry) -> Path:
        path, header = self.audit_file(entry)
        return self._append(path, header, audit_line(entry))

    def audit_file(self, entry: AuditEntry) -> tuple[Path, str]:
        day = datetime.fromtimestamp(entry.ts, UTC).strftime("%Y-%m-%d")
        header = (
            f"# Audit {day}\n\nA copy for people. The SQLite `audit` table is authoritative;\n"
            "check it with `framecast audit verify`.\n\n"
        )
        return self.folder(entry.workspace, "audit") / f"{day}.md", header

    def user_files(self) -> list[tuple[str, str]]:
        """(workspace, user id) of every users/<user>.md on disk, whoever wrote it."""
        found = []
        for path in self.data_dir.glob("*/users/*.md"):
            if not path.name.endswith(".errors.md"):
                found.append((unquote(path.parent.parent.name), unquote(path.name.removesuffix(".md"))))
        return found

    # --- rejected edits -------------------------------------------------------

    def write_errors(self, path: Path, message: str, when: float | None = None) -> Path:
        """Explain beside ``path`` why an edit of it was not applied."""
        stamp = iso(time.time() if when is None else when)
        text = (
            f"# Edit of {path.name} not applied\n\n{stamp}\n\n{message}\n\n"
            f"Fix {path.name} and save it again; this note disappears once an edit is applied.\n"
        )
        return self.write(errors_path(path), text)

    def clear_errors(self, path: Path) -> None:
        errors_path(path).unlink(missing_ok=True)
