"""How an attachment reads in a prompt: its name, and what was read from it, framed, with any note."""

from __future__ import annotations

from collections.abc import Iterable


def render_attachment(filename: str, text: str | None = None, note: str | None = None) -> str:
    """`[attachment: photo.png]` for a file only named; a read file's text between its name and its end."""
    if text is None:
        return note or f"[attachment: {filename}]"
    block = f"[attachment: {filename}]\n{text}\n[end of {filename}]"
    return f"{block}\n{note}" if note else block


def render_attachments(attachments: Iterable[tuple[str, str | None, str | None]]) -> str:
    """Several attachments: names on one line; read files each on lines of their own."""
    items = list(attachments)
    parts = [render_attachment(*a) for a in items]
    if any(text is not None for _, text, _ in items):
        return "\n" + "\n".join(parts)
    return " ".join(parts)
