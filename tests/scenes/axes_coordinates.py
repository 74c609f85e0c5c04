"""Axes with add_coordinates() (every tick labelled through TeX)."""
from manim import *


class AxesCoordinates(Scene):
    def construct(self):
        axes = Axes(x_range=[-3, 3, 1], y_range=[-2, 2, 1], x_length=9, y_length=5)
        axes.add_coordinates()
        self.play(Create(axes), run_time=1)
