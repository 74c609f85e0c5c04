"""Composed scenes render through the real pipeline and last exactly what the composer says."""

from __future__ import annotations

import pytest

from core.codegen import compose
from core.config import Settings
from core.render.pipeline import RenderRequest, render
from core.render.postflight import probe
from core.sandbox import make_runner


@pytest.mark.slow
@pytest.mark.parametrize(("prompt", "tex"), [
    ("a blue circle turns into a red square, then the text Hello framecast appears, in 3 seconds", True),
    ("show the quadratic formula then E=mc^2, in 2 seconds", True),
    ("show the quadratic formula, in 1.5 seconds", False),
    ("plot sin(x) from -3 to 3 in 2 seconds", True),
    ("count from 1 to 5 in 2 seconds", True),
    ("count from 0 to 1.5 in 2 seconds", False),
    ("a red star rotates, then moves left, then fades out, then a wobbly banana, in 3 seconds", False),
])
async def test_composed_scene_renders_for_its_stated_duration(settings: Settings, prompt: str, tex: bool) -> None:
    spec = settings.tiers.get("free")
    comp = compose(prompt, max_duration_s=spec.max_duration_s, tex_available=tex)
    request = RenderRequest(code=comp.code, tier=spec, prompt=prompt, expected_duration_s=comp.duration_s)
    outcome = await render(request, settings=settings, runner=make_runner(settings))
    tail = outcome.sandbox.stderr_tail[-1500:] if outcome.sandbox else ""
    assert outcome.ok, f"{outcome.error and outcome.error.code} {outcome.error}\n{comp.code}\n{tail}"
    assert outcome.scene == comp.scene_name
    assert outcome.duration_s == pytest.approx(comp.duration_s, abs=1e-6)
    assert outcome.video is not None
    info = await probe(outcome.video)
    assert info.duration_s == pytest.approx(comp.duration_s, abs=1 / 24)


@pytest.mark.slow
async def test_every_table_formula_and_function_label_typesets(settings: Settings) -> None:
    from core.codegen.expression import parse_expression
    from core.codegen.formula import FORMULAS

    labels = [formula.tex for _, formula in FORMULAS]
    for text in ("sin(x)", "sin(1/x)", "e^(-x^2)", "sqrt(x^2+1) + abs(x-4)", "(x+1)^2 / (x^2+1)", "ln(x) cos(pi x)"):
        expr = parse_expression(text)
        assert expr is not None
        labels.append("y = " + expr.tex)
    code = (
        "from manim import *\n\n\nclass AllFormulas(Scene):\n    def construct(self):\n"
        f"        tex = VGroup(*[MathTex(t) for t in {labels!r}]).arrange(DOWN).scale_to_fit_height(7)\n"
        "        self.play(FadeIn(tex), run_time=0.5)\n"
    )
    outcome = await render(RenderRequest(code=code, tier=settings.tiers.get("free")),
                           settings=settings, runner=make_runner(settings))
    assert outcome.ok, f"{outcome.error}\n{outcome.sandbox.stderr_tail[-1500:] if outcome.sandbox else ''}"
