"""MathTex split into parts, coloured by substring."""
from manim import *


class ColoredParts(Scene):
    def construct(self):
        eq = MathTex("a^2", "+", "b^2", "=", "c^2", font_size=96)
        eq.set_color_by_tex("a^2", RED)
        eq.set_color_by_tex("b^2", BLUE)
        eq.set_color_by_tex("c^2", GREEN)
        self.play(Write(eq), run_time=1)
