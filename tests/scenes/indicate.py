"""Indicate and Flash on a word."""
from manim import *


class IndicateScene(Scene):
    def construct(self):
        word = Text("important", font_size=72)
        self.add(word)
        self.play(Indicate(word), Flash(word.get_right(), color=YELLOW), run_time=1)
