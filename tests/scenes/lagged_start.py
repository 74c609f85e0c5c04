"""LaggedStart of growing bars of different colours."""
from manim import *


class LaggedStartScene(Scene):
    def construct(self):
        bars = VGroup(*[
            Rectangle(width=0.6, height=h, fill_opacity=0.8, color=c)
            for h, c in zip([1, 2, 3, 2.5, 1.5], [RED, ORANGE, YELLOW, GREEN, BLUE])
        ]).arrange(RIGHT, aligned_edge=DOWN)
        self.play(LaggedStart(*[GrowFromEdge(b, DOWN) for b in bars], lag_ratio=0.2), run_time=1)
