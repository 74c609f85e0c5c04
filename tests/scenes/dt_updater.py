"""A time-based updater (dt) spinning a pinwheel through a wait."""
from manim import *


class DtUpdater(Scene):
    def construct(self):
        wheel = VGroup(*[Triangle(color=c, fill_opacity=0.8).scale(0.8).shift(UP).rotate(i * TAU / 4, about_point=ORIGIN)
                         for i, c in enumerate([RED, GREEN, BLUE, YELLOW])])
        wheel.add_updater(lambda m, dt: m.rotate(dt * PI))
        self.add(wheel)
        self.wait(1)
