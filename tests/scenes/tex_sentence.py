"""Tex: a text-mode sentence with inline math and the LaTeX logo."""
from manim import *


class TexSentence(Scene):
    def construct(self):
        sentence = Tex(r"Typeset by \LaTeX{}: $e^{i\pi} + 1 = 0$", font_size=60)
        self.play(FadeIn(sentence), run_time=1)
