"""The built-in composer: what it understands, its timing and its safety (no rendering here)."""

from __future__ import annotations

import ast
import math

import manim
import pytest

from core.codegen import Composition, compose
from core.codegen.expression import parse_expression
from core.codegen.formula import user_formula
from core.errors import InputError
from core.render.preflight import check_code

# Classes whose construction calls LaTeX.
TEX_CLASSES = {"MathTex", "Tex", "Integer", "DecimalNumber", "Matrix", "MathTable", "BraceLabel"}

PROMPTS = [
    "a blue circle turns into a red square, then the text Hello framecast appears, in 5 seconds",
    "show the quadratic formula, in 4 seconds",
    "Pythagoras",
    "E=mc^2 fades in",
    "the sum formula then an integral then a fraction",
    "graph of sin(x)",
    "plot x^2 from -3 to 3",
    "plot 2x^3 - x + 1 between -2 and 2 in green",
    "count from 1 to 10",
    "count from 0 to 2.5 in 3 seconds",
    "a red star rotates 90 degrees then moves left then fades out",
    "three green dots grow, then they shrink",
    "morph a circle into a hexagon",
    'the text "Hello" then $a^2+b^2=c^2$',
    "a yellow triangle fades in, then it turns purple, then it spins",
    "a dark blue ellipse, then an arrow, then a line, then a dot, then a pentagon",
    "a square and a circle, then indicate them, then circumscribe them, then wiggle",
    "a wobbly banana",
]


def calls(code: str) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)]


def call_names(code: str) -> set[str]:
    return {c.func.id for c in calls(code) if isinstance(c.func, ast.Name)}


def number(node: ast.expr) -> float:
    assert isinstance(node, ast.Constant) and isinstance(node.value, int | float)
    return float(node.value)


def run_times(code: str) -> list[float]:
    return [number(k.value) for c in calls(code) for k in c.keywords if k.arg == "run_time"]


def scene_seconds(code: str) -> float:
    """Sum of every play's run_time and every wait, read back from the code."""
    total = 0.0
    for call in calls(code):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "play":
            (run_time,) = [number(k.value) for k in call.keywords if k.arg == "run_time"]
            total += run_time
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "wait":
            total += number(call.args[0])
    return total


def text_literals(code: str, cls: str) -> list[str]:
    return [str(c.args[0].value) for c in calls(code)
            if isinstance(c.func, ast.Name) and c.func.id == cls and isinstance(c.args[0], ast.Constant)]


@pytest.mark.parametrize("tex", [True, False], ids=["tex", "no-tex"])
@pytest.mark.parametrize("prompt", PROMPTS)
def test_every_composition_passes_preflight_and_adds_up(prompt: str, tex: bool) -> None:
    comp = compose(prompt, max_duration_s=8, tex_available=tex)
    report = check_code(comp.code)
    assert report.scene == comp.scene_name
    assert 0 < comp.duration_s <= 8
    assert scene_seconds(comp.code) == pytest.approx(comp.duration_s, abs=1e-9)
    # Every run time is a whole number of frames at 24 fps.
    for run_time in run_times(comp.code):
        assert run_time * 24 == pytest.approx(round(run_time * 24), abs=1e-9)
    names = {n.id for n in ast.walk(ast.parse(comp.code)) if isinstance(n, ast.Name) and n.id.isupper()}
    assert all(hasattr(manim, name) for name in names), names - set(dir(manim))
    if not tex:
        assert not call_names(comp.code) & TEX_CLASSES


def test_same_prompt_same_code() -> None:
    runs = {compose(p, max_duration_s=8, tex_available=True).code for p in [PROMPTS[0]] * 3}
    assert len(runs) == 1


def test_the_demo_prompt_is_understood_in_order() -> None:
    comp = compose(PROMPTS[0], max_duration_s=8, tex_available=True)
    assert comp.duration_s == 5.0
    assert comp.not_understood == []
    code = comp.code
    assert code.index("Circle(") < code.index("Square(") < code.index("Text(")
    assert "color=BLUE" in code and "color=RED" in code and "ReplacementTransform" in code
    assert text_literals(code, "Text") == ["Hello framecast"]


def test_durations_explicit_then_prompt_then_default_and_never_over_the_cap() -> None:
    assert compose("a circle in 5 seconds", max_duration_s=8, tex_available=False).duration_s == 5
    assert compose("a circle for 3s", max_duration_s=8, tex_available=False).duration_s == 3
    assert compose("a 6 second circle", max_duration_s=8, tex_available=False).duration_s == 6
    assert compose("a circle in five seconds", max_duration_s=8, tex_available=False).duration_s == 5
    assert compose("a circle in 5 seconds", max_duration_s=8, duration_s=2, tex_available=False).duration_s == 2
    assert compose("a circle", max_duration_s=8, tex_available=False).duration_s == 4
    assert compose("a circle", max_duration_s=3, tex_available=False).duration_s == 3
    clamped = compose("a circle in 20 seconds", max_duration_s=8, tex_available=False)
    assert clamped.duration_s == 8 and "8 s" in clamped.summary
    many = compose(", then ".join(["a circle", "a square"] * 6), max_duration_s=8, tex_available=False)
    assert many.duration_s == 8
    assert scene_seconds(many.code) == pytest.approx(8)


def test_not_understood_words_are_listed_and_the_prompt_shown_as_text() -> None:
    comp = compose("a wobbly banana", max_duration_s=8, tex_available=True)
    assert comp.not_understood == ["wobbly", "banana"]
    assert "I did not understand: 'wobbly', 'banana'" in comp.summary
    assert "as text" in comp.summary
    assert text_literals(comp.code, "Text") == ["a wobbly banana"]
    partly = compose("a purple circle dances wildly", max_duration_s=8, tex_available=True)
    assert partly.not_understood == ["dances", "wildly"]
    assert "Circle(" in partly.code and "color=PURPLE" in partly.code


def test_empty_prompt_is_an_input_error() -> None:
    for prompt in ("", "   \n"):
        with pytest.raises(InputError):
            compose(prompt, max_duration_s=8, tex_available=True)


def test_formulas_use_mathtex_with_tex_and_text_without() -> None:
    with_tex = compose("show the quadratic formula", max_duration_s=8, tex_available=True)
    assert text_literals(with_tex.code, "MathTex") == [r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}"]
    without = compose("show the quadratic formula", max_duration_s=8, tex_available=False)
    assert "MathTex" not in without.code
    assert text_literals(without.code, "Text") == ["x = (−b ± √(b² − 4ac)) / 2a"]
    assert "plain text" in without.summary


def test_graphs_counting_and_labels() -> None:
    plot = compose("plot x^2 from -3 to 3", max_duration_s=8, tex_available=True)
    assert "Axes(x_range=[-3.0, 3.0" in plot.code and ".plot(lambda x: (x ** 2.0)" in plot.code
    assert text_literals(plot.code, "MathTex") == ["y = {x}^{2}"]
    count = compose("count from 1 to 10", max_duration_s=8, tex_available=True)
    assert "Integer(1" in count.code and "set_value(10.0)" in count.code
    plain = compose("count from 1 to 10", max_duration_s=8, tex_available=False)
    assert "Integer" not in plain.code and "always_redraw" in plain.code
    undefined = compose("plot log(x) from -1 to 3", max_duration_s=8, tex_available=True)
    assert "Axes(" not in undefined.code and "undefined" in undefined.summary


def test_user_text_enters_only_as_a_string_literal() -> None:
    evil = 'the text "\'); import os; os.system(\'id\') #"'
    comp = compose(evil, max_duration_s=8, tex_available=True)
    check_code(comp.code)
    assert text_literals(comp.code, "Text") == ["'); import os; os.system('id') #"]
    multi = compose('the text "line one\\nline two\u2028"', max_duration_s=8, tex_available=True)
    check_code(multi.code)


@pytest.mark.parametrize("source", [
    r"\input{/etc/passwd}", r"x \write18{id}", "^^5cinput{/etc/passwd}", "x^^5c", "a % comment",
    "a # b", "{x", "x}", "x^", "a & b", "$", "~",
])
def test_unsafe_user_formulas_never_reach_tex(source: str) -> None:
    formula, safe = user_formula(source)
    assert not safe and formula.tex == ""
    comp = compose(f"the formula ${source}$" if "$" not in source else f"the formula {source}",
                   max_duration_s=8, tex_available=True)
    check_code(comp.code)
    assert all("\\" not in s and "^^" not in s for s in text_literals(comp.code, "MathTex"))


def test_safe_user_formula_is_typeset() -> None:
    comp = compose("show $x^2 + y^2 = r^2$", max_duration_s=8, tex_available=True)
    assert text_literals(comp.code, "MathTex") == ["x^2 + y^2 = r^2"]


@pytest.mark.parametrize(("text", "x", "expected"), [
    ("sin(x)", 1.0, math.sin(1.0)),
    ("2x^2 - 3x + 1", 2.0, 3.0),
    ("e^(-x^2)", 0.5, math.exp(-0.25)),
    ("sqrt(x) + abs(x - 4)", 1.0, 4.0),
    ("x sin(x)", 2.0, 2 * math.sin(2.0)),
    ("1/(1+x^2)", 1.0, 0.5),
])
def test_expressions_parse_and_evaluate(text: str, x: float, expected: float) -> None:
    expr = parse_expression(text)
    assert expr is not None
    assert expr(x) == pytest.approx(expected)
    import numpy as np  # the generated code's own numpy form must agree
    fn = eval(compile(f"lambda x: {expr.python}", "<expr>", "eval"), {"np": np})  # noqa: S307 - our own output
    assert fn(x) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["import os", "x; os", "__import__('os')", "y", "sin", "x +", "(x", "banana x"])
def test_non_expressions_are_refused(text: str) -> None:
    assert parse_expression(text) is None


def test_composition_is_frozen() -> None:
    comp = compose("a circle", max_duration_s=8, tex_available=False)
    assert isinstance(comp, Composition)
    with pytest.raises(AttributeError):
        comp.code = ""  # type: ignore[misc]


def test_the_names_what_is_already_on_screen() -> None:
    comp = compose("a hexagon becomes a star then the star spins", max_duration_s=8, tex_available=True)
    assert comp.code.count("Star(") == 1 and "Rotate(m2" in comp.code
    text = compose("the text Hi appears, then the text moves up", max_duration_s=8, tex_available=True)
    assert text_literals(text.code, "Text") == ["Hi"] and ".animate.shift(" in text.code
    other = compose("a circle, then the square rotates", max_duration_s=8, tex_available=True)
    assert "Circle(" in other.code and "Square(" in other.code


def test_odd_prompts_never_break_the_composer() -> None:
    """A seeded jumble of known words, symbols and noise: always valid, preflight-clean code."""
    import random

    vocabulary = (
        "a the circle square red dark blue then , ; . text hello \" ' $ x^2 $ plot graph of sin(x) from -3 to 3 "
        "count to 10 2.5 rotate spin 90 degrees move left up grow shrink scale by 3 fade in out turns into "
        "becomes morph quadratic formula sum integral star polygon with 7 sides arrow line dot ellipse indicate "
        "in 5 seconds for 3s \\ { } ^^ % # & ⟦q0⟧ ⟧ y = log(x) tan(x) 1/x three dots banana"
    ).split()
    rng = random.Random(20261123)
    for _ in range(300):
        prompt = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 14)))
        cap = rng.choice([1.5, 8, 30])
        comp = compose(prompt, max_duration_s=cap, tex_available=rng.random() < 0.5)
        check_code(comp.code)
        assert 0 < comp.duration_s <= cap
        assert scene_seconds(comp.code) == pytest.approx(comp.duration_s, abs=1e-9)


@pytest.mark.parametrize("prompt", [
    "plot " + "(" * 300 + "x" + ")" * 300,
    "plot " + "-" * 150 + "x",
    "plot " + "x^" * 99 + "x",
    "a circle " * 220,
    "count from 1 to 10, " * 100,
    "text " + "a" * 1995,
    "İİİİ a circle İ then the text İstanbul ß ﬁ moves left",
])
def test_huge_and_deep_prompts_stay_small_and_valid(prompt: str) -> None:
    comp = compose(prompt[:2000], max_duration_s=8, tex_available=True)
    check_code(comp.code)
    assert len(comp.code) < 20_000
    assert sum(1 for c in calls(comp.code) if isinstance(c.func, ast.Attribute) and c.func.attr == "play") <= 32


@pytest.mark.parametrize(("prompt", "text", "then"), [
    ("the text Hello turns into a circle", "Hello", "ReplacementTransform"),
    ("the text Hello World moves left", "Hello World", ".animate.shift(RIGHT * -2.0"),
    ("the title Welcome spins", "Welcome", "Rotate("),
    ("a square turns into the text Bye", "Bye", "ReplacementTransform"),
])
def test_unquoted_text_stops_where_the_action_starts(prompt: str, text: str, then: str) -> None:
    comp = compose(prompt, max_duration_s=8, tex_available=True)
    assert text_literals(comp.code, "Text") == [text]
    assert then in comp.code and comp.not_understood == []
