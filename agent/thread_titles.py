"""A thread's name from the question that opens it: short, plain, safe to show.

Discord allows 1–100 characters. Mentions, custom emoji, timestamps, paired markdown (bold, italics,
strikethrough, spoilers, code) and invisible or direction-changing characters are taken out (a name
shows none of them, and a mention there would only read as `<@123…>`); a masked link keeps its text, a
bare URL its host. The first line is used, cut at a word (or, in Chinese, Japanese and
Korean, at any character) and never inside a grapheme cluster (flags, ZWJ emoji, combining marks),
with "…" where it was cut."""

from __future__ import annotations

import re

import regex

from agent.events import without_mention

TITLE_LIMIT = 100  # Discord's limit for a thread's name
_GRAPHEME = regex.compile(r"\X", regex.DOTALL)
_DISCORD_MARKUP = re.compile(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[tTdDfFR])?|/[\w -]+:\d+)>")
_NAMED_MENTION = re.compile(r"(?<![\w@])@(?:everyone|here)\b")
_FENCE = re.compile(r"```[^\n]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_MASKED = re.compile(r"\[([^\]\n]*)\]\(<?https?://[^)\s]*>?\)")
_URL = re.compile(r"<?https?://([^/\s<>:]+)[^\s<>]*>?")
# Only markup that cannot be part of what was asked: paired bold, italics, strikethrough, spoiler
# markers and backticks. A lone `*`, `_`, `#` or `>` is kept ("C#", "5 > 3", "my_var", "__init__.py", "*args").
_PAIRED = re.compile(r"(\*\*|~~|\|\|)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])|(?<!\w)_(?![\s_])(.+?)(?<![\s_])_(?!\w)")
_TICKS = re.compile(r"`+")
_HEADING = re.compile(r"^\s*(?:#{1,3}|-#|>{1,3}|[-*+]|\d+[.)])\s+", re.MULTILINE)
# Zero-width and direction controls: an invisible name, or one shown reversed to pass for other text.
# (Not ZWJ and ZWNJ: they join emoji sequences and Persian or Indic letters.)
_INVISIBLE = re.compile(r"[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_VISIBLE = regex.compile(r"[\p{L}\p{N}\p{P}\p{S}]")
_WIDE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")


def thread_title(text: str, bot_mention: str = "", fallback: str = "Question") -> str:
    """A thread name of 1–`TITLE_LIMIT` characters for a question `text` (the bot's `bot_mention`, e.g.
    "@Observer", left out). `fallback` when nothing readable is left (only a mention, a file)."""
    plain = _INVISIBLE.sub("", text)  # first: Discord's clean text writes "@\u200beveryone"
    plain = without_mention(plain, bot_mention) if bot_mention else plain
    plain = _FENCE.sub(lambda m: m.group(1), plain)
    plain = _DISCORD_MARKUP.sub(" ", plain)
    plain = _NAMED_MENTION.sub(" ", plain)
    plain = re.sub(r"(?<!\w)@(?=\w)", "", plain)  # "@alice" (a mention as members read it) → "alice"
    plain = _MASKED.sub(lambda m: m.group(1), plain)
    plain = _URL.sub(lambda m: m.group(1), plain)
    plain = _HEADING.sub("", plain)
    plain = _PAIRED.sub(lambda m: m.group(2), plain)
    plain = _TICKS.sub("", _ITALIC.sub(lambda m: m.group(1) or m.group(2), plain))
    line = next((ln for ln in (" ".join(part.split()) for part in plain.splitlines()) if _VISIBLE.search(ln)), "")
    line = line.strip(" -–—:;,、，") or line.strip()
    if not line:
        return fallback[:TITLE_LIMIT]
    return _cut(line, TITLE_LIMIT)


def _cut(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    clusters = _GRAPHEME.findall(line)
    kept: list[str] = []
    size = 0
    for cluster in clusters:
        if size + len(cluster) > limit - 1:  # room for the ellipsis
            break
        kept.append(cluster)
        size += len(cluster)
    head = "".join(kept)
    # At a word boundary when the text has spaces and the cut is in a word (not in CJK text, which has none).
    space = head.rfind(" ")
    if space > limit // 2 and not _WIDE.match(head[-1:] or " "):
        head = head[:space]
    return head.rstrip(" ,.;:、，") + "…"
