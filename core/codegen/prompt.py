"""Reading a prompt: from a sentence to a plan of steps.

The prompt is cut into segments ("then", ";", ",", ". "), each segment is
read by a handful of recognisers (shapes, text, formulas, graphs, counting,
transforms, actions), and every word no recogniser used and that is not
filler ("a", "the", "show", ...) is reported back as not understood. User
text is kept as data (quoted strings and ``$...$`` formulas are lifted out
first); nothing here produces code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.codegen.expression import parse_expression
from core.codegen.formula import find_named_formula, user_formula
from core.codegen.plan import Act, Count, Math, Morph, Plan, Plot, Shape, Show, Step, Thing, Words
from core.codegen.vocabulary import (
    COLOR_RE, NUMBER_WORDS, SHAPE_RE, STOPWORDS, color_constant, count_of, shape_kind,
)

__all__ = ["MAX_THINGS", "parse_prompt"]

MAX_THINGS = 12  # things shown together in one step


_NUM = r"-?\d+(?:\.\d+)?"
_NUMBER_WORD = "|".join(NUMBER_WORDS)
_DURATION = re.compile(
    rf"(?:\b(?:in|for|over|lasting|during|within|taking|of)\s+)?(?:about\s+)?"
    rf"(?P<n>\d+(?:\.\d+)?|{_NUMBER_WORD})\s*-?\s*(?:s|secs?|seconds?)\b(?:\s+long)?",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"\"([^\"]*)\"|“([^”]*)”|(?<!\w)'([^']*)'(?!\w)")
_DOLLAR = re.compile(r"\$([^$]*)\$")
_SPLIT = re.compile(r"\s*(?:;|,|\.\s|\.$|\band then\b|\bthen\b|\bafter that\b|\bfinally\b|\bafterwards\b)\s*", re.I)
_PLACEHOLDER = re.compile(r"⟦([qm])(\d+)⟧")

_COUNT = re.compile(
    rf"\bcount(?:s|ing)?(?:\s+(?:up|down))?\s+from\s+(?P<a>{_NUM})\s+(?:to|until|till)\s+(?P<b>{_NUM})"
    rf"|\bcount(?:s|ing)?\s+(?:up\s+)?to\s+(?P<c>{_NUM})"
    rf"|\bcount\s*down\s+from\s+(?P<d>{_NUM})"
)
_PLOT = re.compile(r"\b(?:graph|plot|function|curve)s?\b(?:\s+of)?(?:\s+(?:y|f\s*\(\s*x\s*\))\s*=)?|\by\s*=")
_NAMED_CURVES = {"parabola": "x^2", "sine wave": "sin(x)", "sine curve": "sin(x)", "cosine wave": "cos(x)",
                 "cosine curve": "cos(x)", "exponential": "e^x", "cubic": "x^3"}
_RANGE = re.compile(rf"\b(?:from|between|for x from|over)\s+(?P<a>{_NUM}|-?pi)\s+(?:to|and)\s+(?P<b>{_NUM}|pi)\b")
_ARRIVES = r"\s*(?:\b(?:appears?|shows? up|pops? up|fades? in|is (?:written|shown|displayed)|comes? in)\b.*)?$"
_FORMULA_WORD = re.compile(r"\b(?:formula|equation)\s+(?P<f>[^⟦\s][^⟦]*?)" + _ARRIVES)
_TEXT = re.compile(r"\b(?:text|words?|title|caption|saying|says|reading|label|message|writes?)\s+(?:of\s+)?(?P<t>\S.*)$")
_TEXT_STOP = re.compile(
    r"\s(?:moves?|moving|slides?|shifts?|rotates?|rotating|spins?|spinning|grows?|shrinks?|scales?|fades?|"
    r"turns?|becomes?|morphs?|transforms?|changes?|disappears?|vanishes|wiggles?|shakes?|appears?|"
    r"shows? up|pops? up|is (?:written|shown|displayed|drawn)|comes? in)\b"
)
_MORPH = re.compile(
    r"\b(?:turns?|turning|changes?|changing|morphs?|morphing|transforms?|transforming)\s+(?:back\s+)?into\b"
    r"|\bbecomes?\b(?!\s+(?:bigger|smaller|larger))|\binto\b"
)
_MORPH_VERB = re.compile(r"^\s*(?:morph|transform|turn|change)\b")
_RECOLOR = re.compile(
    rf"\b(?:turns?|becomes?|goes|gets|changes?(?:\s+(?:its\s+)?colou?rs?)?(?:\s+to)?|colou?r(?:s|ed)?(?:\s+it)?|paint(?:s|ed)?(?:\s+it)?)"
    rf"\s+(?P<color>{COLOR_RE})\b(?!\s+{SHAPE_RE})"
)
_ANGLE = re.compile(rf"(?:by\s+)?(?P<deg>{_NUM})\s*(?:degrees?|deg|°)|(?P<turn>half|quarter|full)(?:\s+a)?\s+turn")
_ROTATE = re.compile(r"\b(?:rotat\w*|spin\w*|twirl\w*|turns?(?=\s+(?:around|round|by|\d|clockwise|counter|anti|half|quarter|full|$)))")
_MOVE = re.compile(r"\b(?:mov(?:e|es|ing)|shift\w*|slid\w*|goes|go|travel\w*)\b")
_DIRECTION = re.compile(r"\b(?:to the\s+)?(left|right|up|upwards?|down|downwards?)\b")
_BY = re.compile(rf"\bby\s+(?P<n>{_NUM})(?:\s+units?)?\b")
_GROW_IN = re.compile(r"\bgrow(?:s|ing)?\b(?!\s+(?:bigger|larger))")
_GROW = re.compile(r"\b(?:(?:becomes?|gets?|grows?)\s+)?(?:grows?|growing|enlarg\w*|bigger|larger|expands?|expanding)\b")
_SHRINK = re.compile(r"\b(?:(?:becomes?|gets?)\s+)?(?:shrinks?|shrinking|smaller)\b")
_SCALE = re.compile(rf"\bscal(?:e|es|ed|ing)(?:\s+(?P<dir>up|down))?(?:\s+by)?(?:\s+(?:a\s+factor\s+of\s+)?(?P<n>\d+(?:\.\d+)?)\s*x?)?")
_FADE_OUT = re.compile(r"\bfad\w*\s+(?:away|out)\b|\bdisappear\w*|\bvanish\w*|\bremov\w*|\bgoes away\b")
_FADE_IN = re.compile(r"\bfad\w*(?:\s+in)?\b")
_ENTRANCE = {"create": re.compile(r"\b(?:is|are)\s+drawn\b|\bdraw(?:s|n)?\b|\bcreated?\b"),
             "write": re.compile(r"\b(?:is|are)\s+written\b|\bwrit(?:e|es|ten)\b")}
_HIGHLIGHTS = {
    "indicate": re.compile(r"\b(?:indicat\w*|highlight\w*|flash\w*|puls\w*|emphasi[sz]\w*)\b"),
    "circumscribe": re.compile(r"\b(?:circumscrib\w*|circled)\b"),
    "wiggle": re.compile(r"\b(?:wiggl\w*|shak(?:e|es|ing))\b"),
}
_LABEL_BEFORE = re.compile(r"\b(?:text|words?|title|caption|label|message|saying|says|reading)\s*$")
_MATH_LABEL_BEFORE = re.compile(r"\b(?:formula|equation|math|expression)\s*$")
_COLOR_AFTER = re.compile(rf"\s+(?:in\s+)?(?P<c>{COLOR_RE})\b")
_DIRECTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, 1.0), "down": (0.0, -1.0)}


def parse_prompt(prompt: str) -> Plan:
    """Read ``prompt`` into a plan; never raises on odd input."""
    plan = Plan()
    text = prompt.replace("⟦", " ").replace("⟧", " ")
    quotes: list[str] = []
    maths: list[str] = []

    def lift(store: list[str], tag: str) -> Callable[[re.Match[str]], str]:
        def sub(match: re.Match[str]) -> str:
            store.append(next(g for g in match.groups() if g is not None))
            return f" ⟦{tag}{len(store) - 1}⟧ "
        return sub

    text = _QUOTE.sub(lift(quotes, "q"), text)
    text = _DOLLAR.sub(lift(maths, "m"), text)
    durations = list(_DURATION.finditer(text))
    if durations:
        value = durations[-1].group("n").lower()
        plan.duration_s = float(NUMBER_WORDS.get(value, value))
        text = _DURATION.sub(" ", text)
    for segment in _SPLIT.split(text):
        if segment.strip():
            _Segment(segment, quotes, maths, plan).read()
    return plan


class _Segment:
    """One clause of the prompt, with a mask of the characters already used."""

    def __init__(self, original: str, quotes: list[str], maths: list[str], plan: Plan) -> None:
        self.original = original
        # Lower-case character by character so positions match the original ("İ".lower() is 2 chars).
        self.lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in original)
        self.used = [False] * len(original)
        self.quotes, self.maths, self.plan = quotes, maths, plan
        self.on_screen = _on_screen(plan.steps)
        self.references: set[int] = set()  # positions of things that name what is already shown

    def definite(self, start: int) -> bool:
        """Is the word at ``start`` preceded by "the" (or this/that)?"""
        return re.search(r"\b(?:the|this|that)\s+$", self.lower[:start]) is not None

    def free(self) -> str:
        """The lower-cased segment with used characters blanked out."""
        return "".join(" " if u else c for c, u in zip(self.lower, self.used))

    def use(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.used[i] = True

    def find(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.search(self.free())
        if match:
            self.use(match.start(), match.end())
        return match

    def read(self) -> None:
        steps = self.counting() or self.plotting() or self.composition()
        self.plan.steps.extend(steps)
        for word in re.finditer(r"[^\s,.!?;:()]+", self.free()):
            token = word.group(0).strip("'\"")
            if token and token not in STOPWORDS:
                original = self.original[word.start():word.end()].strip("'\"")
                if original not in self.plan.not_understood:
                    self.plan.not_understood.append(original)

    def counting(self) -> list[Step]:
        match = self.find(_COUNT)
        if not match:
            return []
        if match.group("a") is not None:
            a, b = match.group("a"), match.group("b")
        elif match.group("c") is not None:
            a, b = "1", match.group("c")
        else:
            a, b = match.group("d"), "0"
        decimals = max(len(n.partition(".")[2]) for n in (a, b))
        start, end = (max(-1e6, min(1e6, float(n))) for n in (a, b))
        return [Count(start, end, min(decimals, 3))]

    def plotting(self) -> list[Step]:
        free = self.free()
        named = next((name for name in _NAMED_CURVES if name in free), None)
        trigger = _PLOT.search(free)
        if named is None and trigger is None:
            return []
        range_match = _RANGE.search(free)
        if named is not None:
            start = free.index(named)
            self.use(start, start + len(named))
            if trigger:
                self.use(trigger.start(), trigger.end())
            expr = parse_expression(_NAMED_CURVES[named])
        else:
            assert trigger is not None
            end = range_match.start() if range_match and range_match.start() > trigger.end() else len(free)
            words = free[trigger.end():end].split()
            expr, used_words = None, 0
            for n in range(len(words), 0, -1):  # the longest run of words that is a function
                expr = parse_expression(" ".join(words[:n]))
                if expr is not None:
                    used_words = n
                    break
            if expr is None:
                return []
            self.use(trigger.start(), trigger.end())
            pos = trigger.end()
            for word in words[:used_words]:
                pos = free.index(word, pos) + len(word)
            self.use(trigger.end(), pos)
        assert expr is not None
        if range_match:
            self.use(range_match.start(), range_match.end())
            a, b = (float(_pi(range_match.group(k))) for k in ("a", "b"))
            x_min, x_max = min(a, b), max(a, b)
        else:
            x_min, x_max = (0.0, 6.0) if expr.uses_log_or_sqrt else (-4.0, 4.0)
        if x_max - x_min < 1e-6 or max(abs(x_min), abs(x_max)) > 1e4:
            self.plan.notes.append(f"The range {x_min:g} to {x_max:g} is not one I can plot; I used -4 to 4.")
            x_min, x_max = -4.0, 4.0
        color = self.find(re.compile(COLOR_RE))
        return [Plot(expr, x_min, x_max, color_constant(color.group(0)) if color else None)]

    def composition(self) -> list[Step]:
        steps: list[Step] = []
        recolor = self.find(_RECOLOR)
        morph_at = None
        morph = _MORPH.search(self.free())
        if morph and not (recolor and morph.start() < recolor.start() < morph.end() + 2):
            self.use(morph.start(), morph.end())
            verb = _MORPH_VERB.search(self.free())
            if verb:
                self.use(verb.start(), verb.end())
            morph_at = morph.start()
        things = self.things()
        if things and all(pos in self.references for pos, _ in things) and morph_at is None:
            things = []  # "then the star spins": the star already on screen
        before = tuple(t for pos, t in things if morph_at is None or pos < morph_at)
        after = tuple(t for pos, t in things if morph_at is not None and pos >= morph_at)
        entrance = self.entrance() if before else "default"
        actions = self.actions()
        if before:
            steps.append(Show(before, entrance))
        if after:
            steps.append(Morph(after))
        elif morph_at is not None and not recolor:
            self.plan.notes.append("I saw a transformation but not what to turn into.")
        if recolor:
            actions.append((recolor.start(), Act("recolor", color=color_constant(recolor.group("color")))))
        steps.extend(act for _, act in sorted(actions, key=lambda pa: pa[0]))
        return steps

    def entrance(self) -> str:
        """How new things come in: "a circle grows", "the text fades in", ..."""
        if self.find(_GROW_IN):
            return "grow"
        fade = _FADE_IN.search(self.free())
        if fade and _FADE_OUT.search(self.free()) is None:
            self.use(fade.start(), fade.end())
            return "fade"
        for name, pattern in _ENTRANCE.items():
            if self.find(pattern):
                return name
        return "default"

    def things(self) -> list[tuple[int, Thing]]:
        found: list[tuple[int, Thing]] = []
        for match in _PLACEHOLDER.finditer(self.free()):
            kind, index = match.group(1), int(match.group(2))
            self.use(match.start(), match.end())
            if label := (_LABEL_BEFORE if kind == "q" else _MATH_LABEL_BEFORE).search(self.free()[:match.start()]):
                self.use(label.start(), label.end())  # 'the text "Hi"', "the formula $x^2$"
            if not (self.quotes if kind == "q" else self.maths)[index].strip():
                self.plan.notes.append("I left out an empty quote or formula.")
            elif kind == "q":
                found.append((match.start(), Words(self.quotes[index], self.nearby_color(match))))
            else:
                formula, safe = user_formula(self.maths[index])
                if not safe:
                    self.plan.notes.append(
                        f"The formula {self.maths[index]!r} uses characters I do not typeset; it is shown as plain text.")
                found.append((match.start(), Math(formula)))
        named = find_named_formula(self.free())
        if named:
            formula, match = named
            self.use(match.start(), match.end())
            found.append((match.start(), Math(formula, self.nearby_color(match))))
        elif word := _FORMULA_WORD.search(self.free()):
            self.use(word.start(), word.end("f"))
            formula, safe = user_formula(self.original[word.start("f"):word.end("f")])
            if not safe:
                self.plan.notes.append(
                    f"The formula {formula.text!r} uses characters I do not typeset; it is shown as plain text.")
            found.append((word.start(), Math(formula)))
        if not found:  # unquoted text only when nothing else names the thing
            text = _TEXT.search(self.free())
            if text and self.definite(text.start()) and "text" in self.on_screen:
                self.use(text.start(), text.start("t"))
                text = None  # "then the text moves up": the text already on screen
            if text and (end := self.text_end(text.start("t"), text.end("t"))) > text.start("t"):
                self.use(text.start(), end)
                found.append((text.start(), Words(self.original[text.start("t"):end].strip())))
        for match in re.finditer(SHAPE_RE_FULL, self.free()):
            self.use(match.start(), match.end())
            if self.definite(match.start()) and shape_kind(match.group("shape")) in self.on_screen:
                self.references.add(match.start())
            color = match.group("color") or match.group("color2")
            sides = match.group("sides") or match.group("sides2")
            found.append((match.start(), Shape(
                shape_kind(match.group("shape")),
                color_constant(color) if color else None,
                count_of(match.group("count")),
                int(sides) if sides else 6,
            )))
        if len(found) > MAX_THINGS:
            self.plan.notes.append(f"I showed the first {MAX_THINGS} of {len(found)} things named together.")
        return sorted(found, key=lambda pt: pt[0])[:MAX_THINGS]

    def text_end(self, start: int, end: int) -> int:
        """Unquoted text runs until something already read, or a verb ("moves", "appears")."""
        end = next((i for i in range(start, end) if self.used[i]), end)
        verb = _TEXT_STOP.search(self.free(), start, end)
        end = verb.start() if verb else end
        while end > start and self.lower[end - 1].isspace():
            end -= 1
        return end

    def nearby_color(self, match: re.Match[str]) -> str | None:
        hit = _COLOR_AFTER.match(self.free(), match.end())
        if hit:
            self.use(hit.start(), hit.end())
            return color_constant(hit.group("c"))
        return None

    def actions(self) -> list[tuple[int, Act]]:
        acts: list[tuple[int, Act]] = []
        if rotate := self.find(_ROTATE):
            angle = self.find(_ANGLE)
            degrees = 360.0 if rotate.group(0).startswith(("spin", "twirl")) else 180.0
            if angle:
                degrees = float(angle.group("deg")) if angle.group("deg") else {
                    "half": 180.0, "quarter": 90.0, "full": 360.0}[angle.group("turn")]
            if self.find(re.compile(r"\b(?<!anti-)(?<!counter-)(?<!counter)clockwise\b")):
                degrees = -degrees
            self.find(re.compile(r"\b(?:anti|counter)-?clockwise\b|\b(?:a)?round\b"))
            acts.append((rotate.start(), Act("rotate", amount=max(-3600.0, min(3600.0, degrees)))))
        move = self.find(_MOVE)
        directions = []
        while direction := self.find(_DIRECTION):
            directions.append(direction)
        if directions:
            dx = sum(_DIRECTIONS[d.group(1).rstrip("s").replace("ward", "")][0] for d in directions)
            dy = sum(_DIRECTIONS[d.group(1).rstrip("s").replace("ward", "")][1] for d in directions)
            by = self.find(_BY)
            distance = max(0.0, min(6.0, float(by.group("n")))) if by else 2.0
            start = move.start() if move else directions[0].start()
            acts.append((start, Act("move", amount=distance, direction=(dx, dy))))
        elif move:
            self.plan.notes.append("I saw a move but no direction (left, right, up, down).")
        if scale := self.find(_SCALE):
            factor = float(scale.group("n")) if scale.group("n") else (0.5 if scale.group("dir") == "down" else 1.5)
            acts.append((scale.start(), Act("scale", amount=max(0.1, min(4.0, factor)))))
        for pattern, factor in ((_SHRINK, 0.5), (_GROW, 1.5)):
            if hit := self.find(pattern):
                acts.append((hit.start(), Act("scale", amount=factor)))
        if fade := self.find(_FADE_OUT):
            acts.append((fade.start(), Act("fade_out")))
        for kind, pattern in _HIGHLIGHTS.items():
            if hit := self.find(pattern):
                acts.append((hit.start(), Act(kind)))
        return acts


def _on_screen(steps: list[Step]) -> set[str]:
    """The kinds of thing the steps so far leave on screen ("circle", "text", ...)."""
    kinds: set[str] = set()
    for step in steps:
        if isinstance(step, Show | Morph):
            kinds = {t.kind if isinstance(t, Shape) else "text" if isinstance(t, Words) else "formula"
                     for t in step.things}
        elif isinstance(step, Count | Plot):
            kinds = {"number"} if isinstance(step, Count) else {"graph"}
        elif step.kind == "fade_out":
            kinds = set()
    return kinds


def _pi(value: str) -> float:
    return {"pi": 3.141592653589793, "-pi": -3.141592653589793}.get(value, 0.0) or float(value)


SHAPE_RE_FULL = re.compile(
    rf"(?:\b(?P<count>\d+|{_NUMBER_WORD})\s+)?(?:(?P<color>{COLOR_RE})\s+)?(?:(?P<sides>\d+)[- ]sided\s+)?"
    rf"(?P<shape>{SHAPE_RE})(?:\s+with\s+(?P<sides2>\d+)\s+sides)?(?:\s+(?:in|colou?red)\s+(?P<color2>{COLOR_RE})\b)?"
)
