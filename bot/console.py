"""The console connector: a chat REPL on the same command/event API as Discord and Telegram.

Thin on purpose: a line becomes a command (``parse``), the reply and every
event become text (``describe``). Nothing here knows a rule; refusals are
``FramecastError`` messages shown as they are. It reads stdin line by line
whether or not it is a terminal, so a script can be piped into it; at the
end of input it waits for the renders it started, then exits.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from core.app import App
from core.commands import (
    Actor,
    AddNote,
    ApprovalDecided,
    ApprovalRequested,
    Approve,
    Banner,
    Cancel,
    ClearMemory,
    Command,
    Deny,
    EditCode,
    Event,
    JobCancelled,
    JobDone,
    JobFailed,
    JobProgress,
    JobQueued,
    JobStarted,
    ListApprovals,
    ListJobs,
    ListUsers,
    NewSession,
    Notice,
    Render,
    RequestPairing,
    RequestTrial,
    SetRole,
    SetTier,
    ShowCode,
    UserChanged,
)
from core.errors import FramecastError, InputError
from core.models import ApprovalState

__all__ = ["HELP", "Console", "describe", "parse", "stdin_lines"]

HELP = """\
/render <prompt>            render a prompt, e.g. /render a blue circle in 3 seconds
/render --code-file PATH    render your own scene file
/code                       show the session's current code
/edit                       paste new code, end with a line containing only "."
/edit --code-file PATH      replace the session's code with a file
/trial <prompt>             ask for the one-off 30s trial (needs an operator's approval)
/memory clear               forget this project's memory      /note <text>  remember a note
/session new                start a new session (turns AI assistance back on)
/pair                       get a pairing code for staff
/jobs   /cancel <job id>
/as admin | /as me          act as the local admin (local-only convenience) or as yourself
staff: /approvals  /approve <id>  /deny <id> <reason>  /users  /tier <user> free|premium  /role <user> <role>
/help   /quit"""


class NeedsCode(Exception):
    """``/edit`` without a file: the following lines, up to ".", are the code."""


def _code_file(args: list[str]) -> str | None:
    if len(args) >= 2 and args[0] == "--code-file":
        try:
            return Path(args[1]).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot read {args[1]}: {exc.strerror}.") from None
    return None


def parse(line: str, actor: Actor) -> Command:
    """One console line -> one command (InputError for what it cannot read)."""
    name, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    args = shlex.split(rest) if rest else []
    simple: dict[str, Callable[[], Command]] = {
        "/code": lambda: ShowCode(actor),
        "/pair": lambda: RequestPairing(actor),
        "/jobs": lambda: ListJobs(actor),
        "/users": lambda: ListUsers(actor),
        "/approvals": lambda: ListApprovals(actor, ApprovalState.PENDING),
        "/trial": lambda: RequestTrial(actor, rest),
        "/note": lambda: AddNote(actor, rest),
    }
    if name in simple:
        return simple[name]()
    if name == "/render":
        code = _code_file(args)
        return Render(actor, code=code) if code is not None else Render(actor, prompt=rest)
    if name == "/edit":
        code = _code_file(args)
        if code is None:
            raise NeedsCode
        return EditCode(actor, code)
    if name == "/memory" and args == ["clear"]:
        return ClearMemory(actor)
    if name == "/session" and args == ["new"]:
        return NewSession(actor)
    if name in ("/approve", "/cancel") and len(args) == 1:
        return Approve(actor, args[0]) if name == "/approve" else Cancel(actor, args[0])
    if name == "/deny" and args:
        return Deny(actor, args[0], rest[len(args[0]):].strip())
    if name == "/tier" and len(args) == 2:
        return SetTier(actor, args[0], args[1])
    if name == "/role" and len(args) in (2, 3):
        return SetRole(actor, args[0], args[1], args[2] if len(args) == 3 else None)
    raise InputError(f"I do not know {line.strip()!r}.", hint="Type /help for the commands.")


def describe(event: Event) -> str | None:
    """One event -> the text the console prints (None: nothing worth a line)."""
    tag = f"[job {event.job_id}]"
    match event:
        case JobQueued(position=position):
            return f"{tag} queued, position {position}"
        case JobStarted(attempt=attempt):
            return f"{tag} started" + (f" (attempt {attempt})" if attempt > 1 else "")
        case JobProgress(stage=stage, percent=percent, detail=detail):
            return " ".join(
                [f"{tag} {stage}", *([detail] if detail else []), *([f"{percent:.0f}%"] if percent is not None else [])]
            )
        case JobDone(video=video, record=record, duration_s=seconds, watermarked=marked):
            mark = ", watermarked" if marked else ""
            return f"{tag} done ({seconds:g} s{mark})\n  video:  {video}\n  record: {record}"
        case JobFailed(code=code, message=message, hint=hint):
            return f"{tag} failed: {code} {message}" + (f"\n  hint: {hint}" if hint else "")
        case JobCancelled():
            return f"{tag} cancelled"
        case Banner(text=text):
            return f"*** {text} ***"
        case Notice(text=text):
            return f"notice: {text}"
        case ApprovalRequested(approval=a):
            return (f"[approval {a.id}] {a.kind} requested by {a.user_id}: {a.payload.get('prompt', '')}"
                    f"\n  /approve {a.id}  or  /deny {a.id} <reason>")
        case ApprovalDecided(approval=a):
            return f"[approval {a.id}] {a.state.value}"
        case UserChanged(user=u):
            return f"[user {u.id}] role {u.role.value}, tier {u.tier}"
    return None


@dataclass
class Console:
    """The REPL of one person at one terminal; ``actor`` switches with ``/as``."""

    app: App
    me: Actor
    out: TextIO = field(default_factory=lambda: sys.stdout)
    actor: Actor | None = None
    _mine: set[str] = field(default_factory=set)  # this chat's queued jobs not finished yet
    _settled: asyncio.Event = field(default_factory=asyncio.Event)
    _staff: bool = False
    _printer: asyncio.Task[None] | None = None

    def say(self, text: str) -> None:
        self.out.write(text.rstrip("\n") + "\n")
        self.out.flush()

    async def run(self, lines: asyncio.Queue[str | None]) -> None:
        """Read commands until /quit or the end of input; print events meanwhile."""
        self.actor = self.actor or self.me
        await self._listen()
        try:
            while (line := await lines.get()) is not None:
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                if text == "/quit":
                    return
                await self.line(text, lines)
            await self._wait_for_jobs()
        finally:
            await self._stop_listening()

    async def line(self, text: str, lines: asyncio.Queue[str | None]) -> None:
        assert self.actor is not None
        if text == "/help":
            self.say(HELP)
        elif text in ("/as admin", "/as me"):
            self.actor = await self.app.local_admin(self.me.chat) if text == "/as admin" else self.me
            self._staff = text == "/as admin"
            await self._listen()  # staff also see approval requests and everyone's jobs
            self.say(f"You are now {self.actor.display_name}.")
        else:
            try:
                cmd = parse(text, self.actor)
            except NeedsCode:
                cmd = EditCode(self.actor, await self._read_code(lines))
            except FramecastError as exc:
                self.say(_refusal("error", exc))
                return
            await self.execute(cmd)

    async def execute(self, cmd: Command) -> None:
        try:
            reply = await self.app.orchestrator.execute(cmd)
        except FramecastError as exc:
            self.say(_refusal("refused", exc))
            return
        self.say(reply.text)

    async def _read_code(self, lines: asyncio.Queue[str | None]) -> str:
        body: list[str] = []
        while (line := await lines.get()) is not None and line.rstrip("\n") != ".":
            body.append(line.rstrip("\n"))
        return "\n".join(body) + "\n"

    async def _listen(self) -> None:
        """(Re)subscribe for the current identity; returns once subscribed."""
        await self._stop_listening()
        ready = asyncio.Event()
        self._printer = asyncio.create_task(self._print_events(ready))
        await ready.wait()

    async def _stop_listening(self) -> None:
        if self._printer is not None:
            self._printer.cancel()
            await asyncio.gather(self._printer, return_exceptions=True)
            self._printer = None

    async def _print_events(self, ready: asyncio.Event) -> None:
        me, _ = await self.app.orchestrator.resolve_actor(self.me)
        async with self.app.orchestrator.subscribe(
            user_id=me.id, context_id=self.me.context_id, staff=self._staff
        ) as events:
            ready.set()
            async for event in events:
                self._track(event)
                text = describe(event)
                if text is not None:
                    self.say(text)

    def _track(self, event: Event) -> None:
        if event.job_id is None or event.context_id != self.me.context_id:
            return
        if isinstance(event, JobQueued):
            self._mine.add(event.job_id)
        elif isinstance(event, (JobDone, JobFailed, JobCancelled)):
            self._mine.discard(event.job_id)
            self._settled.set()

    async def _wait_for_jobs(self) -> None:
        """At the end of input, let this chat's renders finish before exiting."""
        if self._mine:
            self.say(f"waiting for {len(self._mine)} job(s) to finish...")
        while self._mine:
            self._settled.clear()
            await self._settled.wait()


def _refusal(kind: str, exc: FramecastError) -> str:
    return f"{kind}: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else "")


async def stdin_lines(stream: TextIO) -> asyncio.Queue[str | None]:
    """Lines of ``stream`` (terminal or pipe) on a queue; None marks the end."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in stream:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    return lines
