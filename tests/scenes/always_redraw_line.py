"""always_redraw: a line that always joins two moving dots."""
from manim import *


class AlwaysRedrawLine(Scene):
    def construct(self):
        a = Dot(LEFT * 2, color=BLUE)
        b = Dot(RIGHT * 2, color=RED)
        line = always_redraw(lambda: Line(a.get_center(), b.get_center(), color=YELLOW))
        self.add(a, b, line)
        self.play(a.animate.shift(UP * 2), b.animate.shift(DOWN * 2), run_time=1)
