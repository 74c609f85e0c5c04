"""Plain Text (Pango, no TeX) written on screen."""
from manim import *


class TextWrite(Scene):
    def construct(self):
        title = Text("framecast renders this", font_size=56, color=YELLOW)
        self.play(Write(title), run_time=1)
