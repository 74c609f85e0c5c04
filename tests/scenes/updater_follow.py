"""An updater keeps a label next to a moving dot."""
from manim import *


class UpdaterFollow(Scene):
    def construct(self):
        dot = Dot(LEFT * 3, color=RED)
        label = Text("dot", font_size=32)
        label.add_updater(lambda m: m.next_to(dot, UP))
        self.add(dot, label)
        self.play(dot.animate.shift(RIGHT * 6), run_time=1)
