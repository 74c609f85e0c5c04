"""A MathTable (every cell through TeX) with a highlighted cell."""
from manim import *


class MathTableScene(Scene):
    def construct(self):
        table = MathTable([["+", 0, 1], [0, 0, 1], [1, 1, 10]], include_outer_lines=True)
        table.add_highlighted_cell((3, 3), color=GREEN)
        self.play(FadeIn(table), run_time=1)
