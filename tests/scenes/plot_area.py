"""Area under a curve and Riemann rectangles."""
from manim import *


class PlotArea(Scene):
    def construct(self):
        axes = Axes(x_range=[0, 4, 1], y_range=[0, 5, 1], x_length=8, y_length=5)
        graph = axes.plot(lambda x: 0.25 * x ** 2 + 0.5, color=BLUE)
        area = axes.get_area(graph, x_range=[1, 3], color=BLUE, opacity=0.4)
        rects = axes.get_riemann_rectangles(graph, x_range=[0, 1], dx=0.25)
        self.add(axes, graph)
        self.play(FadeIn(area), Create(rects), run_time=1)
