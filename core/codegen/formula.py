"""Formulas the composer can typeset, and the gate for formulas users type.

Named formulas come from a fixed table written here, so every TeX command
in generated code is one of ours. A formula the user types between dollar
signs reaches TeX only when it uses a conservative character set: letters,
digits, spaces and plain operators, no backslash (so no ``\\input``,
``\\write18`` or any other command), no ``^^`` (TeX's way of spelling a
backslash without typing one), no ``%``, ``#``, ``&``, ``~`` or ``$``,
and balanced braces. Anything else is shown as plain ``Text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FORMULAS", "Formula", "find_named_formula", "user_formula"]


@dataclass(frozen=True)
class Formula:
    """A formula as TeX (for MathTex) and as Unicode text (the no-TeX fallback)."""

    name: str
    tex: str
    text: str
    from_table: bool = True


# (prompt pattern, formula); the patterns are matched on the lower-cased prompt.
FORMULAS: tuple[tuple[str, Formula], ...] = (
    (r"quadratic (?:formula|equation)",
     Formula("the quadratic formula", r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}", "x = (−b ± √(b² − 4ac)) / 2a")),
    (r"pythagora\w*(?: theorem)?|pythagorean (?:theorem|identity)?",
     Formula("Pythagoras' theorem", r"a^2 + b^2 = c^2", "a² + b² = c²")),
    (r"\be\s*=\s*mc\s*(?:\^\s*2|²|2)|mass[- ]energy(?: equivalence)?|einstein'?s? (?:equation|formula)",
     Formula("E = mc²", r"E = mc^2", "E = mc²")),
    (r"euler'?s? (?:identity|formula)",
     Formula("Euler's identity", r"e^{i\pi} + 1 = 0", "e^(iπ) + 1 = 0")),
    (r"geometric (?:series|sum)",
     Formula("a geometric series", r"\sum_{n=0}^{\infty} \frac{1}{2^n} = 2", "1 + 1/2 + 1/4 + … = 2")),
    (r"\b(?:sum|summation|series|sigma)\b",
     Formula("a sum", r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}", "1 + 2 + … + n = n(n+1)/2")),
    (r"gaussian integral",
     Formula("the Gaussian integral", r"\int_{-\infty}^{\infty} e^{-x^2}\,dx = \sqrt{\pi}", "∫ e^(−x²) dx = √π")),
    (r"\bintegrals?\b",
     Formula("an integral", r"\int_0^1 x^2\,dx = \frac{1}{3}", "∫₀¹ x² dx = 1/3")),
    (r"\bderivatives?\b|\bdifferentiat\w*",
     Formula("a derivative", r"\frac{d}{dx} x^n = n x^{n-1}", "d/dx xⁿ = n·xⁿ⁻¹")),
    (r"\blimits?\b",
     Formula("a limit", r"\lim_{x \to 0} \frac{\sin x}{x} = 1", "lim (x→0) sin(x)/x = 1")),
    (r"\bfractions?\b",
     Formula("a sum of fractions", r"\frac{1}{2} + \frac{1}{3} = \frac{5}{6}", "1/2 + 1/3 = 5/6")),
)

# What a typed formula may contain to reach TeX: no backslash, %, #, &, ~, $.
_SAFE_MATH = re.compile(r"[A-Za-z0-9 +\-*/=<>()\[\]{}^_.,:;!|']+")
_MAX_USER_FORMULA = 120
# A ^ or _ with nothing to raise or lower is a TeX error, not a formula.
_DANGLING = re.compile(r"[\^_]\s*(?:$|[\^_})\]])")


def find_named_formula(text: str) -> tuple[Formula, re.Match[str]] | None:
    """The first formula of the table named in ``text`` (lower-case), with its match."""
    for pattern, formula in FORMULAS:
        match = re.search(pattern, text)
        if match:
            return formula, match
    return None


def user_formula(source: str) -> tuple[Formula, bool]:
    """A formula typed by the user; the flag says whether it is safe for TeX."""
    source = source.strip()
    safe = (
        0 < len(source) <= _MAX_USER_FORMULA
        and _SAFE_MATH.fullmatch(source) is not None
        and "^^" not in source
        and _balanced(source)
        and _DANGLING.search(source) is None
    )
    return Formula(source, source if safe else "", source, from_table=False), safe


def _balanced(source: str) -> bool:
    depth = 0
    for char in source:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
