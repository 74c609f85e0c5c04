"""manim's Code mobject: syntax-highlighted Python from a string (no files, no network)."""
from manim import *

SOURCE = '''def greet(name):
    return f"Hello, {name}!"

print(greet("framecast"))
'''


class CodeBlock(Scene):
    def construct(self):
        code = Code(code_string=SOURCE, language="python", background="window")
        self.play(FadeIn(code), run_time=1)
