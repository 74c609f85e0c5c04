"""Preflight: what it refuses, with which line, and which scene it picks."""

from __future__ import annotations

import pytest

from core.errors import InputError, UnsafeCodeError
from core.render.preflight import MAX_CODE_BYTES, check_code, check_prompt

HEADER = "from manim import *\n\nclass Demo(Scene):\n    def construct(self):\n"


def scene_with(body: str) -> str:
    """A valid scene whose construct() starts at line 5."""
    return HEADER + "".join(f"        {line}\n" for line in body.splitlines())


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import os\n", "line 1: import of 'os' is not allowed"),
        ("from manim import *\nimport subprocess\n", "line 2: import of 'subprocess' is not allowed"),
        ("from manim import *\n\nfrom socket import socket\n", "line 3: import of 'socket' is not allowed"),
        ("import ctypes", "line 1: import of 'ctypes' is not allowed"),
        ("import importlib.util", "line 1: import of 'importlib.util' is not allowed"),
        ("import numpy.ctypeslib", "line 1: import of 'numpy.ctypeslib' is not allowed"),
        ("from . import x", "line 1: relative imports are not allowed"),
        (scene_with("m = __import__('os')"), "line 5: '__import__' is not allowed"),
        (scene_with("x = 1\neval('1+1')"), "line 6: 'eval' is not allowed"),
        (scene_with("exec('x = 1')"), "line 5: 'exec' is not allowed"),
        (scene_with("compile('1', 'f', 'eval')"), "line 5: 'compile' is not allowed"),
        (scene_with("open('/etc/passwd').read()"), "line 5: 'open' is not allowed"),
        (scene_with("g = globals()"), "line 5: 'globals' is not allowed"),
        (scene_with("breakpoint()"), "line 5: 'breakpoint' is not allowed"),
        (scene_with("x = ().__class__.__bases__[0].__subclasses__()"),
         "line 5: access to the attribute '__class__' is not allowed"),
        (scene_with("f = self.construct.__globals__"), "line 5: access to the attribute '__globals__' is not allowed"),
        (scene_with("b = __builtins__"), "line 5: the name '__builtins__' is not allowed"),
        (scene_with("getattr(self, 'constr' + 'uct')"), "line 5: getattr() needs a literal attribute name"),
        (scene_with("getattr(self, '__dict__')"), "line 5: getattr() of the dunder '__dict__' is not allowed"),
        (scene_with("g = getattr"), "line 5: 'getattr' may only be called with a literal attribute name"),
        (scene_with("f = (lambda: 0).__code__"), "line 5: access to the attribute '__code__' is not allowed"),
        (scene_with("def gen():\n    yield 1\nx = gen().gi_frame.f_back"),
         "line 7: access to the attribute 'gi_frame' is not allowed"),
        (scene_with("s = '{0.__class__}'.format(1)"), "line 5: format strings may not reach dunder attributes"),
    ],
)
def test_refusals_name_the_line(code: str, message: str) -> None:
    with pytest.raises(UnsafeCodeError) as caught:
        check_code(code)
    assert caught.value.message.startswith(message)
    assert caught.value.code == "E_UNSAFE_CODE"


def test_every_problem_is_listed_in_the_detail() -> None:
    with pytest.raises(UnsafeCodeError) as caught:
        check_code("import os\nimport sys\n" + scene_with("eval('1')"))
    assert "(and 2 more problem(s))" in caught.value.message
    assert caught.value.detail is not None
    assert caught.value.detail.splitlines() == [
        "line 1: import of 'os' is not allowed",
        "line 2: import of 'sys' is not allowed",
        "line 7: 'eval' is not allowed: it runs arbitrary code",
    ]


def test_ordinary_scenes_pass() -> None:
    code = (
        "from __future__ import annotations\n"
        "import math, random, itertools\nimport numpy as np\nfrom manim import *\n"
        "from manim.utils.color import BLUE_A\nfrom collections.abc import Sequence\n"
        "class Dot3(VGroup):\n"
        "    def __init__(self, **kw):\n"
        "        super().__init__(**kw)\n"
        "        VGroup.__init__(self)\n"
        "class Demo(MovingCameraScene):\n"
        "    def construct(self):\n"
        "        c = Circle(radius=math.pi / 3, color=BLUE_A)\n"
        "        self.play(Create(c), run_time=getattr(self, 'run_time', 1))\n"
        "        print(type(self).__name__ if False else __name__, np.linalg.norm([1, 2]))\n"
        "if __name__ == '__main__':\n"
        "    pass\n"
    )
    report = check_code(code)
    assert report.scene == "Demo"
    assert report.code == code


def test_scene_detection_follows_local_bases() -> None:
    code = (
        "from manim import *\n"
        "class Base(ThreeDScene):\n    pass\n"
        "class Final(Base):\n    def construct(self):\n        self.wait()\n"
    )
    assert check_code(code).scene == "Final"


def test_two_scenes_are_named() -> None:
    code = "from manim import *\nclass A(Scene):\n    pass\nclass B(manim.Scene):\n    pass\n"
    with pytest.raises(InputError, match=r"2 scenes \(A, B\); exactly one is rendered"):
        check_code(code)


def test_no_scene() -> None:
    with pytest.raises(InputError, match="no Scene subclass"):
        check_code("from manim import *\nclass A(VGroup):\n    pass\n")


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(InputError, match=r"^line 3: syntax error"):
        check_code("from manim import *\nclass A(Scene):\n    def construct(self)\n        pass\n")


def test_non_utf8_bytes() -> None:
    with pytest.raises(InputError, match=r"line 2: the code is not valid UTF-8 \(byte 0xff\)"):
        check_code(b"from manim import *\n# \xff\xfe caf\xe9\n")


def test_nul_bytes_and_empty_code() -> None:
    with pytest.raises(InputError, match="cannot be parsed"):
        check_code("from manim import *\x00\n")
    with pytest.raises(InputError, match="empty"):
        check_code("  \n")


def test_code_size_limit() -> None:
    big = scene_with("self.wait()") + "#" * MAX_CODE_BYTES
    with pytest.raises(InputError, match=f"the limit is {MAX_CODE_BYTES} bytes"):
        check_code(big)


def test_prompt_checks() -> None:
    assert check_prompt("  a blue circle  ", max_chars=20) == "a blue circle"
    with pytest.raises(InputError, match="empty"):
        check_prompt(" \n ", max_chars=20)
    with pytest.raises(InputError, match="21 characters long; the limit is 20"):
        check_prompt("x" * 21, max_chars=20)
