"""A low-resolution Surface with a checkerboard fill."""
from manim import *


class SurfaceScene(ThreeDScene):
    def construct(self):
        self.set_camera_orientation(phi=65 * DEGREES, theta=-45 * DEGREES)
        surface = Surface(
            lambda u, v: np.array([u, v, 0.5 * np.sin(u) * np.cos(v)]),
            u_range=[-3, 3], v_range=[-3, 3], resolution=(12, 12),
        )
        surface.set_fill_by_checkerboard(BLUE_D, BLUE_E, opacity=0.8)
        self.play(Create(surface), run_time=1)
