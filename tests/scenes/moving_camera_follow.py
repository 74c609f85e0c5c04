"""The camera frame follows a moving square through an updater."""
from manim import *


class MovingCameraFollow(MovingCameraScene):
    def construct(self):
        square = Square(color=BLUE, fill_opacity=0.5)
        self.add(NumberPlane(), square)
        self.camera.frame.add_updater(lambda frame: frame.move_to(square))
        self.play(square.animate.shift(RIGHT * 3 + UP), run_time=1)
        self.camera.frame.clear_updaters()
