"""Cross out one word and underline another."""
from manim import *


class CrossUnderline(Scene):
    def construct(self):
        wrong = Text("wrong", color=RED).shift(UP)
        right = Text("right", color=GREEN).shift(DOWN)
        self.add(wrong, right)
        self.play(Create(Cross(wrong)), Create(Underline(right)), run_time=1)
