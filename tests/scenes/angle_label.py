"""Two lines, the Angle between them and a MathTex theta."""
from manim import *


class AngleLabel(Scene):
    def construct(self):
        a = Line(ORIGIN, RIGHT * 3)
        b = Line(ORIGIN, RIGHT * 3).rotate(50 * DEGREES, about_point=ORIGIN)
        angle = Angle(a, b, radius=0.8, color=YELLOW)
        theta = MathTex(r"\theta").next_to(angle, RIGHT, buff=0.1).shift(UP * 0.2)
        self.add(a, b)
        self.play(Create(angle), Write(theta), run_time=1)
