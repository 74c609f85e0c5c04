"""A text Table with row and column labels."""
from manim import *


class TableScene(Scene):
    def construct(self):
        table = Table(
            [["1", "2"], ["3", "4"]],
            row_labels=[Text("r1"), Text("r2")],
            col_labels=[Text("c1"), Text("c2")],
            include_outer_lines=True,
        )
        self.play(Create(table), run_time=1)
