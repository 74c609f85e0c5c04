"""A ValueTracker moves a dot along a parabola."""
from manim import *


class ValueTrackerGraph(Scene):
    def construct(self):
        axes = Axes(x_range=[-3, 3, 1], y_range=[0, 9, 3], x_length=8, y_length=5)
        graph = axes.plot(lambda x: x ** 2, color=GREEN)
        t = ValueTracker(-3)
        dot = always_redraw(lambda: Dot(axes.i2gp(t.get_value(), graph), color=RED))
        self.add(axes, graph, dot)
        self.play(t.animate.set_value(3), run_time=1)
