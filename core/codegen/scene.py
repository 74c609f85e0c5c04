"""Writing a plan as a Manim scene, with its time split exactly.

Each step becomes one or two *beats* (one ``self.play`` each) with a
weight; the total duration is cut into eighths of a second and shared out by
weight, so every ``run_time`` is a multiple of 1/8 s. At 24 fps that is a
whole number of frames (3 per eighth), so the video is exactly as long as
the sum of the run times and waits, which is what postflight checks.

User text enters the code only through ``repr()`` of a ``str`` (a Python
string literal), TeX only from the formula table or a formula that passed
``formula.user_formula``; colours are manim constant names from the
vocabulary and numbers are written from floats.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

from core.codegen.formula import Formula
from core.codegen.plan import Act, Count, Math, Morph, Plot, Shape, Show, Step, Thing, Words

__all__ = ["SCENE_NAME", "Beat", "SceneWriter", "split_units"]

SCENE_NAME = "ComposedScene"
UNITS_PER_S = 8  # run times are multiples of 1/8 s: 3 frames at 24 fps

_SHAPE_CODE = {
    "circle": "Circle(radius=1.5{style})",
    "square": "Square(side_length=3{style})",
    "rectangle": "Rectangle(width=4.5, height=2.5{style})",
    "triangle": "Triangle({style0}).scale(1.8)",
    "star": "Star(outer_radius=1.8{style})",
    "hexagon": "RegularPolygon(n=6{style}).scale(1.6)",
    "pentagon": "RegularPolygon(n=5{style}).scale(1.6)",
    "octagon": "RegularPolygon(n=8{style}).scale(1.6)",
    "polygon": "RegularPolygon(n={sides}{style}).scale(1.6)",
    "ellipse": "Ellipse(width=4.5, height=2.5{style})",
    "arrow": "Arrow(LEFT * 2, RIGHT * 2{stroke})",
    "line": "Line(LEFT * 2.5, RIGHT * 2.5{stroke})",
    "dot": "Dot(radius=0.2{stroke})",
}
_HIGHLIGHT_WORDS = {"indicate": "it is highlighted", "circumscribe": "it is circled", "wiggle": "it wiggles"}
_DIRECTION_WORDS = {"left": (-1, 0), "right": (1, 0), "up": (0, 1), "down": (0, -1)}
_FIT = '''

def fit(mobject, width=12.0, height=6.5):
    """Keep the mobject inside the frame."""
    if mobject.width > width:
        mobject.scale_to_fit_width(width)
    if mobject.height > height:
        mobject.scale_to_fit_height(height)
    return mobject
'''


@dataclass
class Beat:
    """One ``self.play``: the lines before it, its animations and its share of time."""

    setup: list[str]
    animations: list[str]
    weight: float
    description: str
    after: list[str] = field(default_factory=list)
    linear: bool = False


class SceneWriter:
    def __init__(self, *, tex: bool) -> None:
        self.tex = tex
        self.beats: list[Beat] = []
        self.notes: list[str] = []
        self.current: str | None = None
        self.uses_numpy = False
        self._names = 0

    def name(self, stem: str = "m") -> str:
        self._names += 1
        return f"{stem}{self._names}"

    def add(self, step: Step) -> None:
        if isinstance(step, Show):
            self.show(step.things, step.entrance)
        elif isinstance(step, Morph):
            self.morph(step.things)
        elif isinstance(step, Act):
            self.act(step)
        elif isinstance(step, Count):
            self.count(step)
        else:
            self.plot(step)

    # ---- things -------------------------------------------------------
    def thing_code(self, thing: Thing) -> tuple[str, str]:
        """(expression, description) of one thing."""
        if isinstance(thing, Shape):
            color = thing.color or "BLUE"
            one = _SHAPE_CODE[thing.kind].format(
                style=f", color={color}, fill_opacity=0.5", style0=f"color={color}, fill_opacity=0.5",
                stroke=f", color={color}", sides=max(3, min(12, thing.sides)),
            )
            name = thing.kind if thing.kind != "polygon" else f"{thing.sides}-sided polygon"
            colour_word = f"{thing.color.lower().replace('_', ' ')} " if thing.color else ""
            if thing.count > 1:
                return (f"VGroup(*[{one} for _ in range({thing.count})]).arrange(RIGHT, buff=0.4)",
                        f"{thing.count} {colour_word}{name}s")
            article = "an" if (colour_word or name)[0] in "aeiou" else "a"
            return one, f"{article} {colour_word}{name}"
        color = f", color={thing.color}" if thing.color else ""
        if isinstance(thing, Words):
            text = _wrap(thing.text)
            return f"Text({text!r}, font_size=48{color})", f"the text {thing.text!r}"
        formula = thing.formula
        label = formula.name if formula.from_table else f"the formula {formula.text!r}"
        if self.tex and formula.tex:
            return f"MathTex({formula.tex!r}, font_size=64{color})", label
        return f"Text({_wrap(formula.text)!r}, font_size=48{color})", f"{label} (as plain text)"

    def group_code(self, things: tuple[Thing, ...]) -> tuple[str, str, bool]:
        parts = [self.thing_code(t) for t in things]
        all_shapes = all(isinstance(t, Shape) for t in things)
        if len(parts) == 1:
            return parts[0][0], parts[0][1], all_shapes
        direction = "RIGHT" if all_shapes else "DOWN"
        code = f"VGroup({', '.join(p[0] for p in parts)}).arrange({direction}, buff=0.6)"
        return code, " and ".join(p[1] for p in parts), all_shapes

    def show(self, things: tuple[Thing, ...], entrance: str) -> None:
        code, description, all_shapes = self.group_code(things)
        var = self.name()
        anim = {"fade": "FadeIn", "grow": "GrowFromCenter", "create": "Create", "write": "Write"}.get(
            entrance, "Create" if all_shapes else "Write")
        plural = len(things) > 1 or any(isinstance(t, Shape) and t.count > 1 for t in things)
        verb = {"FadeIn": ("fades in", "fade in"), "GrowFromCenter": ("grows", "grow"),
                "Create": ("is drawn", "are drawn"), "Write": ("is written", "are written")}[anim][plural]
        self.enter(var, code, f"{anim}({var})", 1.0, f"{description} {verb}")

    def enter(self, var: str, code: str, animation: str, weight: float, description: str,
              before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> None:
        """A new thing replaces whatever is on screen."""
        animations = [f"FadeOut({self.current})"] if self.current else []
        self.beats.append(Beat([*before, f"{var} = fit({code})", *after],
                               [*animations, animation], weight, description))
        self.current = var

    def morph(self, things: tuple[Thing, ...]) -> None:
        if self.current is None:
            self.show(things, "default")
            return
        code, description, _ = self.group_code(things)
        var = self.name()
        self.beats.append(Beat([f"{var} = fit({code})"], [f"ReplacementTransform({self.current}, {var})"],
                               1.0, f"it turns into {description}"))
        self.current = var

    def act(self, act: Act) -> None:
        if self.current is None:
            self.notes.append(f"There was nothing on screen when asked to {act.kind.replace('_', ' ')}; I skipped it.")
            return
        cur = self.current
        if act.kind == "rotate":
            anim = f"Rotate({cur}, angle={act.amount!r} * DEGREES)"
            words = f"it rotates by {act.amount:g}°"
        elif act.kind == "move":
            dx, dy = (act.amount * d for d in act.direction)
            anim = f"{cur}.animate.shift(RIGHT * {dx!r} + UP * {dy!r})"
            words = "it moves " + " and ".join(
                name for name, (x, y) in _DIRECTION_WORDS.items() if x * dx > 0 or y * dy > 0)
        elif act.kind == "scale":
            anim = f"{cur}.animate.scale({act.amount!r})"
            words = "it grows" if act.amount > 1 else "it shrinks"
        elif act.kind == "recolor":
            anim = f"{cur}.animate.set_color({act.color})"
            words = f"it turns {str(act.color).lower().replace('_', ' ')}"
        elif act.kind == "fade_out":
            anim = f"FadeOut({cur})"
            words = "it fades out"
            self.current = None
        else:
            anim = f"{act.kind.capitalize()}({cur})"
            words = _HIGHLIGHT_WORDS[act.kind]
        self.beats.append(Beat([], [anim], 1.0, words))

    # ---- counting and graphs -------------------------------------------
    def count(self, count: Count) -> None:
        var, tracker = self.name(), self.name("tracker")
        d = count.decimals
        setup = (f"{tracker} = ValueTracker({count.start!r})",)
        if self.tex:
            number = (f"Integer({int(count.start)}, font_size=120)" if d == 0
                      else f"DecimalNumber({count.start!r}, num_decimal_places={d}, font_size=120)")
            extra: tuple[str, ...] = (f"{var}.add_updater(lambda m: m.set_value({tracker}.get_value()))",)
        else:
            number = f'always_redraw(lambda: Text(f"{{{tracker}.get_value():.{d}f}}", font_size=120))'
            extra = ()
        self.enter(var, number, f"FadeIn({var})", 0.5, f"a counter appears at {count.start:g}", setup, extra)
        self.beats.append(Beat([], [f"{tracker}.animate.set_value({count.end!r})"], 2.0,
                               f"it counts to {count.end:g}", after=[f"{var}.clear_updaters()"], linear=True))

    def plot(self, plot: Plot) -> None:
        expr = plot.expr
        xs = [plot.x_min + (plot.x_max - plot.x_min) * i / 400 for i in range(401)]
        ys = [expr(x) for x in xs]
        if not all(math.isfinite(y) and abs(y) < 1e4 for y in ys):
            self.notes.append(f"y = {expr.plain} is undefined or too large between {plot.x_min:g} and "
                              f"{plot.x_max:g}, so I showed the formula instead of a graph.")
            self.show((Math(Formula(f"y = {expr.plain}", f"y = {expr.tex}", f"y = {expr.plain}")),), "default")
            return
        self.uses_numpy = True
        y_lo, y_hi = min(ys), max(ys)
        pad = max((y_hi - y_lo) * 0.1, 0.5)
        y_lo, y_hi = y_lo - pad, y_hi + pad
        axes, graph, label, var = self.name("axes"), self.name("graph"), self.name("label"), self.name()
        color = plot.color or "YELLOW"
        label_code = (f"MathTex({'y = ' + expr.tex!r}, color={color})" if self.tex
                      else f"Text({'y = ' + expr.plain!r}, font_size=36, color={color})")
        axes_code = (
            f"Axes(x_range=[{_num(plot.x_min)}, {_num(plot.x_max)}, {_num(_nice_step(plot.x_max - plot.x_min))}], "
            f"y_range=[{_num(y_lo)}, {_num(y_hi)}, {_num(_nice_step(y_hi - y_lo))}], "
            "x_length=10, y_length=5.5, tips=False)"
        )
        self.enter(axes, axes_code, f"Create({axes})", 1.0, "axes are drawn")
        step = (plot.x_max - plot.x_min) / 400
        self.beats.append(Beat(
            [f"{graph} = {axes}.plot(lambda x: {expr.python}, x_range=[{_num(plot.x_min)}, {_num(plot.x_max)}, {step!r}], color={color})",
             f"{label} = {label_code}.to_corner(UR)"],
            [f"Create({graph})", f"FadeIn({label})"], 1.5, f"the graph of y = {expr.plain} is drawn",
            after=[f"{var} = VGroup({axes}, {graph}, {label})"],
        ))
        self.current = var

    # ---- output ---------------------------------------------------------
    def code(self, units: list[int], hold_units: int) -> str:
        body: list[str] = []
        timed = iter(units)
        for beat in self.beats:
            body.extend(beat.setup)
            if beat.animations:
                run_time = next(timed) / UNITS_PER_S
                rate = ", rate_func=linear" if beat.linear else ""
                body.append(f"self.play({', '.join(beat.animations)}, run_time={run_time!r}{rate})")
            body.extend(beat.after)
        if hold_units:
            body.append(f"self.wait({hold_units / UNITS_PER_S!r})")
        imports = "from manim import *\n" + ("import numpy as np\n" if self.uses_numpy else "")
        lines = "\n".join("        " + line for line in body)
        return (f"# Written by framecast's built-in composer.\n{imports}{_FIT}\n\n"
                f"class {SCENE_NAME}(Scene):\n    def construct(self):\n{lines}\n")

    def timed_beats(self) -> list[Beat]:
        return [b for b in self.beats if b.animations]


def split_units(weights: list[float], total: int) -> list[int]:
    """Share ``total`` units by weight, each at least one; sums to exactly ``total``."""
    if not weights:
        return []
    whole = sum(weights)
    ideal = [total * w / whole for w in weights]
    units = [max(1, math.floor(x)) for x in ideal]
    while sum(units) > total:
        i = max(range(len(units)), key=lambda k: (units[k] - ideal[k], units[k]))
        units[i] -= 1
    while sum(units) < total:
        i = max(range(len(units)), key=lambda k: ideal[k] - units[k])
        units[i] += 1
    return units


def _wrap(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > 160:
        text = text[:159] + "…"
    return "\n".join(textwrap.wrap(text, 32)) or " "


def _num(value: float) -> str:
    return repr(round(value, 4))


def _nice_step(span: float) -> float:
    raw = max(span, 1e-6) / 8
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))
