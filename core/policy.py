"""Pure tier rules from the runtime contract (SPEC §2). No I/O here.

The numbers are the contract's; operators may override them through
``Settings.tiers`` (tests shorten wall times that way), but the defaults
below are what the product promises.
"""

from __future__ import annotations

from enum import StrEnum

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import DurationError, InputError

__all__ = [
    "TRIAL_NOTICE",
    "Tier",
    "TierSpec",
    "TierTable",
    "check_duration",
    "over_duration_message",
]

TRIAL_NOTICE = "Your 30s trial will include a watermark."


class Tier(StrEnum):
    FREE = "free"
    PREMIUM = "premium"
    TRIAL = "trial"


class TierSpec(BaseModel):
    """What one tier may do: the render preset and its limits."""

    model_config = ConfigDict(frozen=True)

    name: Tier
    label: str = Field(description="How the preset is named to users, e.g. 480p/24fps.")
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: int = Field(gt=0)
    max_duration_s: float = Field(gt=0, description="Longest video the tier may render.")
    compute_budget_s: float = Field(gt=0, description="Host-side budget: codegen, lint, repair.")
    wall_time_s: float = Field(gt=0, description="Sandbox wall time for the render itself.")
    watermark: bool = Field(description="Burn the watermark into every video of this tier.")
    ai_after_edit: bool = Field(description="AI assistance stays on after the user edits code.")


FREE = TierSpec(
    name=Tier.FREE, label="480p/24fps", width=854, height=480, fps=24,
    max_duration_s=8, compute_budget_s=10, wall_time_s=60,
    watermark=False, ai_after_edit=False,
)
PREMIUM = TierSpec(
    name=Tier.PREMIUM, label="1080p/24fps", width=1920, height=1080, fps=24,
    max_duration_s=30, compute_budget_s=30, wall_time_s=180,
    watermark=False, ai_after_edit=True,
)
TRIAL = TierSpec(
    name=Tier.TRIAL, label="1080p/24fps", width=1920, height=1080, fps=24,
    max_duration_s=30, compute_budget_s=10, wall_time_s=180,
    watermark=True, ai_after_edit=False,
)


class TierTable(BaseModel):
    """The three tiers; each may be overridden field by field from config."""

    free: TierSpec = FREE
    premium: TierSpec = PREMIUM
    trial: TierSpec = TRIAL

    @model_validator(mode="before")
    @classmethod
    def _merge_partial_overrides(cls, data: Any) -> Any:
        # Config may override one field of one tier (FRAMECAST_TIERS__FREE__WALL_TIME_S=5);
        # the rest of that tier keeps the contract's defaults.
        if not isinstance(data, dict):
            return data
        defaults = {"free": FREE, "premium": PREMIUM, "trial": TRIAL}
        merged: dict[str, Any] = {}
        for key, value in data.items():
            if key in defaults and isinstance(value, dict):
                merged[key] = TierSpec.model_validate({**defaults[key].model_dump(), **value})
            else:
                merged[key] = value
        return merged

    def get(self, tier: Tier | str) -> TierSpec:
        try:
            return getattr(self, Tier(tier).value)  # type: ignore[no-any-return]
        except ValueError:
            raise InputError(
                f"Unknown tier {tier!r}.", hint="Use one of: free, premium, trial."
            ) from None


def over_duration_message(spec: TierSpec) -> str:
    """The contract's refusal, naming the tier's own limits."""
    if spec.name is Tier.TRIAL:
        return f"Trial renders limited to {spec.max_duration_s:g}s at {spec.label}."
    return f"{spec.name.value.capitalize()} previews limited to {spec.max_duration_s:g}s at {spec.label}."


def check_duration(spec: TierSpec, requested_s: float | None) -> None:
    """Refuse a requested duration before any work is done."""
    if requested_s is None:
        return
    if requested_s != requested_s or requested_s <= 0:  # NaN or non-positive
        raise InputError(
            f"A duration must be a positive number of seconds, not {requested_s:g}.",
            hint=f"Try a duration between 1 and {spec.max_duration_s:g} seconds.",
        )
    if requested_s > spec.max_duration_s:
        raise DurationError(
            over_duration_message(spec),
            hint=(
                "Ask for a shorter animation"
                + ("" if spec.name is not Tier.FREE else ", request the one-off 30s trial")
                + ", or export the code and run it locally with manim for longer renders."
            ),
        )
