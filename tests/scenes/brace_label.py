"""BraceLabel under a line segment (the label goes through TeX)."""
from manim import *


class BraceLabelScene(Scene):
    def construct(self):
        line = Line(LEFT * 3, RIGHT * 3, color=BLUE)
        brace = BraceLabel(line, r"6\,\text{units}", DOWN)
        self.add(line)
        self.play(GrowFromCenter(brace), run_time=1)
