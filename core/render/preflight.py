"""Preflight: read the scene's code before anything runs.

This is a first line of defence and, above all, a good error message: it
refuses imports outside a short allowlist, the builtins that load or run
code (``__import__``, ``eval``, ``exec``, ``open``, ...), and attribute walks
through dunders (``().__class__.__bases__[0].__subclasses__()``), each with
the line it found them on. It is *not* the security boundary; the sandbox
is. Anything clever enough to slip past this still runs with no network, no
host files and hard resource limits.

It also finds the one Scene subclass to render.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from core.errors import InputError, UnsafeCodeError

__all__ = [
    "ALLOWED_MODULES",
    "MAX_CODE_BYTES",
    "SCENE_BASES",
    "PreflightReport",
    "check_code",
    "check_prompt",
    "decode_code",
]

MAX_CODE_BYTES = 100_000

# Top-level modules a scene may import; submodules are allowed only where
# listed in _ALLOWED_SUBMODULES (manim's are all allowed).
ALLOWED_MODULES = frozenset({
    "__future__", "manim", "math", "cmath", "numpy", "random", "itertools",
    "functools", "operator", "colour", "typing", "dataclasses", "enum",
    "fractions", "decimal", "statistics", "string", "collections", "copy",
})
_ALLOWED_SUBMODULES = frozenset({
    "numpy.linalg", "numpy.random", "collections.abc",
})

SCENE_BASES = frozenset({
    "Scene", "ThreeDScene", "SpecialThreeDScene", "MovingCameraScene",
    "ZoomedScene", "VectorScene", "LinearTransformationScene",
})

# Builtins that load, compile or run code, reach the host, or inspect frames.
_REFUSED_NAMES = {
    "__import__": "it imports modules at run time",
    "eval": "it runs arbitrary code",
    "exec": "it runs arbitrary code",
    "compile": "it builds code objects",
    "open": "scenes have no files to open",
    "globals": "it exposes the interpreter's internals",
    "locals": "it exposes the interpreter's internals",
    "vars": "it exposes the interpreter's internals",
    "breakpoint": "there is no debugger in a render",
    "input": "a render cannot ask questions",
    "memoryview": "it exposes raw memory",
}
_DYNAMIC_ATTR = frozenset({"getattr", "setattr", "delattr"})
# Non-dunder attributes that are classic ways out of a Python jail.
_REFUSED_ATTRS = frozenset({
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "gi_frame",
    "gi_code", "cr_frame", "ag_frame", "tb_frame", "tb_next", "ctypeslib",
})
_ALLOWED_DUNDER_NAMES = frozenset({"__name__", "__doc__"})
# "{0.__class__}".format(x) walks attributes without an Attribute node.
_FORMAT_DUNDER = re.compile(r"\{[^{}]*\.__\w+__")


@dataclass(frozen=True)
class PreflightReport:
    """What preflight learnt: the decoded code and the scene to render."""

    code: str
    scene: str


def check_prompt(prompt: str, *, max_chars: int) -> str:
    """A prompt must say something and fit the configured size."""
    text = prompt.strip()
    if not text:
        raise InputError("The prompt is empty.", hint="Describe the animation, e.g. 'a blue circle grows'.")
    if len(text) > max_chars:
        raise InputError(
            f"The prompt is {len(text)} characters long; the limit is {max_chars}.",
            hint="Describe the animation in fewer words.",
        )
    return text


def decode_code(code: str | bytes) -> str:
    """Bytes must be UTF-8 and the code must fit the size limit."""
    raw = code.encode("utf-8", "surrogatepass") if isinstance(code, str) else code
    if len(raw) > MAX_CODE_BYTES:
        raise InputError(
            f"The code is {len(raw)} bytes; the limit is {MAX_CODE_BYTES} bytes.",
            hint="Split the animation into shorter scenes.",
        )
    if isinstance(code, str):
        text = code
    else:
        try:
            text = code.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = code[: exc.start].count(b"\n") + 1
            raise InputError(
                f"line {line}: the code is not valid UTF-8 (byte 0x{code[exc.start]:02x}).",
                hint="Save the file as UTF-8.",
            ) from None
    if not text.strip():
        raise InputError("The code is empty.", hint="Write a Scene subclass with a construct() method.")
    return text


def check_code(code: str | bytes) -> PreflightReport:
    """Parse, lint and find the scene; raise InputError/UnsafeCodeError naming the line."""
    text = decode_code(code)
    try:
        tree = ast.parse(text, filename="scene.py")
    except SyntaxError as exc:
        raise InputError(
            f"line {exc.lineno or 1}: syntax error: {exc.msg}.",
            hint="Fix the Python syntax and try again.",
        ) from None
    except ValueError as exc:  # e.g. NUL bytes
        raise InputError(f"The code cannot be parsed: {exc}.") from None
    problems = _Linter().problems(tree)
    if problems:
        line, message = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise UnsafeCodeError(
            f"line {line}: {message}{more}",
            detail="\n".join(f"line {ln}: {msg}" for ln, msg in problems),
        )
    return PreflightReport(code=text, scene=_find_scene(tree))


def _find_scene(tree: ast.Module) -> str:
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    scenes: set[str] = set()
    changed = True
    while changed:  # a class deriving from a scene class of this file is a scene too
        changed = False
        for name, node in classes.items():
            if name not in scenes and any(
                _base_name(b) in SCENE_BASES or _base_name(b) in scenes for b in node.bases
            ):
                scenes.add(name)
                changed = True
    # Shared base scenes (subclassed by another scene here) are not rendered.
    used_as_base = {_base_name(b) for name in scenes for b in classes[name].bases}
    leaves = sorted((n for n in scenes if n not in used_as_base), key=lambda n: classes[n].lineno)
    if not leaves:
        raise InputError(
            "The code has no Scene subclass to render.",
            hint="Define one class deriving from Scene (or ThreeDScene, MovingCameraScene, ...) with a construct() method.",
        )
    if len(leaves) > 1:
        raise InputError(
            f"The code has {len(leaves)} scenes ({', '.join(leaves)}); exactly one is rendered.",
            hint="Keep one Scene subclass, or merge the scenes into one construct().",
        )
    return leaves[0]


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _module_allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top == "manim" or module in _ALLOWED_SUBMODULES:
        return True
    return module in ALLOWED_MODULES


class _Linter(ast.NodeVisitor):
    def __init__(self) -> None:
        self._found: list[tuple[int, int, str]] = []

    def problems(self, tree: ast.AST) -> list[tuple[int, str]]:
        """(line, message) pairs in source order."""
        self.visit(tree)
        return [(line, msg) for line, _, msg in sorted(set(self._found))]

    def _refuse(self, node: ast.AST, message: str) -> None:
        self._found.append((getattr(node, "lineno", 1), getattr(node, "end_col_offset", 0) or 0, message))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _module_allowed(alias.name):
                self._refuse(node, f"import of '{alias.name}' is not allowed")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._refuse(node, "relative imports are not allowed")
        elif not _module_allowed(node.module or ""):
            self._refuse(node, f"import of '{node.module}' is not allowed")
        for alias in node.names:
            if _is_dunder(alias.name) and node.module != "__future__":
                self._refuse(node, f"import of '{alias.name}' is not allowed")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _REFUSED_NAMES:
            self._refuse(node, f"'{node.id}' is not allowed: {_REFUSED_NAMES[node.id]}")
        elif node.id in _DYNAMIC_ATTR:
            # Calls are vetted in visit_Call; any other use (aliasing) is refused.
            self._refuse(node, f"'{node.id}' may only be called with a literal attribute name")
        elif _is_dunder(node.id) and node.id not in _ALLOWED_DUNDER_NAMES:
            self._refuse(node, f"the name '{node.id}' is not allowed")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _DYNAMIC_ATTR:
            name = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self._refuse(node, f"{func.id}() needs a literal attribute name")
            elif _is_dunder(name.value):
                self._refuse(node, f"{func.id}() of the dunder '{name.value}' is not allowed")
            for arg in node.args:
                self.visit(arg)
            for kw in node.keywords:
                self.visit(kw)
            return
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_dunder(node.attr):
            # `super().__init__(...)`, `self.__init__`, `Base.__init__(self)` and reading
            # `.__name__`/`.__doc__` are ordinary; every other dunder walk is refused.
            allowed = node.attr in _ALLOWED_DUNDER_NAMES or node.attr == "__init__" and (
                isinstance(node.value, ast.Name)
                or (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                    and node.value.func.id == "super")
            )
            if not allowed:
                self._refuse(node, f"access to the attribute '{node.attr}' is not allowed")
        elif node.attr in _REFUSED_ATTRS:
            self._refuse(node, f"access to the attribute '{node.attr}' is not allowed")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _FORMAT_DUNDER.search(node.value):
            self._refuse(node, "format strings may not reach dunder attributes")
