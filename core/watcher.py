"""Applies human edits of the mirrored Markdown back to the state.

Only two things are editable: a user's ``tier:`` (users/<user>.md) and a
context's ``policy.*`` lines (contexts/<connector>/<chat>.md). The watcher
turns such an edit into a :class:`MirrorEdit` and hands it to ``apply``,
which the app wires to the orchestrator so the same rules, permissions and
audit as the TUI apply. The mirror's own writes are recognised by their
content hash and ignored. A malformed or refused edit never stops the
service: the reason goes into ``<name>.errors.md`` beside the file, which is
removed again once an edit of that file is applied.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from watchfiles import Change, awatch

from core.audit import Audit
from core.errors import FramecastError, InputError
from core.mirror import Mirror, parse_front_matter
from core.renders import check_policy_value

__all__ = ["EditKind", "MirrorEdit", "MirrorWatcher", "parse_policy_value"]

log = logging.getLogger(__name__)

EditKind = Literal["user_tier", "context_policy"]
TIERS = ("free", "premium")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class MirrorEdit:
    """One human edit: a tier (``value`` is "free"/"premium") or a policy (``value`` is a dict)."""

    kind: EditKind
    workspace: str
    target_id: str
    value: Any
    path: Path


def parse_policy_value(key: str, raw: str) -> bool | int | float | str:
    """A ``policy.<key>`` value: true/false, a number or text; known keys are checked."""
    value: bool | int | float | str
    if raw in ("true", "false"):
        value = raw == "true"
    elif _NUMBER.match(raw):
        value = float(raw) if "." in raw else int(raw)
    else:
        value = raw
    check_policy_value(key, value)
    return value


def _policy(fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        key.removeprefix("policy."): parse_policy_value(key.removeprefix("policy."), raw)
        for key, raw in fields.items()
        if key.startswith("policy.") and raw != ""
    }


def _read_only_changes(
    fields: Mapping[str, str], known: Mapping[str, str], editable: Callable[[str], bool]
) -> list[str]:
    keys = set(fields) | set(known)
    return sorted(k for k in keys if not editable(k) and fields.get(k) != known.get(k))


class MirrorWatcher:
    """Watches the data dir and applies edits of users/ and contexts/ files."""

    def __init__(
        self,
        mirror: Mirror,
        apply: Callable[[MirrorEdit], Awaitable[None]],
        *,
        audit: Audit | None = None,
        debounce_ms: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.mirror = mirror
        self._apply = apply
        self._audit = audit
        self._debounce_ms = debounce_ms
        self._clock = clock
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return (within a few tens of milliseconds)."""
        self._stop.set()

    async def run(self) -> None:
        """Watch until :meth:`stop` or cancellation; ``ready`` is set once watching."""
        root = self.mirror.data_dir
        root.mkdir(parents=True, exist_ok=True)
        try:
            # rust_timeout bounds how long a cancellation waits for the watch thread;
            # the first (possibly empty) yield tells us the watch is in place.
            async for changes in awatch(
                root,
                watch_filter=lambda change, path: path.endswith(".md"),
                debounce=self._debounce_ms,
                step=self._debounce_ms,
                stop_event=self._stop,
                rust_timeout=500,
                yield_on_timeout=True,
            ):
                self.ready.set()
                for path in sorted({Path(p) for change, p in changes if change != Change.deleted}):
                    await self.handle(path)
        finally:
            self._stop.set()
            self.ready.clear()

    async def handle(self, path: Path) -> None:
        """Look at one changed file; apply, reject or ignore it. Never raises."""
        try:
            edit = self._edit_of(path)
        except FramecastError as exc:
            await self._reject(path, exc)
            return
        except OSError as exc:  # vanished or unreadable between the event and now
            log.debug("mirror watcher skipped %s: %s", path, exc)
            return
        if edit is None:
            return
        try:
            await self._apply(edit)
        except FramecastError as exc:
            await self._reject(path, exc)
            return
        except Exception:  # a bug behind apply must not stop the watcher
            log.exception("applying the edit of %s failed", path)
            await self._reject(path, FramecastError("The edit could not be applied (internal error)."))
            return
        self.mirror.clear_errors(path)
        await self._record("mirror.edit", edit.target_id, edit.workspace, path, {"kind": edit.kind})

    def _edit_of(self, path: Path) -> MirrorEdit | None:
        """The edit a changed file asks for; None for echoes, other files and no-ops."""
        try:
            parts = path.resolve().relative_to(self.mirror.data_dir).parts
        except ValueError:
            return None
        if len(parts) < 3 or parts[1] not in ("users", "contexts") or path.name.endswith(".errors.md"):
            return None
        content = path.read_bytes()
        if self.mirror.is_own(path, content):
            return None
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("The file is not valid UTF-8 text.") from exc
        fields, _body = parse_front_matter(text)
        target = fields.get("id", "")
        if not target:
            raise InputError("The front matter has no 'id:' line.")
        known = self.mirror.known_fields(path)
        kind: EditKind
        if parts[1] == "users":
            kind, editable = "user_tier", (lambda key: key == "tier")
            value: Any = fields.get("tier", "")
            if value not in TIERS:
                raise InputError(f"tier must be one of {', '.join(TIERS)}, not {value!r}.")
            unchanged = known is not None and known.get("tier") == value
        else:
            kind, editable = "context_policy", (lambda key: key.startswith("policy."))
            value = _policy(fields)
            unchanged = known is not None and _policy(known) == value
        if known is not None:
            locked = _read_only_changes(fields, known, editable)
            if locked:
                raise InputError(
                    f"Read-only field(s) changed: {', '.join(locked)}. Only "
                    f"{'tier' if kind == 'user_tier' else 'the policy.* lines'} can be edited here."
                )
        if unchanged:
            self.mirror.clear_errors(path)  # e.g. a bad edit was reverted by hand
            return None
        return MirrorEdit(kind, parts[0], target, value, path)

    async def _reject(self, path: Path, exc: FramecastError) -> None:
        message = exc.message + (f"\n\nHint: {exc.hint}" if exc.hint else "")
        log.info("mirror edit of %s rejected: %s", path, exc.message)
        workspace = path.resolve().relative_to(self.mirror.data_dir).parts[0]
        # Audited first: whoever sees the note can find the rejection in the log.
        await self._record("mirror.edit_rejected", path.stem, workspace, path, {"error": exc.code})
        try:
            self.mirror.write_errors(path, message, self._clock())
        except OSError:
            log.exception("could not write the errors note for %s", path)

    async def _record(
        self, action: str, target: str, workspace: str, path: Path, detail: dict[str, Any]
    ) -> None:
        if self._audit is None:
            return
        relative = path.resolve().relative_to(self.mirror.data_dir).as_posix()
        try:
            await self._audit.record("system:mirror", action, target, workspace=workspace,
                                     detail={"path": relative, **detail})
        except Exception:  # auditing must not take the watcher down either
            log.exception("could not audit %s of %s", action, path)
