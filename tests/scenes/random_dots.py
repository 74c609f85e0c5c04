"""Seeded random dots (the random module is allowed) scattered on screen."""
import random

from manim import *


class RandomDots(Scene):
    def construct(self):
        rng = random.Random(7)
        dots = VGroup(*[
            Dot([rng.uniform(-6, 6), rng.uniform(-3, 3), 0], color=rng.choice([RED, GREEN, BLUE, YELLOW]))
            for _ in range(40)
        ])
        self.play(LaggedStartMap(GrowFromCenter, dots, lag_ratio=0.05), run_time=1)
