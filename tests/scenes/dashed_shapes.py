"""DashedLine and DashedVMobject around a circle."""
from manim import *


class DashedShapes(Scene):
    def construct(self):
        line = DashedLine(LEFT * 4, RIGHT * 4, color=GREY).shift(DOWN * 2)
        ring = DashedVMobject(Circle(radius=1.5, color=BLUE), num_dashes=24)
        self.play(Create(line), Create(ring), run_time=1)
