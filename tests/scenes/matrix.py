"""Matrix with brackets, and a coloured column."""
from manim import *


class MatrixScene(Scene):
    def construct(self):
        matrix = Matrix([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        matrix.get_columns()[1].set_color(YELLOW)
        self.play(Create(matrix), run_time=1)
