"""The built-in offline composer: a prompt in, a Manim scene out, no network.

``compose`` is deterministic (the same prompt and arguments give the same
code), never writes a scene longer than ``max_duration_s``, and says in
plain words what it did and what it did not understand. It reads the prompt
with :mod:`core.codegen.prompt` and writes the scene with
:mod:`core.codegen.scene`; this module decides the duration and the summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.codegen.plan import Plan, Show, Words
from core.codegen.prompt import parse_prompt
from core.codegen.scene import SCENE_NAME, UNITS_PER_S, SceneWriter, split_units
from core.errors import InputError

__all__ = ["DEFAULT_DURATION_S", "MAX_STEPS", "Composition", "compose"]

DEFAULT_DURATION_S = 4.0
MAX_STEPS = 16            # a chat prompt, not a film
_SECONDS_PER_BEAT = 1.0   # for prompts with many steps and no duration
_HOLD_WEIGHT = 0.5        # the last frame is held a little, if time allows


@dataclass(frozen=True)
class Composition:
    code: str
    scene_name: str
    duration_s: float          # exactly the sum of the scene's run times and waits
    not_understood: list[str]
    summary: str


def compose(
    prompt: str,
    *,
    max_duration_s: float,
    duration_s: float | None = None,
    tex_available: bool,
) -> Composition:
    """Turn ``prompt`` into a scene of at most ``max_duration_s`` seconds.

    ``duration_s`` (the caller's explicit request) wins over a duration in the
    prompt, which wins over the default; all are clamped to the cap.
    """
    if not prompt or not prompt.strip():
        raise InputError("The prompt is empty.", hint="Describe the animation, e.g. 'a blue circle grows'.")
    if not max_duration_s > 0:
        raise InputError(f"The duration cap must be positive, not {max_duration_s!r}.")
    if duration_s is not None and not duration_s > 0:
        raise InputError(f"A duration must be a positive number of seconds, not {duration_s!r}.")
    plan = parse_prompt(prompt)
    if len(plan.steps) > MAX_STEPS:
        plan.notes.append(f"I kept the first {MAX_STEPS} steps of {len(plan.steps)}.")
        del plan.steps[MAX_STEPS:]
    fallback = not plan.steps
    if fallback:
        plan.steps.append(Show((Words(prompt.strip()),), "write"))
    writer = SceneWriter(tex=tex_available)
    for step in plan.steps:
        writer.add(step)
    if not writer.timed_beats():  # everything was skipped: show the prompt rather than nothing
        fallback = True
        writer.add(Show((Words(prompt.strip()),), "write"))
    beats = writer.timed_beats()

    notes = [*plan.notes, *writer.notes]
    requested = duration_s if duration_s is not None else plan.duration_s
    if requested is None:
        requested = max(DEFAULT_DURATION_S, _SECONDS_PER_BEAT * len(beats) + _HOLD_WEIGHT)
    if requested > max_duration_s:
        notes.append(f"I kept it to {max_duration_s:g} s, the longest this tier renders.")
    cap_units = math.floor(max_duration_s * UNITS_PER_S + 1e-9)
    total = max(1, min(cap_units, round(min(requested, max_duration_s) * UNITS_PER_S)))
    if total < len(beats):
        notes.append(f"Only the first {total} step(s) fit in {total / UNITS_PER_S:g} s.")
        _truncate(writer, total)
        beats = writer.timed_beats()
    weights = [b.weight for b in beats]
    hold = total > len(beats)
    units = split_units(weights + ([_HOLD_WEIGHT] if hold else []), total)
    hold_units = units.pop() if hold else 0
    code = writer.code(units, hold_units)

    seconds = total / UNITS_PER_S
    return Composition(
        code=code,
        scene_name=SCENE_NAME,
        duration_s=seconds,
        not_understood=list(plan.not_understood),
        summary=_summary(seconds, [b.description for b in beats], plan, notes, fallback),
    )


def _truncate(writer: SceneWriter, keep: int) -> None:
    """Drop beats after the ``keep``-th timed one (and their setup lines)."""
    kept, timed = [], 0
    for beat in writer.beats:
        if beat.animations:
            if timed == keep:
                break
            timed += 1
        kept.append(beat)
    writer.beats = kept


def _summary(seconds: float, descriptions: list[str], plan: Plan, notes: list[str], fallback: bool) -> str:
    if fallback:
        parts = [f"A {seconds:g} s scene showing your prompt as text: I did not find anything I can animate in it."]
    else:
        parts = [f"A {seconds:g} s scene: " + "; then ".join(descriptions) + "."]
    if plan.not_understood:
        parts.append("I did not understand: " + ", ".join(repr(w) for w in plan.not_understood) + ".")
    parts.extend(notes)
    return " ".join(parts)
