"""A linear transformation applied to a NumberPlane (ApplyMatrix)."""
from manim import *


class MatrixTransform(Scene):
    def construct(self):
        plane = NumberPlane(x_range=[-5, 5], y_range=[-4, 4])
        self.add(plane)
        self.play(ApplyMatrix([[1, 1], [0, 1]], plane), run_time=1)
