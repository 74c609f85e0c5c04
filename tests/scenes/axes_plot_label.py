"""A function graph on axes with a MathTex graph label."""
from manim import *


class AxesPlotLabel(Scene):
    def construct(self):
        axes = Axes(x_range=[-4, 4, 1], y_range=[-1.5, 1.5, 0.5], x_length=10, y_length=5, tips=False)
        graph = axes.plot(lambda x: np.sin(x), color=YELLOW)
        label = axes.get_graph_label(graph, label=r"\sin(x)", x_val=2, direction=UP)
        self.add(axes)
        self.play(Create(graph), FadeIn(label), run_time=1)
