"""MovingCameraScene: the camera frame zooms in on a dot."""
from manim import *


class MovingCameraZoom(MovingCameraScene):
    def construct(self):
        dot = Dot([2, 1, 0], color=YELLOW)
        self.add(NumberPlane(), dot)
        self.play(self.camera.frame.animate.scale(0.4).move_to(dot), run_time=1)
