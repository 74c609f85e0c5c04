"""Rotate, scale and shift chained in one .animate call."""
from manim import *


class RotateScale(Scene):
    def construct(self):
        square = Square(color=PURPLE, fill_opacity=0.7)
        self.add(square)
        self.play(square.animate.rotate(PI / 4).scale(2).shift(RIGHT), run_time=1)
