"""Ambient camera rotation during a wait, with a Dot3D and a Line3D."""
from manim import *


class AmbientRotation(ThreeDScene):
    def construct(self):
        self.set_camera_orientation(phi=70 * DEGREES, theta=0)
        self.add(ThreeDAxes(), Dot3D([1, 1, 1], color=RED), Line3D(ORIGIN, [1, 1, 1], color=YELLOW))
        self.begin_ambient_camera_rotation(rate=0.5)
        self.wait(1)
        self.stop_ambient_camera_rotation()
