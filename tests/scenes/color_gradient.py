"""Colour gradients across a group and along a stroke."""
from manim import *


class ColorGradient(Scene):
    def construct(self):
        dots = VGroup(*[Dot(radius=0.25) for _ in range(10)]).arrange(RIGHT)
        dots.set_color_by_gradient(RED, YELLOW, GREEN, BLUE)
        wave = FunctionGraph(lambda x: np.sin(2 * x), x_range=[-5, 5]).shift(DOWN * 2)
        wave.set_color([PINK, ORANGE, TEAL])
        self.play(LaggedStartMap(FadeIn, dots), Create(wave), run_time=1)
