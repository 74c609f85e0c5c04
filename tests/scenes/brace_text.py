"""Brace.get_text on a square's side."""
from manim import *


class BraceText(Scene):
    def construct(self):
        square = Square(side_length=3)
        brace = Brace(square, RIGHT)
        text = brace.get_text("side")
        self.add(square)
        self.play(FadeIn(brace), Write(text), run_time=1)
