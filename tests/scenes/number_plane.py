"""NumberPlane with a vector rotated about the origin."""
from manim import *


class NumberPlaneVector(Scene):
    def construct(self):
        plane = NumberPlane()
        vector = Vector([2, 1], color=YELLOW)
        self.add(plane, vector)
        self.play(Rotate(vector, angle=PI / 2, about_point=ORIGIN), run_time=1)
