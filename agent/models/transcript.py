"""The transcript a base model continues (`alice: ...` / `Observer: ...`), for bundled models without a
chat template."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage


def render_transcript(messages: list[BaseMessage], ai_name: str) -> tuple[str, list[str]]:
    """A chat as text a base model continues, plus the stop strings that end its turn."""
    header: list[str] = []
    lines: list[str] = []
    speakers = {ai_name}
    for msg in messages:
        text = msg.text if isinstance(msg.text, str) else str(msg.content)
        if isinstance(msg, SystemMessage):
            header.append(text.strip())
        elif isinstance(msg, AIMessage):
            ai_name = msg.name or ai_name
            lines.append(f"{ai_name}: {text.strip()}")
        else:
            speaker = text.split(":", 1)[0] if ":" in text[:40] else ""
            if speaker:
                speakers.add(speaker)
                lines.append(text.strip())
            else:
                lines.append(f"{msg.name or 'User'}: {text.strip()}")
    prompt = "\n\n".join(header) + "\n\n" + "\n".join(lines) + f"\n{ai_name}:"
    # A base model happily writes the next speaker's turn too; stop it at any speaker label.
    names = speakers | {s.capitalize() for s in speakers} | {s.lower() for s in speakers} | {"User", "You"}
    stops = sorted({f"\n{s}:" for s in names} | {"\n\n", "<end_of_turn>"})
    return prompt, stops
