"""A channel's cast as one run sees it: the candidates (card fields read once per message) and the
cheap rules that settle who speaks without a model call."""

from __future__ import annotations

from agent.cast.speaker import Candidate, named_in
from agent.cast.store import CastStore
from agent.events import Event
from agent.memory.personas import PersonaCatalog
from agent.memory.record import Record
from agent.memory.scopes import readable_scopes


async def load_cast(casts: CastStore, personas: PersonaCatalog, event: Event) -> list[Candidate]:
    members = await casts.members(event.channel_id)
    if not members:
        return []
    scopes = readable_scopes(event.guild_id, event.author_id)
    candidates = []
    for member in members:
        stored = await personas.find(member.persona, scopes)
        if stored is None:  # removed from the server since it joined: it cannot speak
            continue
        card = stored.card
        about = card.description.strip().splitlines()[0][:120] if card.description.strip() else ""
        candidates.append(
            Candidate(
                name=card.name,
                talkativeness=card.talkativeness,
                model=member.model or card.model,
                joined_after_id=member.joined_after_id,
                about=about,
            )
        )
    return candidates


async def cheap_speaker(record: Record, event: Event, candidates: list[Candidate]) -> tuple[str, str] | None:
    """(character, why) when the member named one or replied to one's message; else None."""
    names = [c.name for c in candidates]
    named = named_in(event.text, names)
    if named is not None:
        return named, f"{named} was named"
    if event.reply_to_id is not None:
        replied = await record.message(event.reply_to_id)
        if replied is not None and replied.is_bot and replied.author in names:
            return replied.author, f"a reply to {replied.author}"
    return None
