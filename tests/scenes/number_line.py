"""NumberLine with numbers, and a dot sliding along it."""
from manim import *


class NumberLineScene(Scene):
    def construct(self):
        line = NumberLine(x_range=[-3, 3, 1], length=10, include_numbers=True)
        dot = Dot(line.n2p(-2), color=RED)
        self.add(line, dot)
        self.play(dot.animate.move_to(line.n2p(2)), run_time=1)
