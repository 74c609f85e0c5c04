"""Basic shapes drawn together: Circle, Square, Triangle, Star."""
from manim import *


class ShapesCreate(Scene):
    def construct(self):
        shapes = VGroup(Circle(color=RED), Square(color=BLUE), Triangle(color=GREEN), Star(color=YELLOW))
        shapes.arrange(RIGHT, buff=0.5)
        self.play(Create(shapes), run_time=1)
