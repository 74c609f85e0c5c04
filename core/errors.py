"""The one error hierarchy of framecast.

Every error carries a stable ``code`` (for JSON, logs and tests), the
user-facing ``message`` and an optional ``hint`` saying what to do next.
This module is the only place that maps failures to words; connectors, the
CLI and the admin API show ``message``/``hint`` as they are.

    FramecastError
    ├── InputError            E_INPUT       bad prompt, file, duration, argument
    ├── DurationError         E_DURATION    over the tier's duration cap
    ├── UnsafeCodeError       E_UNSAFE_CODE preflight refused the scene
    ├── BudgetError           E_BUDGET      host-side compute budget spent
    ├── RenderError           E_RENDER      the scene raised inside the sandbox
    │   ├── TimeoutError_     E_TIMEOUT     sandbox wall time exceeded
    │   └── MemoryError_      E_MEMORY      sandbox memory limit exceeded
    ├── OutputError           E_OUTPUT      the MP4 failed postflight checks
    ├── WatermarkError        E_WATERMARK   required watermark missing
    ├── SandboxUnavailable    E_SANDBOX_UNAVAILABLE
    ├── PermissionDenied      E_PERMISSION  RBAC refused the action
    ├── NotFound              E_NOT_FOUND
    ├── Conflict              E_CONFLICT    state does not allow it (trial used, ...)
    ├── RateLimited           E_RATE_LIMIT
    ├── Cancelled             E_CANCELLED
    └── AuthError             E_AUTH        identity, pairing or certificate problem
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "BudgetError",
    "Cancelled",
    "Conflict",
    "DurationError",
    "FramecastError",
    "InputError",
    "MemoryError_",
    "NotFound",
    "OutputError",
    "PermissionDenied",
    "RateLimited",
    "RenderError",
    "SandboxUnavailable",
    "TimeoutError_",
    "UnsafeCodeError",
    "WatermarkError",
]


class FramecastError(Exception):
    """Base class: ``code`` is stable, ``message`` and ``hint`` are for people."""

    code = "E_INTERNAL"
    default_message = "Something went wrong inside framecast."
    default_hint: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.hint = hint if hint is not None else self.default_hint
        # ``detail`` is for operators (logs, job records), never shown in chat.
        self.detail = detail
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


class InputError(FramecastError):
    code = "E_INPUT"
    default_message = "That input is not valid."


class DurationError(FramecastError):
    code = "E_DURATION"
    default_message = "Free previews limited to 8s at 480p/24fps."


class UnsafeCodeError(FramecastError):
    code = "E_UNSAFE_CODE"
    default_message = "The scene uses something that is not allowed."
    default_hint = "Use only manim and the allowed helper modules (math, numpy, random, ...)."


class BudgetError(FramecastError):
    code = "E_BUDGET"
    default_message = "Preparing the scene took longer than your tier's compute budget."


class RenderError(FramecastError):
    code = "E_RENDER"
    default_message = "The scene failed while rendering."


class TimeoutError_(RenderError):
    code = "E_TIMEOUT"
    default_message = "Render exceeded time limit."
    default_hint = "Shorten the animation or simplify the scene, or export the code and run it locally."


class MemoryError_(RenderError):
    code = "E_MEMORY"
    default_message = "Render exceeded the memory limit."
    default_hint = "Use fewer or simpler objects, or export the code and run it locally."


class OutputError(FramecastError):
    code = "E_OUTPUT"
    default_message = "The rendered video did not pass its checks."


class WatermarkError(FramecastError):
    code = "E_WATERMARK"
    default_message = "The required watermark is missing from the video, so it was not delivered."


class SandboxUnavailable(FramecastError):
    code = "E_SANDBOX_UNAVAILABLE"
    default_message = "The render sandbox (bubblewrap) is not available on this machine."
    default_hint = (
        "Install bubblewrap (apt-get install bubblewrap) and run `framecast doctor`; "
        "for local experiments only, FRAMECAST_SANDBOX__MODE=unsafe-local runs without isolation."
    )


class PermissionDenied(FramecastError):
    code = "E_PERMISSION"
    default_message = "You are not allowed to do that."


class NotFound(FramecastError):
    code = "E_NOT_FOUND"
    default_message = "No such thing."


class Conflict(FramecastError):
    code = "E_CONFLICT"
    default_message = "That cannot be done in the current state."


class RateLimited(FramecastError):
    code = "E_RATE_LIMIT"
    default_message = "Too many requests; please wait a moment."


class Cancelled(FramecastError):
    code = "E_CANCELLED"
    default_message = "The job was cancelled."


class AuthError(FramecastError):
    code = "E_AUTH"
    default_message = "Authentication failed."
