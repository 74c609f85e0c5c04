"""ImageMobject built from a numpy array (no image files needed), scaled and moved.

Not faded: manim 0.22 with current Pillow fails FadeIn on images (float pixels).
"""
from manim import *


class ImageArray(Scene):
    def construct(self):
        x = np.linspace(0, 255, 64, dtype=np.uint8)
        pixels = np.stack([np.tile(x, (64, 1)), np.tile(x[:, None], (1, 64)),
                           np.full((64, 64), 160, dtype=np.uint8)], axis=-1)
        image = ImageMobject(pixels).scale_to_fit_height(4)
        self.add(image)
        self.play(image.animate.scale(1.3).shift(RIGHT), run_time=1)
