"""Arrows and vectors grown from their tails, with a DoubleArrow."""
from manim import *


class VectorsArrows(Scene):
    def construct(self):
        v1 = Vector([2, 1], color=YELLOW)
        v2 = Arrow(ORIGIN, [-1, 2, 0], buff=0, color=RED)
        both = DoubleArrow(LEFT * 3 + DOWN * 2, RIGHT * 3 + DOWN * 2, color=GREEN)
        self.play(GrowArrow(v1), GrowArrow(v2), GrowFromCenter(both), run_time=1)
