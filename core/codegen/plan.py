"""The plan of a scene: the things it shows and the steps it takes.

The prompt reader (:mod:`core.codegen.prompt`) produces a :class:`Plan`; the
scene writer (:mod:`core.codegen.scene`) turns it into code. Plans hold data
only: colours are manim constant names, text is the user's text as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.codegen.expression import Expr
from core.codegen.formula import Formula

__all__ = [
    "Act", "Count", "Math", "Morph", "Plan", "Plot", "Shape", "Show", "Step", "Thing", "Words",
]


@dataclass(frozen=True)
class Shape:
    kind: str            # circle, square, ..., polygon
    color: str | None    # a manim colour constant name
    count: int = 1
    sides: int = 6


@dataclass(frozen=True)
class Words:
    text: str
    color: str | None = None


@dataclass(frozen=True)
class Math:
    formula: Formula
    color: str | None = None


Thing = Shape | Words | Math


@dataclass(frozen=True)
class Show:
    things: tuple[Thing, ...]
    entrance: str = "default"  # default, fade, grow, create, write


@dataclass(frozen=True)
class Morph:
    things: tuple[Thing, ...]


@dataclass(frozen=True)
class Act:
    kind: str                 # rotate, move, scale, fade_out, indicate, circumscribe, wiggle, recolor
    amount: float = 0.0       # degrees, units, factor
    direction: tuple[float, float] = (0.0, 0.0)
    color: str | None = None


@dataclass(frozen=True)
class Count:
    start: float
    end: float
    decimals: int


@dataclass(frozen=True)
class Plot:
    expr: Expr
    x_min: float
    x_max: float
    color: str | None


Step = Show | Morph | Act | Count | Plot


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    duration_s: float | None = None
    not_understood: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
