"""SpiralIn of a group of shapes, then a short wait."""
from manim import *


class SpiralInScene(Scene):
    def construct(self):
        shapes = VGroup(Circle(color=RED), Square(color=BLUE), Triangle(color=GREEN)).arrange(RIGHT)
        self.play(SpiralIn(shapes), run_time=0.75)
        self.wait(0.25)
