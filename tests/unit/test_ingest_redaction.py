"""A key or token pasted into an uploaded document or lore entry is stored redacted: stored text reaches
every prompt that retrieves it, and a model may repeat it to members (a tester's finding)."""

from __future__ import annotations

from agent.memory.ingest import doc_entries, lore_entries
from agent.memory.persona_files.cards import KnowledgeDoc
from agent.memory.world_info.rules import LoreEntry

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def test_documents_and_lore_are_stored_without_the_key() -> None:
    [doc] = doc_entries(KnowledgeDoc("notes.md", [f"The bot's key is {KEY}; the ferry leaves at 8."]), "g1", "", "x")
    [lore] = lore_entries([LoreEntry(f"Vault: Authorization: Bearer {KEY}", ["vault"])], "g1", "Rin", "card.png")
    for entry in (doc, lore):
        assert KEY not in entry.text and "[redacted]" in entry.text
    assert "the ferry leaves at 8" in doc.text, "the rest of the document is kept"
