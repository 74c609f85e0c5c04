"""Code generation: prompts in, Manim scenes out.

The built-in offline composer (:func:`compose`) is the default; it needs no
network and is deterministic.
"""

from core.codegen.builtin import Composition, compose

__all__ = ["Composition", "compose"]
