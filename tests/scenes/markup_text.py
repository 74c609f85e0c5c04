"""MarkupText with colours and weights, faded in with a shift."""
from manim import *


class MarkupTextScene(Scene):
    def construct(self):
        text = MarkupText('<span foreground="red">red</span>, <b>bold</b> and <i>italic</i>')
        self.play(FadeIn(text, shift=UP), run_time=1)
