"""A server's own version of a prompt (`OBSERVER_DATA_DIR/prompts/<guild id>/<name>.md`): read, checked,
saved and reset. A save is checked first (nothing is written when a placeholder is wrong) and replaces
the file in one step (temporary file + os.replace): a bot reading it mid-save sees the old text or the
new, never half of either. The bot's PromptLibrary picks the change up on its next message."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from agent.prompts import PROMPT_VARIABLES, PromptLibrary, check_template


def override_path(library: PromptLibrary, name: str, guild_id: int) -> Path:
    """Where `guild_id`'s version of prompt `name` lives (whether or not it exists). `name` must be one of
    PROMPT_VARIABLES and the guild an integer: no caller's text becomes a path."""
    if name not in PROMPT_VARIABLES or library.override_root is None:
        raise ValueError(f"no override for prompt {name!r}")
    return library.override_root / str(int(guild_id)) / f"{name}.md"


def default_text(library: PromptLibrary, name: str) -> str:
    """Blocking: the prompt every server uses unless it has its own (prompts/<name>.md)."""
    if name not in PROMPT_VARIABLES:
        raise ValueError(f"no prompt {name!r}")
    return (library.base_dir / f"{name}.md").read_text(encoding="utf-8")


def override_text(library: PromptLibrary, name: str, guild_id: int) -> str | None:
    """Blocking: the server's own version, or None."""
    try:
        return override_path(library, name, guild_id).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def normalized(text: str) -> str:
    """Line ends as the prompt files have them (a browser's form sends CRLF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_override(name: str, text: str) -> None:
    """PromptError (naming the line) when the code could not fill `text` as prompt `name`."""
    check_template(name, Path(f"{name}.md"), text)  # a file name only: the error is shown to members


def save_override(library: PromptLibrary, name: str, guild_id: int, text: str) -> Path:
    """Blocking: check `text`, then make it the server's version of `name` in one step."""
    check_override(name, text)
    path = override_path(library, name, guild_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not "*.md": the library's scan of override folders must never take the temporary file for a prompt.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def remove_override(library: PromptLibrary, name: str, guild_id: int) -> bool:
    """Blocking: back to the default prompt; False when the server had no version of its own."""
    try:
        override_path(library, name, guild_id).unlink()
    except FileNotFoundError:
        return False
    return True
