"""Circumscribe around a formula, and a surrounding rectangle."""
from manim import *


class CircumscribeScene(Scene):
    def construct(self):
        eq = MathTex(r"E = mc^2", font_size=96)
        box = SurroundingRectangle(eq, color=BLUE, buff=0.3)
        self.add(eq, box)
        self.play(Circumscribe(eq, color=YELLOW), run_time=1)
