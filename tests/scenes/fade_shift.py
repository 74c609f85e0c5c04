"""FadeIn from one side while FadeOut leaves to the other."""
from manim import *


class FadeShift(Scene):
    def construct(self):
        old = Text("before", color=RED)
        new = Text("after", color=GREEN)
        self.add(old)
        self.play(FadeOut(old, shift=LEFT), FadeIn(new, shift=LEFT), run_time=1)
