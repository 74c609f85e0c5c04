"""BarChart with bar names and numbered y axis, then new values."""
from manim import *


class BarChartScene(Scene):
    def construct(self):
        chart = BarChart([3, 5, 2, 4], bar_names=["a", "b", "c", "d"], y_range=[0, 6, 2],
                         y_length=4, x_length=7)
        self.add(chart)
        self.play(chart.animate.change_bar_values([5, 2, 4, 3]), run_time=1)
