"""MathTex: the quadratic formula, written."""
from manim import *


class QuadraticFormula(Scene):
    def construct(self):
        formula = MathTex(r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}", font_size=72)
        self.play(Write(formula), run_time=1)
