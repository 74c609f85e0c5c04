"""From what the sandbox and the harness reported to one framecast error.

The harness exits with a documented code and leaves a final JSON event
(``done`` or ``error``); the runner says whether it killed the job at the
wall time or the memory limit. This module turns that into the error a
person sees: short, with the scene's line, and for LaTeX the snippet, the
first TeX error and a hint, never the whole log.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import (
    DurationError,
    MemoryError_,
    OutputError,
    RenderError,
    TimeoutError_,
)
from core.policy import TierSpec, over_duration_message
from core.render import harness
from core.sandbox.job import SandboxResult

__all__ = ["map_sandbox_result", "tex_hint"]

_SNIPPET_CHARS = 160


def map_sandbox_result(result: SandboxResult, final: dict[str, Any], spec: TierSpec) -> None:
    """Raise the error that ``result`` and the harness's last event amount to; return if all went well."""
    if result.timed_out:
        raise TimeoutError_(detail=f"killed after {result.wall_s:.1f}s")
    if result.memory_exceeded:
        raise MemoryError_(detail=f"peak RSS {result.max_rss_bytes >> 20} MB")
    code = result.exit_code
    if code == harness.EXIT_OK and final.get("type") == "done":
        return
    kind = final.get("kind")
    where = f"line {final['line']}: " if final.get("line") else ""
    if code == harness.EXIT_DURATION or kind == "duration":
        raise DurationError(
            over_duration_message(spec),
            hint=f"The scene's animations add up to more than {spec.max_duration_s:g}s; "
            "shorten run_time or wait() calls, or export the code and run it locally.",
            detail=final.get("message"),
        )
    if code == harness.EXIT_TEX or kind == "tex":
        snippet = " ".join(str(final.get("snippet", "")).split())
        if len(snippet) > _SNIPPET_CHARS:
            snippet = snippet[:_SNIPPET_CHARS] + "…"
        error = final.get("message", "LaTeX failed.")
        raise RenderError(
            f"{where}LaTeX could not typeset '{snippet}': {error}",
            hint=tex_hint(error, str(final.get("context", ""))),
            detail=str(final.get("context", "")),
        )
    if code == harness.EXIT_SCENE or kind == "scene":
        raise RenderError(
            f"{where}{final.get('message', 'the scene raised an error.')}",
            hint="Fix the scene's code and render again.",
            detail=result.stderr_tail,
        )
    if code == harness.EXIT_OUTPUT or kind == "output":
        raise OutputError(
            "The scene rendered no video.",
            hint="Make sure construct() plays at least one animation or wait().",
            detail=result.stderr_tail,
        )
    how = f"signal {result.signal}" if result.signal else f"exit status {code}"
    raise RenderError(
        f"The render stopped unexpectedly ({how}).",
        hint="Try again; if it keeps failing, simplify the scene.",
        detail=result.stderr_tail,
    )


def tex_hint(error: str, context: str) -> str:
    """A one-line hint for the usual LaTeX mistakes."""
    if "Undefined control sequence" in error:
        # TeX breaks the context line right after the unknown command.
        first = context.splitlines()[0] if context else ""
        match = re.search(r"(\\[A-Za-z@]+)\s*$", first) or re.search(r"(\\[A-Za-z@]+)", first)
        command = match.group(1) if match else "a command"
        return f"unknown command {command}: check its spelling, or use a standard LaTeX command."
    if "Missing $" in error:
        return "missing $: math (^, _, \\frac, Greek letters) must be in math mode; use MathTex, or $...$ inside Tex."
    if re.search(r"Missing [{}] inserted|Extra [{}]|Runaway argument|Extra alignment", error):
        return "unbalanced braces or alignment: check that every { has its } and every & is inside an aligned block."
    missing = re.search(r"File `([^']+)' not found", error)
    if missing and "/" in missing.group(1):
        return "TeX may only read the job's own files; \\input of other files is refused."
    if missing:
        return f"the LaTeX file {missing.group(1)} is not installed here; use standard packages only."
    return "Check the LaTeX in this snippet; MathTex takes the math without surrounding $."
