"""ReplacementTransform between a regular polygon and a star."""
from manim import *


class PolygonToStar(Scene):
    def construct(self):
        hexagon = RegularPolygon(n=6, color=TEAL, fill_opacity=0.5).scale(2)
        star = Star(n=7, outer_radius=2, color=GOLD, fill_opacity=0.5)
        self.add(hexagon)
        self.play(ReplacementTransform(hexagon, star), run_time=1)
