"""DecimalNumber driven by a ValueTracker."""
from manim import *


class DecimalCounter(Scene):
    def construct(self):
        tracker = ValueTracker(0)
        number = DecimalNumber(0, num_decimal_places=2, font_size=96)
        number.add_updater(lambda m: m.set_value(tracker.get_value()))
        self.add(number)
        self.play(tracker.animate.set_value(3.14), run_time=1, rate_func=linear)
