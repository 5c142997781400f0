"""SillyTavern's macros, filled in card fields and lore when a prompt is built.

`{{char}}` `{{user}}` `{{time}}` `{{date}}` `{{weekday}}` `{{isotime}}` `{{isodate}}` `{{idle_duration}}`
`{{random:a,b}}` (also `{{random::a::b}}`) `{{pick:a,b}}` (stable for the same text) `{{roll:d6}}`
`{{// comment}}` `{{newline}}` `{{trim}}` `{{noop}}`; older `<USER>` `<BOT>` `{char}` too. Nested macros are
filled inner first (`{{random:{{user}},friend}}`). Anything else is left as written. Never raises, whatever the text.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_BRACES = re.compile(r"\{\{|\}\}")
_MAX_NESTING = 16
_TRIM = re.compile(r"\s*\{\{\s*trim\s*\}\}\s*", re.IGNORECASE)
_ROLL = re.compile(r"^(\d{0,3})d(\d{1,6})$", re.IGNORECASE)


@dataclass(frozen=True)
class MacroContext:
    char: str
    user: str = "User"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    idle: timedelta | None = None  # since the member's previous message
    rng: random.Random = field(default_factory=random.Random, compare=False)


def _choices(arg: str) -> list[str]:
    return arg.split("::") if "::" in arg else arg.split(",")


def _humanize(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "a few seconds"


def _one(body: str, ctx: MacroContext, text: str) -> str | None:
    """The value of one macro, or None to leave it as written."""
    name, sep, arg = body.strip().partition(":")
    key = name.strip().lower()
    if body.strip().startswith("//"):
        return ""
    simple = {
        "char": ctx.char,
        "user": ctx.user,
        "time": ctx.now.strftime("%H:%M"),
        "date": f"{ctx.now:%B} {ctx.now.day}, {ctx.now.year}",
        "weekday": ctx.now.strftime("%A"),
        "isotime": ctx.now.strftime("%H:%M"),
        "isodate": ctx.now.strftime("%Y-%m-%d"),
        "newline": "\n",
        "noop": "",
    }
    if not sep and key in simple:
        return simple[key]
    if not sep and key == "idle_duration":
        return _humanize(ctx.idle) if ctx.idle is not None else "just now"
    if key in ("random", "pick") and sep:
        options = [o.strip() for o in _choices(arg.lstrip(":"))]
        if not options:
            return ""
        if key == "pick":  # SillyTavern: the same choice every time for the same text
            seed = int.from_bytes(hashlib.sha256((text + body).encode("utf-8", "replace")).digest()[:8], "big")
            return options[seed % len(options)]
        return ctx.rng.choice(options)
    if key == "roll" and sep:
        dice = _ROLL.match(arg.strip())
        if dice:
            count, sides = int(dice.group(1) or 1), int(dice.group(2))
            if sides > 0:
                return str(sum(ctx.rng.randint(1, sides) for _ in range(max(count, 1))))
    return None


def fill_macros(text: str, ctx: MacroContext) -> str:
    """The text with every known macro filled in."""
    if "{" not in text and "<" not in text:
        return text
    text = text.replace("<USER>", ctx.user).replace("<BOT>", ctx.char)
    text = re.sub(r"(?<!\{)\{char\}(?!\})", lambda _: ctx.char, text, flags=re.IGNORECASE)

    return _TRIM.sub("", _expand(text, ctx))


def _expand(text: str, ctx: MacroContext) -> str:
    """Every `{{...}}` filled, inner ones first (`{{random:{{user}},b}}`); what a macro is filled with
    is never read as a macro again (a member named `{{char}}` stays so)."""
    stack: list[list[str]] = [[]]
    at = 0
    for token in _BRACES.finditer(text):
        stack[-1].append(text[at : token.start()])
        at = token.end()
        if token.group(0) == "{{" and len(stack) <= _MAX_NESTING:
            stack.append([])
        elif token.group(0) == "}}" and len(stack) > 1:
            body = "".join(stack.pop())
            value = None if body.strip().lower() == "trim" else _one(body, ctx, text)
            stack[-1].append("{{" + body + "}}" if value is None else value)
        else:
            stack[-1].append(token.group(0))
    stack[-1].append(text[at:])
    while len(stack) > 1:  # never closed: kept as written
        body = "".join(stack.pop())
        stack[-1].append("{{" + body)
    return "".join(stack[0])
