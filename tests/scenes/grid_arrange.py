"""VGroup.arrange_in_grid with mixed shapes."""
from manim import *


class GridArrange(Scene):
    def construct(self):
        items = VGroup(*[
            (Circle if i % 2 else Square)(color=[RED, GREEN, BLUE][i % 3]).scale(0.5)
            for i in range(12)
        ]).arrange_in_grid(rows=3, buff=0.4)
        self.play(FadeIn(items, lag_ratio=0.1), run_time=1)
