"""A cube and a low-resolution sphere while the 3-D camera moves."""
from manim import *


class ThreeDCameraMove(ThreeDScene):
    def construct(self):
        self.set_camera_orientation(phi=60 * DEGREES, theta=-60 * DEGREES)
        cube = Cube(side_length=1.5, fill_color=RED, fill_opacity=0.7).shift(LEFT * 2)
        sphere = Sphere(radius=1, resolution=(10, 10)).shift(RIGHT * 2)
        self.add(cube, sphere)
        self.move_camera(phi=45 * DEGREES, theta=30 * DEGREES, run_time=1)
