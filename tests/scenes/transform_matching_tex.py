"""TransformMatchingTex between two forms of one equation."""
from manim import *


class MatchingTex(Scene):
    def construct(self):
        first = MathTex("a", "+", "b", "=", "c", font_size=96)
        second = MathTex("a", "=", "c", "-", "b", font_size=96)
        self.add(first)
        self.play(TransformMatchingTex(first, second), run_time=1)
