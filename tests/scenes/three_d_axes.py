"""ThreeDScene: 3-D axes and a parametric helix, camera set by set_camera_orientation."""
from manim import *


class ThreeDAxesScene(ThreeDScene):
    def construct(self):
        axes = ThreeDAxes(x_range=[-3, 3], y_range=[-3, 3], z_range=[-2, 2])
        helix = ParametricFunction(lambda t: np.array([np.cos(t), np.sin(t), t / 4]),
                                   t_range=[-TAU, TAU], color=YELLOW)
        self.set_camera_orientation(phi=70 * DEGREES, theta=30 * DEGREES)
        self.add(axes)
        self.play(Create(helix), run_time=1)
