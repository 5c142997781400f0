"""Personas, lore, knowledge and learned guidance: ingest, retrieval and isolation on real Chroma and
real multilingual embeddings; the reply graph against the fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from agent.memory.export import export_conversations
from agent.memory.guidance import learn
from agent.memory.ingest import ingest_path
from agent.memory.persona_files import PersonaFileError
from agent.memory.recall import recall
from agent.memory.scopes import readable_scopes
from agent.services import Services
from agent.state import Context
from tests.conftest import make_event, run_graph
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.retrieval_eval import labelled_queries, recall_at_5

DATA = Path(__file__).resolve().parents[1] / "data" / "memory"
GUILD = 4242


def _copy_data(tmp_path: Path) -> Path:
    folder = tmp_path / "persona"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("queries.jsonl"))
    return folder


async def _search(
    services: Services, query: str, *, guild: int | None, user: int | None = None, persona: str = "Mika", k: int = 5
):
    return await asyncio.to_thread(
        recall,
        services.memory,
        query=query,
        recent_text=query,
        scopes=readable_scopes(guild, user),
        persona=persona,
        budget_tokens=10_000,
        k=k,
    )


async def test_ingest_is_a_sync_by_content_hash(services: Services, tmp_path: Path):
    folder = _copy_data(tmp_path)
    first = await ingest_path(services.personas, services.memory, folder)
    assert first.personas == ["Mika"] and first.documents == 3 and first.added == first.chunks > 30
    again = await ingest_path(services.personas, services.memory, folder)
    assert (again.added, again.removed, again.kept) == (0, 0, first.chunks), "the same folder twice adds nothing"

    toml = folder / "mika.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("fat orange tabby", "slim grey tabby"), encoding="utf-8")
    edited = await ingest_path(services.personas, services.memory, folder)
    assert (edited.added, edited.removed) == (1, 1), "an edited entry replaces the old one"
    found = await _search(services, "What does Mika's cat look like?", guild=None)
    assert any("slim grey tabby" in s.text for s in found.snippets)
    assert not any("fat orange tabby" in s.text for s in found.candidates)

    (folder / "knowledge" / "server_rules.txt").unlink()
    removed = await ingest_path(services.personas, services.memory, folder)
    assert removed.removed == 10 and removed.added == 0
    found = await _search(services, "Who are the moderators?", guild=None)
    assert not any("Moderators are" in s.text for s in found.candidates), "a removed file's chunks disappear"
    assert services.memory.count() == first.chunks - 10


async def test_an_emptied_document_in_a_folder_is_skipped_with_a_warning_and_its_chunks_go(
    services: Services, tmp_path: Path
):
    """An empty file given alone is refused; in a folder (a placeholder, or a file emptied to clear it)
    it is a warning, and the sync removes what it held."""
    folder = _copy_data(tmp_path)
    first = await ingest_path(services.personas, services.memory, folder)
    rules = folder / "knowledge" / "server_rules.txt"
    rules.write_text("\n\n", encoding="utf-8")
    emptied = await ingest_path(services.personas, services.memory, folder)
    assert emptied.removed == 10 and emptied.documents == first.documents - 1
    assert any("server_rules.txt: text: is empty" in w and w.endswith("skipped") for w in emptied.warnings)
    with pytest.raises(PersonaFileError, match=r"server_rules\.txt: text: is empty"):
        await ingest_path(services.personas, services.memory, rules)


async def test_malformed_file_stops_the_ingest_and_leaves_nothing_behind(services: Services, tmp_path: Path):
    folder = _copy_data(tmp_path)
    (folder / "zz_broken.toml").write_text('name = "Broken"\n[[lore]]\ntext = "no description"\n', encoding="utf-8")
    with pytest.raises(PersonaFileError, match=r"zz_broken\.toml: description"):
        await ingest_path(services.personas, services.memory, folder)
    assert services.memory.count() == 0
    assert [p.card.name for p in await services.personas.listing(["global"])] == ["observer"]


async def test_labelled_set_recall_at_5_per_language(services: Services, tmp_path: Path):
    await ingest_path(services.personas, services.memory, _copy_data(tmp_path))
    assert len(labelled_queries()) >= 50
    recall, misses = await asyncio.to_thread(recall_at_5, services.memory, ["global"], "Mika")
    assert set(recall) == {"en", "ja"}
    for lang, value in recall.items():
        assert value >= 0.9, f"{lang} recall@5 {value:.2f}; missed {misses}"


async def test_keyword_lore_comes_from_recent_messages(services: Services, tmp_path: Path, fake_openai: FakeOpenAI):
    await ingest_path(services.personas, services.memory, _copy_data(tmp_path))
    await run_graph(services, make_event("I met Captain Oren at the pier today", author="erin"))
    fake_openai.push(Reply("Oh, him."))
    _, state = await run_graph(
        services,
        make_event("@Observer what do you think of him?", author="erin", mentions_bot=True),
        Context(persona="Mika"),
    )
    system = fake_openai.chat_requests()[-1]["messages"][0]["content"]
    assert state["persona"] == "Mika" and "Lantern Leaf tea shop" in system
    assert "coffee is the only drink for sailors" in system, "lore keyed on 'Oren' two messages back is in the prompt"


async def test_persona_chosen_for_a_channel_speaks_there_only(
    services: Services, tmp_path: Path, fake_openai: FakeOpenAI
):
    await ingest_path(services.personas, services.memory, _copy_data(tmp_path))
    tea = make_event("@Observer is there a secret drink?", channel="tea-room", mentions_bot=True)
    await services.personas.choose(f"channel:{tea.channel_id}", "Mika")
    _, state = await run_graph(services, tea)
    assert state["persona"] == "Mika"
    assert "Storm Latte" in fake_openai.chat_requests()[-1]["messages"][0]["content"]
    _, other = await run_graph(services, make_event("@Observer hi", channel="general", mentions_bot=True))
    assert other["persona"] == "observer"
    assert "likes cats, board games" in fake_openai.chat_requests()[-1]["messages"][0]["content"]


async def test_guilds_never_see_each_others_knowledge(services: Services, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("The moderators' emergency password for the vault is pumpkin-42.", encoding="utf-8")
    await ingest_path(services.personas, services.memory, secret, scope=f"guild:{GUILD}")
    own = await _search(services, "what is the vault password?", guild=GUILD, persona="observer")
    assert any("pumpkin-42" in s.text for s in own.snippets)
    for guild in (GUILD + 1, None):
        other = await _search(services, "what is the vault password?", guild=guild, user=7, persona="observer")
        assert not any("pumpkin-42" in s.text for s in other.candidates)


async def test_a_correction_is_retrieved_for_a_similar_question_in_the_same_guild(
    services: Services, fake_openai: FakeOpenAI
):
    fake_openai.push(Reply("The shop opens at noon."))
    ask = make_event("@Observer when does the tea shop open in the morning?", author="fumi", mentions_bot=True)
    _, state = await run_graph(services, ask)
    await learn(
        services.record,
        services.memory,
        kind="correction",
        user_id=ask.author_id,
        text="It opens at 10:00, not noon.",
        message_id=state["reply_message_id"],
        guild_id=ask.guild_id,
        channel_id=ask.channel_id,
    )
    assert (await services.record.feedback_rows())[-1]["text"] == "It opens at 10:00, not noon."
    fake_openai.push(Reply("At ten."))
    await run_graph(
        services, make_event("@Observer what time does the tea shop open?", author="gen", mentions_bot=True)
    )
    assert "It opens at 10:00, not noon." in fake_openai.chat_requests()[-1]["messages"][0]["content"]
    fake_openai.push(Reply("No idea."))
    await run_graph(
        services,
        make_event("@Observer what time does the tea shop open?", author="gen", mentions_bot=True, guild_id=GUILD),
    )
    assert "10:00" not in fake_openai.chat_requests()[-1]["messages"][0]["content"], "another guild never sees it"
    fake_openai.push(Reply("Cats!"))
    await run_graph(services, make_event("@Observer tell me about cats", author="gen", mentions_bot=True))
    assert "10:00" not in fake_openai.chat_requests()[-1]["messages"][0]["content"], (
        "an unrelated question does not get it"
    )


async def test_dataset_export_puts_corrections_in_place_of_replies(services: Services, fake_openai: FakeOpenAI):
    fake_openai.push(Reply("The shop opens at noon."))
    ask = make_event("@Observer when does the shop open?", author="hana", mentions_bot=True)
    _, state = await run_graph(services, ask)
    fake_openai.push(Reply("Tea is good."))
    await run_graph(services, make_event("@Observer thanks! and 日本茶は？", author="hana", mentions_bot=True))
    await learn(
        services.record,
        services.memory,
        kind="correction",
        user_id=ask.author_id,
        text="It opens at 10:00.",
        message_id=state["reply_message_id"],
        guild_id=ask.guild_id,
        channel_id=ask.channel_id,
    )
    lines = [json.loads(line) for line in await export_conversations(services.record, "Observer")]
    assert len(lines) == 2
    first, second = (line["messages"] for line in lines)
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[2]["content"] == "It opens at 10:00.", "the correction replaces the original reply"
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user", "assistant"]
    assert (
        second[2]["content"] == "It opens at 10:00."
        and second[3]["content"] == "hana: @Observer thanks! and 日本茶は？"
    )


async def test_switching_embedding_provider_refuses_to_start_until_migrated(
    tmp_path: Path, database_url: str, embedder, fake_openai: FakeOpenAI
):
    from agent.errors import ConfigError
    from agent.memory.embeddings import OpenAIEmbedder
    from agent.memory.knowledge import MemoryStore
    from tests.conftest import make_services, models_toml

    local = await make_services(tmp_path, database_url, embedder, models_toml(fake_openai.base_url))
    await ingest_path(local.personas, local.memory, _copy_data(tmp_path))
    stored = local.memory.count()
    await local.close()

    remote = OpenAIEmbedder("fake-embedding", fake_openai.base_url, "sk-test")
    with pytest.raises(ConfigError) as refused:
        await make_services(tmp_path, database_url, remote, models_toml(fake_openai.base_url))
    assert "observer memory migrate" in str(refused.value) and embedder.name in str(refused.value)
    assert fake_openai.embedding_requests == [], "nothing was re-embedded or deleted implicitly"

    client = local.memory._client
    await asyncio.to_thread(MemoryStore(client, remote, check_embedder=False).migrate_embedder)
    switched = await make_services(tmp_path, database_url, remote, models_toml(fake_openai.base_url))
    try:
        assert switched.memory.count() == stored, "every entry is re-embedded with the new provider"
        names = [c.name for c in switched.memory._client.list_collections()]
        assert all(n.startswith(switched.memory._prefix) for n in names), "the old vector space is gone"
        found = await _search(switched, "moderators Mika Tomas Aiko", guild=None)
        assert any("Moderators are Mika, Tomas and Aiko" in s.text for s in found.candidates)
    finally:
        await switched.close()


async def test_a_question_is_embedded_once_and_only_when_memory_holds_something(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Ingest starts the question's embedding while it stores the message; retrieve uses that vector."""
    embedded: list[str] = []
    embed = services.memory.embedder.embed_query
    monkeypatch.setattr(services.memory.embedder, "embed_query", lambda text: embedded.append(text) or embed(text))
    await run_graph(services, make_event("@Observer what is the Storm Latte?", mentions_bot=True))
    assert embedded == [], "nothing in memory: the question is not embedded at all"

    await ingest_path(services.personas, services.memory, _copy_data(tmp_path))
    _, state = await run_graph(
        services, make_event("@Observer is there a drink for stormy days?", mentions_bot=True), Context(persona="Mika")
    )
    assert len(embedded) == 1, "one embedding, shared by ingest and retrieve"
    assert any("Storm Latte" in s.text for s in state["retrieved"])
