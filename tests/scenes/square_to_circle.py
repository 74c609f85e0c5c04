"""The classic: a filled square transforms into a circle."""
from manim import *


class SquareToCircle(Scene):
    def construct(self):
        square = Square(side_length=3, color=BLUE, fill_opacity=0.6)
        self.add(square)
        self.play(Transform(square, Circle(radius=1.5, color=PINK, fill_opacity=0.6)), run_time=1)
