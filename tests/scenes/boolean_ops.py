"""Boolean operations on shapes: Union, Intersection, Difference, Exclusion."""
from manim import *


class BooleanOps(Scene):
    def construct(self):
        a = Circle(radius=1).shift(LEFT * 0.5)
        b = Square(side_length=1.6).shift(RIGHT * 0.5)
        results = VGroup(
            Union(a, b, color=RED, fill_opacity=0.6),
            Intersection(a, b, color=GREEN, fill_opacity=0.6),
            Difference(a, b, color=BLUE, fill_opacity=0.6),
            Exclusion(a, b, color=YELLOW, fill_opacity=0.6),
        ).arrange(RIGHT, buff=0.5)
        self.play(FadeIn(results), run_time=1)
