"""Integer counting up with ChangeDecimalToValue."""
from manim import *


class IntegerCounter(Scene):
    def construct(self):
        number = Integer(0, font_size=120, color=ORANGE)
        self.add(number)
        self.play(ChangeDecimalToValue(number, 12), run_time=1)
