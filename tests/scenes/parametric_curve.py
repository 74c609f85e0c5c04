"""A parametric Lissajous curve traced with a MoveAlongPath dot."""
from manim import *


class ParametricCurve(Scene):
    def construct(self):
        curve = ParametricFunction(lambda t: np.array([3 * np.sin(3 * t), 2 * np.sin(2 * t), 0]),
                                   t_range=[0, TAU], color=TEAL)
        dot = Dot(curve.get_start(), color=RED)
        self.add(curve, dot)
        self.play(MoveAlongPath(dot, curve), run_time=1, rate_func=linear)
