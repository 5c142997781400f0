"""Prompts are files in `prompts/`: named `{placeholders}`, checked at start, reloaded when edited.

A guild can override any prompt with `OBSERVER_DATA_DIR/prompts/<guild id>/<name>.md`.
Hot path cost: one `stat` of the prompt file in use; files are re-read only when their modification
time or size changed. Which guilds have override files is rescanned at most every
OVERRIDE_RESCAN_SECONDS, so a new override file is picked up within that time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ConfigError

log = logging.getLogger(__name__)

# Every prompt and exactly the values the code gives it. A prompt must use each of them.
PROMPT_VARIABLES: dict[str, frozenset[str]] = {
    "judge": frozenset({"bot_name", "models", "history", "message", "author", "channel"}),
    "system": frozenset({"bot_name", "persona", "memory", "channel", "author", "date", "member_profile"}),
    "persona": frozenset({"bot_name"}),
    "examples": frozenset(),
    "voice": frozenset({"bot_name"}),
    "profile": frozenset({"bot_name", "member", "messages"}),
    "cast_judge": frozenset({"channel", "candidates", "history", "message", "author"}),
    "cast": frozenset({"speaker", "others"}),
    "summary": frozenset({"bot_name", "channel", "since", "language", "messages"}),
    # /test's grader model: is the answer the expected one?
    "grade": frozenset({"question", "expected", "answer"}),
    # /instruction: the operator's document for members (plain Markdown; the bot's name if wanted).
    "instruction": frozenset(),
}
# Offered to a prompt but not required of it: an operator's older judge prompt keeps working.
OPTIONAL_VARIABLES: dict[str, frozenset[str]] = {
    "judge": frozenset({"tools"}),
    # The default persona's example messages: `{user}:` / `{char}:` lines, or an empty file for none.
    "examples": frozenset({"user", "char"}),
    "instruction": frozenset({"bot_name"}),
}


# Documents shown to members as written, not templates: braces are text (a help page shows JSON) and
# only `{bot_name}` is replaced.
LITERAL_PROMPTS = frozenset({"instruction"})

OVERRIDE_RESCAN_SECONDS = 2.0


class PromptError(ConfigError):
    """A prompt file that the code cannot fill: names the file and line (`line`, and `problem` without
    the place, for a page that shows the text beside its own editor)."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}" if line is not None else f"{path}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class _Loaded:
    text: str
    stamp: tuple[int, int, int]


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    # The inode too: a file saved by replacing it (the dashboard's atomic save) is always a new one, even
    # when its size and modification time match the last version's.
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def check_template(name: str, path: Path, text: str) -> None:
    """Raise PromptError for a placeholder the code does not provide or a provided value never used."""
    if name in LITERAL_PROMPTS:
        return
    expected = PROMPT_VARIABLES[name]
    optional = OPTIONAL_VARIABLES.get(name, frozenset())
    used: set[str] = set()
    for lineno, line in enumerate(text.splitlines() or [""], start=1):
        try:
            parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(line) if f is not None]
        except ValueError as exc:
            raise PromptError(path, lineno, f"{exc}; write a literal brace as {{{{ or }}}}") from None
        for field, spec, conversion in parts:
            if not field.isidentifier():
                raise PromptError(path, lineno, f"placeholder {{{field}}} must be a plain name")
            if spec or conversion:
                # `{date:d}` fails on every message; `{date:>3000000}` builds megabytes per message.
                shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
                raise PromptError(path, lineno, f"placeholder {shown} must be a plain name: write {{{field}}}")
            if field not in expected | optional:
                raise PromptError(
                    path,
                    lineno,
                    f"unknown placeholder {{{field}}}; "
                    f"{name} prompts may use {', '.join(sorted('{' + v + '}' for v in expected | optional))}",
                )
            used.add(field)
    unused = expected - used
    if unused:
        raise PromptError(
            path,
            1,
            f"the code provides {', '.join(sorted('{' + v + '}' for v in unused))} but the {name} prompt never uses it",
        )


class PromptLibrary:
    """Loads, checks and renders prompts; picks up edits on the next message."""

    def __init__(self, base_dir: Path, override_root: Path | None = None) -> None:
        self.base_dir = base_dir
        self.override_root = override_root
        self._cache: dict[Path, _Loaded] = {}
        self._overrides: frozenset[tuple[str, str]] = frozenset()  # (guild id, prompt name)
        self._overrides_scanned = float("-inf")
        self._lock = threading.Lock()
        self.reads = 0  # file reads, for tests and the hot-path benchmark

    def _override_index(self) -> frozenset[tuple[str, str]]:
        now = time.monotonic()
        if self.override_root is None or now - self._overrides_scanned < OVERRIDE_RESCAN_SECONDS:
            return self._overrides
        found: set[tuple[str, str]] = set()
        try:
            for folder in os.scandir(self.override_root):
                if folder.is_dir():
                    found.update((folder.name, f.name[:-3]) for f in os.scandir(folder.path) if f.name.endswith(".md"))
        except FileNotFoundError:
            pass
        self._overrides = frozenset(found)
        self._overrides_scanned = now
        return self._overrides

    def path_for(self, name: str, guild_id: int | None = None) -> Path:
        if guild_id is not None and self.override_root is not None:
            if (str(guild_id), name) in self._override_index():
                return self.override_root / str(guild_id) / f"{name}.md"
        return self.base_dir / f"{name}.md"

    def check_all(self) -> None:
        """Start-up check of every prompt (and every guild override present)."""
        for name in PROMPT_VARIABLES:
            self._load(name, self.base_dir / f"{name}.md", strict=True)
        if self.override_root is not None and self.override_root.is_dir():
            for folder in sorted(p for p in self.override_root.iterdir() if p.is_dir()):
                for name in PROMPT_VARIABLES:
                    path = folder / f"{name}.md"
                    if path.is_file():
                        self._load(name, path, strict=True)

    def _load(self, name: str, path: Path, strict: bool) -> str:
        stamp = _stamp(path)
        cached = self._cache.get(path)
        if stamp is None and path.parent != self.base_dir:
            # A guild's override removed (reset to the default): the default at once, not the override's
            # last text until the next rescan of the override folders.
            return self._load(name, self.base_dir / f"{name}.md", strict)
        if stamp is None:
            if cached is not None and not strict:
                log.error("prompt %s disappeared; still using the last good version", path)
                return cached.text
            raise PromptError(path, None, "prompt file missing; restore it from the repository's prompts/")
        if cached is not None and cached.stamp == stamp:
            return cached.text
        self.reads += 1
        try:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise PromptError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            check_template(name, path, text)
        except PromptError as exc:
            if not strict and cached is None and path.parent != self.base_dir:
                # A server's new override that cannot be used: the default, not a failed command.
                log.error("%s; using the default prompt instead", exc)
                return self._load(name, self.base_dir / f"{name}.md", strict)
            if strict or cached is None:
                raise
            # An operator's half-finished edit must not take the bot down mid-conversation.
            log.error("%s; still using the last good version", exc)
            self._cache[path] = _Loaded(cached.text, stamp)
            return cached.text
        self._cache[path] = _Loaded(text, stamp)
        return text

    async def arender(self, name: str, guild_id: int | None = None, **values: str) -> str:
        """`render` off the event loop: the stat (and a re-read after an edit) never blocks it."""
        return await asyncio.to_thread(self.render, name, guild_id, **values)

    def render(self, name: str, guild_id: int | None = None, **values: str) -> str:
        expected = PROMPT_VARIABLES[name]
        optional = OPTIONAL_VARIABLES.get(name, frozenset())
        if set(values) - optional != expected or not set(values) <= expected | optional:
            raise ValueError(
                f"{name} prompt takes {sorted(expected)} (and maybe {sorted(optional)}), got {sorted(values)}"
            )
        values = {**dict.fromkeys(optional, ""), **values}
        with self._lock:  # renders run in worker threads
            template = self._load(name, self.path_for(name, guild_id), strict=False)
        if name in LITERAL_PROMPTS:
            return template.replace("{bot_name}", values.get("bot_name", ""))
        return fill(template, values)


def fill(template: str, values: dict[str, str]) -> str:
    """The template with its placeholders filled. A placeholder standing alone on its line that comes
    out empty takes its line with it, and a paragraph (text between blank lines) whose every such
    placeholder came out empty is left out whole: a heading over nothing ("What you know: (nothing)")
    only confuses small models."""
    kept: list[str] = []
    for paragraph in re.split(r"\n[ \t]*\n", template):
        lines = paragraph.split("\n")
        empty = [i for i, line in enumerate(lines) if (f := _block(line)) is not None and not _filled(values, f)]
        if empty and len(empty) == sum(_block(line) is not None for line in lines):
            continue
        kept.append("\n".join(line for i, line in enumerate(lines) if i not in empty).format_map(values))
    return "\n\n".join(kept)


def _block(line: str) -> str | None:
    """The placeholder's name when it stands alone on the line."""
    match = re.fullmatch(r"[ \t]*\{(\w+)\}[ \t]*", line)
    return match.group(1) if match else None


def _filled(values: dict[str, str], field: str) -> bool:
    return bool(str(values.get(field, "")).strip())
