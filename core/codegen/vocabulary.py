"""The words the composer knows: colours, shapes, numbers and filler.

Colours map to manim colour constants (names, never values from the
prompt), so generated code only ever refers to names manim exports.
"""

from __future__ import annotations

__all__ = [
    "COLORS", "COLOR_RE", "NUMBER_WORDS", "SHAPES", "SHAPE_RE", "STOPWORDS",
    "color_constant", "count_of", "shape_kind",
]

COLORS = {
    "red": "RED", "blue": "BLUE", "green": "GREEN", "yellow": "YELLOW", "orange": "ORANGE",
    "purple": "PURPLE", "violet": "PURPLE", "pink": "PINK", "magenta": "PINK", "teal": "TEAL",
    "cyan": "TEAL", "turquoise": "TEAL", "gold": "GOLD", "golden": "GOLD", "maroon": "MAROON",
    "white": "WHITE", "grey": "GREY", "gray": "GRAY", "black": "BLACK", "brown": "DARK_BROWN",
}
# "light X"/"dark X": manim's own named shades where they exist, else its A..E scale.
_SHADES = {
    ("dark", "blue"): "DARK_BLUE", ("dark", "grey"): "DARK_GREY", ("dark", "gray"): "DARK_GRAY",
    ("light", "grey"): "LIGHT_GREY", ("light", "gray"): "LIGHT_GRAY", ("light", "pink"): "LIGHT_PINK",
    ("light", "brown"): "LIGHT_BROWN", ("dark", "brown"): "DARK_BROWN",
}
_SCALED = {"blue", "teal", "green", "yellow", "gold", "red", "maroon", "purple"}
COLOR_RE = r"(?:(?:dark|light)\s+)?(?:" + "|".join(sorted(COLORS, key=len, reverse=True)) + r")"

SHAPES = {
    "circle": "circle", "square": "square", "rectangle": "rectangle", "triangle": "triangle",
    "star": "star", "hexagon": "hexagon", "pentagon": "pentagon", "octagon": "octagon",
    "polygon": "polygon", "arrow": "arrow", "line": "line", "dot": "dot",
    "ellipse": "ellipse", "oval": "ellipse", "box": "square", "ring": "circle",
}
SHAPE_RE = r"(?:" + "|".join(sorted(SHAPES, key=len, reverse=True)) + r")(?:e?s)?\b"

NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "fifteen": "15", "twenty": "20", "thirty": "30",
}

# Filler that carries no meaning for the composer; everything else must be used.
STOPWORDS = frozenset("""
a an the of and with to into in on at by is are be it its it's itself them they this that
then show shows showing display displays displaying draw draws drawing make makes making
create creates creating animate animates animation animated scene video clip please me
which after while first next finally now some appear appears appearing appeared there
slowly quickly smoothly nicely nice simple simply new let lets let's can could you i want
would like see screen center centre middle onto from as so we us my our your also
should will just gets get got starting start starts begin begins beginning end ends
again both each together same moment over under
""".split())


def color_constant(words: str) -> str:
    """'dark blue' -> 'DARK_BLUE', 'light green' -> 'GREEN_B', 'red' -> 'RED'."""
    parts = words.lower().split()
    base = parts[-1]
    if len(parts) == 2:
        shade = (parts[0], base)
        if shade in _SHADES:
            return _SHADES[shade]
        if base in _SCALED:
            return f"{COLORS[base]}_{'B' if parts[0] == 'light' else 'D'}"
    return COLORS[base]


def shape_kind(word: str) -> str:
    word = word.lower()
    for name in sorted(SHAPES, key=len, reverse=True):
        if word.startswith(name):
            return SHAPES[name]
    raise KeyError(word)


def count_of(word: str | None) -> int:
    if word is None:
        return 1
    value = int(NUMBER_WORDS.get(word.lower(), word))
    return max(1, min(12, value))
